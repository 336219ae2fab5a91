from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from agencies.models import Review
from core.permissions import objects_granted
from declarations.models import Declaration, DeclarationEvent


def declaration_list(*, user) -> QuerySet[Declaration]:
    """The declarations this user may see as a whole.

    Traders: their company's, through the company group's grants. Analysts and
    administrators: all. Agency staff see declarations only through their
    agency's reviews (agencies.selectors), which hold just their slice.
    """
    queryset = Declaration.objects.select_related("company", "lane_decision")
    if user.is_trader:
        return objects_granted(user=user, perm="declarations.view_declaration", queryset=queryset)
    if user.is_analyst or user.is_platform_admin:
        return queryset
    return queryset.none()


def get_declaration_for_user(*, user, pk, with_details: bool = False) -> Declaration:
    """One declaration, or 404 when it does not exist or the user may not see it.

    with_details prefetches what the declaration page and API show: items,
    agency reviews and the audit history.
    """
    queryset = declaration_list(user=user)
    if with_details:
        queryset = queryset.prefetch_related(
            "items",
            Prefetch(
                "reviews", queryset=Review.objects.select_related("agency").order_by("agency__code")
            ),
            Prefetch("events", queryset=DeclarationEvent.objects.select_related("actor")),
        )
    return get_object_or_404(queryset, pk=pk)

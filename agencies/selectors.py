from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.shortcuts import get_object_or_404

from agencies.models import Review
from core.permissions import objects_granted

LANE_PRIORITY = Case(
    When(declaration__lane="red", then=Value(0)),
    When(declaration__lane="yellow", then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def review_queue(*, user) -> QuerySet[Review]:
    """The reviews of the user's agency, red lane first, then oldest first."""
    if not user.is_agency_staff:
        return Review.objects.none()
    queryset = Review.objects.select_related(
        "declaration", "declaration__company", "declaration__lane_decision", "agency", "assigned_to"
    ).filter(agency_id=user.agency_id)
    return (
        objects_granted(user=user, perm="agencies.view_review", queryset=queryset)
        .annotate(lane_priority=LANE_PRIORITY)
        .order_by("lane_priority", "opened_at", "pk")
    )


def get_review_for_user(*, user, pk) -> Review:
    return get_object_or_404(review_queue(user=user), pk=pk)

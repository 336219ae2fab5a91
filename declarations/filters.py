from datetime import datetime, time, timedelta

import django_filters
from django.db.models import Q
from django.utils import timezone

from declarations.models import Declaration, Lane


class DeclarationFilter(django_filters.FilterSet):
    """Filters of the trader's dashboard and of GET /api/v1/declarations/."""

    # distinct=False: these filters never join to many rows, and DISTINCT on a
    # company's whole history is the slowest part of the query.
    status = django_filters.MultipleChoiceFilter(choices=Declaration.Status.choices, distinct=False)
    lane = django_filters.MultipleChoiceFilter(choices=Lane.choices, distinct=False)
    type = django_filters.ChoiceFilter(choices=Declaration.Type.choices)
    created_after = django_filters.DateFilter(method="created_from")
    created_before = django_filters.DateFilter(method="created_to")
    q = django_filters.CharFilter(method="search", label="Reference or invoice number")
    ordering = django_filters.OrderingFilter(
        fields=(
            ("created_at", "created"),
            ("submitted_at", "submitted"),
            ("invoice_total", "value"),
            ("status", "status"),
        ),
    )

    class Meta:
        model = Declaration
        fields = ["status", "lane", "type"]

    # Date bounds as ranges on the indexed timestamp, not casts of it.
    def created_from(self, queryset, name, value):
        start = timezone.make_aware(datetime.combine(value, time.min))
        return queryset.filter(created_at__gte=start)

    def created_to(self, queryset, name, value):
        end = timezone.make_aware(datetime.combine(value + timedelta(days=1), time.min))
        return queryset.filter(created_at__lt=end)

    def search(self, queryset, name, value):
        """A reference finds the declaration and its versions; otherwise an invoice
        number, or its beginning. Every branch is an index lookup."""
        value = value.strip()
        number = value.split("-")[-1].split("/")[0]
        if number.isdigit():
            pk = int(number)
            return queryset.filter(
                Q(pk=pk) | Q(first_version_id=pk) | Q(invoice_number__startswith=value)
            )
        return queryset.filter(invoice_number__startswith=value)

"""Reads of the reference data."""

from django.db.models import QuerySet

from reference.models import Office


def office_list(*, kind: str = "", country: str = "") -> QuerySet[Office]:
    """The active customs offices: those a declaration may name."""
    offices = Office.objects.filter(active=True).order_by("code")
    if kind:
        offices = offices.filter(kind=kind)
    if country:
        offices = offices.filter(country=country.upper())
    return offices

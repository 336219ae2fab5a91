"""Reads of the reference data."""

from django.db.models import Case, QuerySet, Value, When

from reference.models import Office, OfficeClosure


def office_list(*, kind: str = "", country: str = "") -> QuerySet[Office]:
    """The active customs offices: those a declaration may name."""
    offices = Office.objects.filter(active=True).order_by("code")
    if kind:
        offices = offices.filter(kind=kind)
    if country:
        offices = offices.filter(country=country.upper())
    return offices


# Where a closed office's waiting work may go: an office of the same kind (the ship,
# the aircraft or the lorry goes on to another port, airport or border post), or an
# inland office, where goods are cleared after moving on under customs control.
DIVERSION_KINDS = {
    Office.Kind.SEAPORT: (Office.Kind.SEAPORT, Office.Kind.INLAND),
    Office.Kind.AIRPORT: (Office.Kind.AIRPORT, Office.Kind.INLAND),
    Office.Kind.LAND: (Office.Kind.LAND, Office.Kind.INLAND),
    Office.Kind.INLAND: (Office.Kind.INLAND,),
}


def office_closures(*, office: Office | None = None) -> QuerySet[OfficeClosure]:
    """Closures, the latest first, with who closed and reopened."""
    closures = OfficeClosure.objects.select_related("office", "closed_by", "reopened_by")
    if office is not None:
        closures = closures.filter(office=office)
    return closures.order_by("-closed_from", "-pk")


def current_closures() -> dict[str, OfficeClosure]:
    """The closures in force or announced, by office code (one query)."""
    return {
        closure.office_id: closure
        for closure in OfficeClosure.objects.not_reopened().select_related("closed_by")
    }


def diversion_targets(office: Office) -> QuerySet[Office]:
    """The offices a closed office's waiting work may be diverted to: active, not closed
    (nor about to be), in the same country, of a suitable kind (DIVERSION_KINDS)."""
    closed = OfficeClosure.objects.not_reopened().values("office_id")
    return (
        Office.objects.filter(
            active=True, country=office.country, kind__in=DIVERSION_KINDS[office.kind]
        )
        .exclude(code=office.code)
        .exclude(code__in=closed)
        # The same kind of office first: where the ship, the aircraft or the lorry goes.
        .order_by(Case(When(kind=office.kind, then=Value(0)), default=Value(1)), "kind", "code")
    )

"""Transit movements as the customs officers of their offices read them.

A movement is a transit declaration. The officers of its office of departure
and of its office of destination (User.offices) see it, each to act at their
end; anyone else answers 404, as for any object they may not see.
"""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from declarations.models import Declaration
from guarantees.selectors import is_customs_staff

Status = Declaration.Status

# What each of an office's lists holds; `stage` in the API.
STAGES = {
    # Cleared by every agency: to be released under seal here.
    "to_release": ("office_of_departure", (Status.ASSESSED, Status.PAID)),
    # Under seal, on its way here: overdue first (the earliest deadlines).
    "expected": ("office_of_destination", (Status.RELEASED,)),
    # Arrived here: to control, settle and discharge.
    "arrived": ("office_of_destination", (Status.ARRIVED,)),
}
STAGE_ORDER = {
    "to_release": ("assessed_at", "pk"),
    "expected": ("transit_deadline", "pk"),
    "arrived": ("transit_arrival__arrived_at", "pk"),
}


def posted_offices(user) -> list[str]:
    """The customs offices where the user works transit movements: none for anyone but
    customs officers and supervisors."""
    if not is_customs_staff(user):
        return []
    return user.office_codes


def _movements() -> QuerySet[Declaration]:
    # Everything a movement's row shows, in the one query: a list costs the same
    # statements whatever its length.
    return Declaration.objects.filter(type=Declaration.Type.TRANSIT).select_related(
        "company",
        "guarantee_draw__guarantee",
        "transit_arrival__recorded_by",
        "transit_arrival__controlled_by",
        "transit_arrival__resolved_by",
    )


def movement_list(*, user, office: str = "", stage: str = "") -> QuerySet[Declaration]:
    """The movements departing from or bound for the user's offices (one of them, with
    `office`), past the draft; `stage` narrows them to one of an office's lists.
    Customs staff only: anyone else 404."""
    if not is_customs_staff(user):
        raise Http404
    offices = posted_offices(user)
    if office:
        offices = [office] if office in offices else []
    if stage:
        role, statuses = STAGES[stage]
        return (
            _movements()
            .filter(**{f"{role}__in": offices, "status__in": statuses})
            .order_by(*STAGE_ORDER[stage])
        )
    return (
        _movements()
        .filter(Q(office_of_departure__in=offices) | Q(office_of_destination__in=offices))
        .exclude(status=Status.DRAFT)
        .order_by("-submitted_at", "-pk")
    )


def get_movement_for_user(*, user, pk) -> Declaration:
    return get_object_or_404(movement_list(user=user), pk=pk)


@dataclass
class OfficeMovements:
    office: str
    to_release: list
    expected: list
    arrived: list


# An office's page shows this many of each list; the API pages through all of them.
OFFICE_LIST_LIMIT = 100


def movements_at_office(*, user, office: str) -> OfficeMovements:
    """An office's three lists: departures to release under seal, arrivals expected
    (overdue first), and arrived movements to discharge."""
    if office not in posted_offices(user):
        raise Http404
    return OfficeMovements(
        office=office,
        **{
            stage: list(movement_list(user=user, office=office, stage=stage)[:OFFICE_LIST_LIMIT])
            for stage in STAGES
        },
    )

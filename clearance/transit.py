"""The transit procedure after clearance: released under seal at the office of
departure, arrived and discharged at the office of destination, flagged when
overdue.

The guarantee follows the movement. It was drawn at lodgement
(clearance.services); it is released when the office of destination
discharges the movement. What did not go as declared keeps it engaged:

- a movement not arrived by its deadline is flagged once (both offices and the
  declarant told) and its draw is kept;
- an arrival with discrepancies (seals broken, missing or not those put at
  departure, goods missing, a late arrival, a control that found a problem)
  keeps the draw, and the movement is discharged only once a customs
  supervisor posted at the office of destination, other than the officers who
  recorded them, resolves them with a written reason: releasing kept money
  takes two people. Until then the guarantee stays engaged for the duties
  customs may claim;
- a seal or sensor alert (Declaration.destination_inspection_required) makes
  a control of the goods at destination mandatory before discharge.

Only customs officers and supervisors posted at the office concerned
(User.offices) act, each at their end of the movement.
"""

import re
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from clearance.selectors import posted_offices
from clearance.services import device_events_rematch, release_blockers
from core.exceptions import ApplicationError, InvalidTransition
from declarations.models import Declaration, TransitArrival
from declarations.notices import declarants_tell
from declarations.services import (
    declaration_transition,
    event_append,
    transit_arrival_create,
    transit_control_set,
    transit_discrepancies_set_resolved,
)
from guarantees.services import guarantee_draw_keep, guarantee_draw_release
from notifications.services import Message, notify_many, recipients_at_offices

Status = Declaration.Status

SEAL_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,31}$")
# Movements that carry their seals: once discharged, the seals may be used again.
SEALED = (Status.RELEASED, Status.ARRIVED)


def ensure_posted_at(actor, office: str, *, supervisor: bool = False) -> None:
    if office not in posted_offices(actor) or (supervisor and actor.role != "supervisor"):
        raise PermissionDenied


def _movement_lock(declaration_id: int) -> Declaration:
    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    if not declaration.is_transit:
        raise InvalidTransition(f"{declaration.reference} is not a transit movement.")
    return declaration


def _local(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _movement_url(declaration) -> str:
    return reverse("clearance:movement", args=[declaration.pk])


def _tell_offices(declaration, offices, *, verb: str, text: str, supervisors_only=False) -> None:
    recipients = recipients_at_offices(offices)
    if supervisors_only:
        recipients = list(
            User.objects.filter(pk__in=recipients, role=User.Role.SUPERVISOR).values_list(
                "pk", flat=True
            )
        )
    notify_many(
        messages=[
            Message(
                recipient_ids=recipients,
                verb=verb,
                text=f"{declaration.reference}: {text}",
                url=_movement_url(declaration),
            )
        ]
    )


# ---- Release under seal at the office of departure ------------------------------------------


def seal_numbers_clean(seal_numbers, *, field: str = "seal_numbers") -> list[str]:
    """Seal numbers as officers type them, checked: capitals, digits and dashes, each once."""
    seals = [str(s).strip().upper() for s in seal_numbers if str(s).strip()]
    bad = [s for s in seals if not SEAL_NUMBER.match(s)]
    if bad:
        raise ValidationError(
            {field: f"{', '.join(bad)}: a seal number is 4 to 32 capital letters, digits or -."}
        )
    repeated = sorted({s for s in seals if seals.count(s) > 1})
    if repeated:
        raise ValidationError({field: f"Seal {', '.join(repeated)} is given twice."})
    return seals


def _seals_lock(seals: list[str]) -> None:
    """Serialise the sealing of movements that share a seal number: the check that no
    live movement carries it and the release that puts it on are then one step.
    Transaction-level advisory locks, taken in one order."""
    with connection.cursor() as cursor:
        for seal in sorted(seals):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"seal:{seal}"])


def _seals_in_use(declaration: Declaration, seals: list[str]) -> dict[str, str]:
    """Each of these seals that another live movement carries, with that movement."""
    in_use = {}
    others = (
        Declaration.objects.filter(
            type=Declaration.Type.TRANSIT, status__in=SEALED, seal_numbers__overlap=seals
        )
        .exclude(pk=declaration.pk)
        .only("pk", "first_version_id", "version", "type", "seal_numbers")
    )
    for other in others:
        for seal in set(other.seal_numbers) & set(seals):
            in_use[seal] = other.reference
    return in_use


@transaction.atomic
def transit_release_under_seal(*, declaration_id: int, actor, seal_numbers) -> Declaration:
    """An officer of the office of departure releases a cleared transit movement under
    seal: the seals are recorded and the time limit starts (deadline: now plus the
    movement's days). Never released by the platform itself, though nothing is due."""
    declaration = _movement_lock(declaration_id)
    ensure_posted_at(actor, declaration.office_of_departure)
    label = declaration.get_status_display().lower()
    if not declaration.may_become(Status.RELEASED):
        raise InvalidTransition(f"A {label} movement cannot be released under seal.")
    if declaration.total_due and declaration.status != Status.PAID:
        raise InvalidTransition("The duties a reassessment added must be paid first.")
    blockers = release_blockers(declaration)
    if blockers:
        raise ApplicationError("Not released: " + "; ".join(blockers) + ".")
    seals = seal_numbers_clean(seal_numbers)
    if not seals:
        raise ValidationError({"seal_numbers": "Give the number of every seal put on."})
    _seals_lock(seals)
    in_use = _seals_in_use(declaration, seals)
    if in_use:
        raise ValidationError(
            {
                "seal_numbers": [
                    f"Seal {seal} is on movement {reference}, not discharged yet."
                    for seal, reference in sorted(in_use.items())
                ]
            }
        )
    deadline = timezone.now() + timedelta(days=declaration.transit_days)
    destination = declaration.office_of_destination
    declaration_transition(
        declaration_id=declaration.pk,
        locked=declaration,
        to_status=Status.RELEASED,
        actor=actor,
        reason=f"released under seal at {declaration.office_of_departure}",
        data={"seals": seals, "deadline": deadline.isoformat()},
        changes={"seal_numbers": seals, "transit_deadline": deadline},
        notice=f"Released under seal ({', '.join(seals)}): deliver to {destination} by "
        f"{_local(deadline)}.",
    )
    _tell_offices(
        declaration,
        [destination],
        verb="transit_expected",
        text=f"released under seal at {declaration.office_of_departure}, expected here by "
        f"{_local(deadline)}",
    )
    # A seal may have reported before its movement was released (a device armed at
    # the quay): those events wait under "unknown seal" and are acted on now.
    device_events_rematch(declaration_id=declaration.pk)
    return declaration


# ---- Arrival, control and discharge at the office of destination ---------------------------


def _arrival_of(declaration: Declaration) -> TransitArrival:
    arrival = TransitArrival.objects.select_for_update().get(declaration=declaration)
    arrival.declaration = declaration
    return arrival


def _keep_for(declaration: Declaration, findings: list[str], *, actor) -> None:
    """Discrepancies keep the guarantee and wait for a supervisor of the office."""
    what = "; ".join(findings)
    guarantee_draw_keep(declaration=declaration, actor=actor, reason=f"discrepancies: {what}")
    _tell_offices(
        declaration,
        [declaration.office_of_destination],
        verb="transit_discrepancies",
        text=f"discrepancies at arrival ({what}); a supervisor resolves them before discharge",
        supervisors_only=True,
    )


@transaction.atomic
def transit_arrival_record(
    *,
    declaration_id: int,
    actor,
    arrived_at,
    seals_intact: bool,
    seal_numbers_found,
    discrepancies: str = "",
) -> Declaration:
    """An officer of the office of destination records the goods' arrival: when, whether
    the seals are intact and which were found, and any discrepancy. Discrepancies keep
    the guarantee until a supervisor resolves them."""
    declaration = _movement_lock(declaration_id)
    ensure_posted_at(actor, declaration.office_of_destination)
    if declaration.status != Status.RELEASED:
        label = declaration.get_status_display().lower()
        raise InvalidTransition(f"A {label} movement cannot arrive.")
    released_at = declaration.released_at
    if arrived_at > timezone.now():
        raise ValidationError({"arrived_at": "The arrival cannot be in the future."})
    # Officers type the time to the minute: an arrival in the minute of the release is
    # not before it.
    if arrived_at < released_at.replace(second=0, microsecond=0):
        raise ValidationError(
            {"arrived_at": f"The movement was released under seal at {_local(released_at)}."}
        )
    found = seal_numbers_clean(seal_numbers_found, field="seal_numbers_found")
    arrival = transit_arrival_create(
        declaration=declaration,
        actor=actor,
        arrived_at=arrived_at,
        seals_intact=seals_intact,
        seal_numbers_found=found,
        discrepancies=discrepancies,
    )
    findings = arrival.findings(declaration)
    notice = f"Arrived at {declaration.office_of_destination} on {_local(arrived_at)}."
    if findings:
        notice += (
            " Customs examines the arrival before discharging the movement; the guarantee "
            "stays engaged meanwhile."
        )
    declaration_transition(
        declaration_id=declaration.pk,
        locked=declaration,
        to_status=Status.ARRIVED,
        actor=actor,
        reason="; ".join(findings) or "arrived as declared, seals intact",
        data={"arrived_at": arrived_at.isoformat(), "seals_found": found, "findings": findings},
        notice=notice,
    )
    if findings:
        _keep_for(declaration, findings, actor=actor)
    return declaration


@transaction.atomic
def transit_control_record(
    *, declaration_id: int, actor, result: str, notes: str = ""
) -> TransitArrival:
    """An officer of the office of destination records the control of the arrived goods
    (mandatory after a seal or sensor alert); a control that finds discrepancies keeps
    the guarantee like any other."""
    declaration = _movement_lock(declaration_id)
    ensure_posted_at(actor, declaration.office_of_destination)
    if declaration.status != Status.ARRIVED:
        raise InvalidTransition("The goods are controlled at destination once they arrived.")
    arrival = _arrival_of(declaration)
    if arrival.control_result:
        raise ApplicationError(
            f"The control was recorded already ({arrival.get_control_result_display().lower()})."
        )
    if result not in TransitArrival.ControlResult.values:
        raise ValidationError({"result": f"{result} is not a control result."})
    if result == TransitArrival.ControlResult.DISCREPANCY and not notes.strip():
        raise ValidationError({"notes": "Say what the control found."})
    transit_control_set(arrival=arrival, actor=actor, result=result, notes=notes)
    if result == TransitArrival.ControlResult.DISCREPANCY and not arrival.is_resolved:
        _keep_for(declaration, arrival.findings(declaration), actor=actor)
    return arrival


@transaction.atomic
def transit_discrepancies_resolve(*, declaration_id: int, actor, reason: str) -> TransitArrival:
    """A customs supervisor of the office of destination settles an arrival's
    discrepancies with a written reason, which lets the movement be discharged and its
    guarantee released. Never one of the officers who recorded them: four eyes."""
    declaration = _movement_lock(declaration_id)
    ensure_posted_at(actor, declaration.office_of_destination, supervisor=True)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the discrepancies do not stop the discharge."})
    if declaration.status != Status.ARRIVED:
        raise InvalidTransition("Only the discrepancies of an arrived movement are resolved.")
    arrival = _arrival_of(declaration)
    if not arrival.findings(declaration):
        raise ApplicationError("The arrival has no discrepancy to resolve.")
    if arrival.is_resolved:
        raise ApplicationError(f"{arrival.resolved_by.username} resolved them already.")
    if actor.pk in (arrival.recorded_by_id, arrival.controlled_by_id):
        raise ApplicationError(
            "Four eyes: you recorded these discrepancies; another supervisor resolves them."
        )
    return transit_discrepancies_set_resolved(arrival=arrival, actor=actor, resolution=reason)


def discharge_blockers(declaration: Declaration, arrival: TransitArrival | None) -> list[str]:
    """What still stands between an arrived movement and its discharge."""
    if arrival is None:
        return ["the arrival is not recorded"]
    blockers = []
    if declaration.destination_inspection_required and not arrival.control_result:
        blockers.append("a seal or sensor alert requires a control of the goods at destination")
    findings = arrival.findings(declaration)
    if findings and not arrival.is_resolved:
        blockers.append(
            f"discrepancies ({'; '.join(findings)}) keep the guarantee until a supervisor "
            "other than the officers who recorded them resolves them"
        )
    return blockers


@transaction.atomic
def transit_discharge(*, declaration_id: int, actor) -> Declaration:
    """An officer of the office of destination discharges the arrived movement: the
    transit ends and its guarantee draw is released, in one transaction."""
    declaration = _movement_lock(declaration_id)
    ensure_posted_at(actor, declaration.office_of_destination)
    if declaration.status != Status.ARRIVED:
        label = declaration.get_status_display().lower()
        raise InvalidTransition(f"A {label} movement cannot be discharged.")
    blockers = discharge_blockers(declaration, _arrival_of(declaration))
    if blockers:
        raise ApplicationError("Not discharged: " + "; ".join(blockers) + ".")
    declaration_transition(
        declaration_id=declaration.pk,
        locked=declaration,
        to_status=Status.DISCHARGED,
        actor=actor,
        reason=f"discharged at {declaration.office_of_destination}",
    )
    guarantee_draw_release(
        declaration=declaration,
        actor=actor,
        reason=f"movement discharged at {declaration.office_of_destination}",
    )
    return declaration


# ---- Overdue movements -----------------------------------------------------------------------


def transit_movements_flag_overdue(*, now=None, limit: int = 500) -> list[int]:
    """Flag sealed movements whose deadline passed without an arrival; return their ids.

    Each is claimed by a guarded update of `transit_overdue_at` in a transaction of
    its own, so any number of runs (or a movement arriving meanwhile) flag it at
    most once, and tell its offices and its declarant once.
    """
    now = now or timezone.now()
    overdue = Declaration.objects.filter(
        type=Declaration.Type.TRANSIT,
        status=Status.RELEASED,
        transit_overdue_at__isnull=True,
        transit_deadline__lt=now,
    ).order_by("transit_deadline")
    ids = list(overdue.values_list("pk", flat=True)[:limit])
    return [pk for pk in ids if _flag_overdue(pk, now=now)]


@transaction.atomic
def _flag_overdue(declaration_id: int, *, now) -> bool:
    claimed = Declaration.objects.filter(
        pk=declaration_id,
        status=Status.RELEASED,
        transit_overdue_at__isnull=True,
        transit_deadline__lt=now,
    ).update(transit_overdue_at=now, updated_at=now)
    if not claimed:
        return False
    # The update holds the row's lock until commit: the trail is extended under it.
    declaration = Declaration.objects.get(pk=declaration_id)
    deadline = _local(declaration.transit_deadline)
    destination = declaration.office_of_destination
    guarantee_draw_keep(
        declaration=declaration, actor=None, reason=f"not arrived at {destination} by {deadline}"
    )
    notice = f"Not arrived at {destination} by {deadline}: the guarantee stays engaged."
    event_append(
        declaration=declaration,
        actor=None,
        action="transit_overdue",
        reason=f"time limit passed without an arrival at {destination}",
        data={"deadline": declaration.transit_deadline.isoformat()},
        notice=notice,
    )
    declarants_tell(notices=[(declaration, notice, "transit_overdue")], actor=None)
    _tell_offices(
        declaration,
        [declaration.office_of_departure, destination],
        verb="transit_overdue",
        text=f"not arrived at {destination} by {deadline} (released under seal at "
        f"{declaration.office_of_departure}); the guarantee stays engaged",
    )
    return True

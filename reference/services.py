"""Writes of the reference data beyond the admin's tables: closing an office for a while
and opening it again.

What follows from a closure for the declarations waiting there (their diversion
to another office) is the clearance process's (clearance.continuity).
"""

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.exceptions import ApplicationError
from notifications.services import Message, notify_many, recipients_at_offices
from reference.models import Office, OfficeClosure

# How far ahead a closure may be announced (a forecast storm, not next year's plans),
# and how late it may be recorded.
CLOSURE_NOTICE_DAYS = 30


def _ensure_platform_admin(actor) -> None:
    if actor is None or not actor.is_platform_admin:
        raise PermissionDenied


def _tell_staff(office: Office, *, verb: str, text: str) -> None:
    """Every officer and supervisor posted at the office, of any agency."""
    notify_many(
        messages=[
            Message(
                recipient_ids=recipients_at_offices([office.code], customs_only=False),
                verb=verb,
                text=text,
                url=reverse("continuity:office", args=[office.code]),
            )
        ]
    )


@transaction.atomic
def office_close(
    *, office_code: str, reason: str, actor, closed_from: datetime | None = None
) -> OfficeClosure:
    """Close an office from `closed_from` (now by default; earlier when the closure is
    recorded after the fact, later when it is announced). While it is in force no
    lodgement may name the office, and the work waiting there may be diverted."""
    _ensure_platform_admin(actor)
    now = timezone.now()
    closed_from = closed_from or now
    if not reason.strip():
        raise ValidationError({"reason": "Say why the office closes."})
    window = timedelta(days=CLOSURE_NOTICE_DAYS)
    if closed_from > now + window:
        raise ValidationError(
            {"closed_from": f"A closure is announced at most {CLOSURE_NOTICE_DAYS} days ahead."}
        )
    if closed_from < now - window:
        raise ValidationError(
            {"closed_from": f"A closure is recorded at most {CLOSURE_NOTICE_DAYS} days late."}
        )
    # The office row is the lock two administrators closing it at once queue on.
    office = Office.objects.select_for_update().filter(code=office_code.upper()).first()
    if office is None or not office.active:
        raise ValidationError({"office": f"{office_code} is not an active customs office."})
    current = OfficeClosure.objects.not_reopened().filter(office=office).first()
    if current is not None:
        raise ApplicationError(
            f"{office.code} is already closed from "
            f"{timezone.localtime(current.closed_from):%Y-%m-%d %H:%M}; reopen it first."
        )
    closure = OfficeClosure(
        office=office,
        reason=reason.strip(),
        closed_from=closed_from,
        closed_by=actor,
        recorded_at=now,
    )
    closure.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            closure.save()
    except IntegrityError:  # pragma: no cover - the office row lock serialises closures
        raise ApplicationError(f"{office.code} is already closed.") from None
    when = timezone.localtime(closed_from)
    _tell_staff(
        office,
        verb="office_closed",
        text=f"Office {office.code} ({office.name}) is closed from {when:%Y-%m-%d %H:%M}: "
        f"{closure.reason}. Its waiting work is diverted to other offices.",
    )
    return closure


@transaction.atomic
def office_reopen(*, office_code: str, reason: str, actor) -> OfficeClosure:
    """Open a closed office again (or call off a closure announced for later). Work
    diverted away stays where it went."""
    _ensure_platform_admin(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the office opens again."})
    office = Office.objects.select_for_update().filter(code=office_code.upper()).first()
    if office is None:
        raise ValidationError({"office": f"{office_code} is not a customs office."})
    closure = OfficeClosure.objects.not_reopened().filter(office=office).first()
    if closure is None:
        raise ApplicationError(f"{office.code} is not closed.")
    closure.reopened_at = timezone.now()
    closure.reopened_by = actor
    closure.reopen_reason = reason.strip()
    closure.full_clean(validate_constraints=False)
    closure.save(update_fields=["reopened_at", "reopened_by", "reopen_reason"])
    _tell_staff(
        office,
        verb="office_reopened",
        text=f"Office {office.code} ({office.name}) is open again: {closure.reopen_reason}.",
    )
    return closure

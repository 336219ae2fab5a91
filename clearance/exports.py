"""The end of an export: released for exit, the goods leave by the office of exit,
whose customs officers confirm it (Revised Kyoto Convention, General Annex 3 and
Specific Annex C: the office of exit makes sure the goods released for export are
those that leave). An export whose exit is not confirmed in time is flagged, once,
to that office and to the declarant: goods released tax-free for export and never
seen leaving may have stayed on the home market.
"""

from datetime import datetime, timedelta
from itertools import groupby

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.exceptions import InvalidTransition
from declarations.audit import audit_append, audit_entry
from declarations.models import Declaration, ExitConfirmation
from declarations.notices import declarants_tell, office_label
from declarations.selectors import exit_offices
from declarations.services import declaration_transition
from notifications.services import Message, notify_many, recipients_at_offices

Status = Declaration.Status

# What the officer records when the goods leave; the page, the API and the service
# share this list.
EXIT_FIELDS = ("exited_at", "transport_mode", "transport_identity", "notes")


def _ensure_posted_at_exit(actor, declaration: Declaration) -> None:
    """Only customs staff posted at the export's office of exit confirm its exit."""
    if declaration.office_of_exit not in exit_offices(actor):
        raise PermissionDenied


@transaction.atomic
def declaration_exit_confirm(
    *,
    declaration_id: int,
    actor,
    exited_at: datetime,
    transport_mode: str,
    transport_identity: str,
    notes: str = "",
) -> ExitConfirmation:
    """The office of exit confirms that a released export's goods left the country, when
    and on what: the export ends (exited), and the declarant is told the date.

    Only for an export released for exit, by a customs officer or supervisor posted
    at its office of exit; the goods cannot have left before they were released nor
    later than now. Anything refused records nothing.
    """
    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    if declaration.type != Declaration.Type.EXPORT:
        # Checked before the office: only an export names an office of exit at all.
        if not exit_offices(actor):
            raise PermissionDenied
        raise InvalidTransition(
            f"{declaration.reference} is an {declaration.get_type_display().lower()}: only "
            "an export's exit is confirmed."
        )
    _ensure_posted_at_exit(actor, declaration)
    if not declaration.may_become(Status.EXITED):
        if declaration.status == Status.EXITED:
            when = timezone.localtime(declaration.exit_confirmation.exited_at)
            message = (
                f"The exit of {declaration.reference} was confirmed already ({when:%Y-%m-%d})."
            )
        else:
            message = (
                f"{declaration.reference} is {declaration.get_status_display().lower()}: "
                "the goods are not released for export and may not leave."
            )
        raise InvalidTransition(message, extra={"status": declaration.status})

    now = timezone.now()
    confirmation = ExitConfirmation(
        declaration=declaration,
        office=declaration.office_of_exit,
        exited_at=exited_at,
        transport_mode=transport_mode,
        transport_identity=transport_identity.strip(),
        notes=notes.strip(),
        confirmed_by=actor,
        confirmed_at=now,
    )
    errors: dict[str, list[str]] = {}
    try:
        confirmation.full_clean(exclude=["declaration", "confirmed_by"], validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if "exited_at" not in errors:
        if exited_at > now:
            errors["exited_at"] = ["The goods cannot have left later than now."]
        elif declaration.released_at and exited_at < declaration.released_at:
            released = timezone.localtime(declaration.released_at)
            errors["exited_at"] = [
                f"The goods were released for export at {released:%Y-%m-%d %H:%M}; they "
                "cannot have left before."
            ]
    if errors:
        raise ValidationError(errors)
    confirmation.save()

    left_on = timezone.localtime(exited_at)
    mode = confirmation.get_transport_mode_display().lower()
    transport = f"{mode}, {confirmation.transport_identity}"
    declaration_transition(
        declaration_id=declaration.pk,
        locked=declaration,
        to_status=Status.EXITED,
        actor=actor,
        reason=f"exit confirmed at {confirmation.office}"
        + (f": {confirmation.notes}" if confirmation.notes else ""),
        data={
            "office": confirmation.office,
            "exited_at": left_on.isoformat(),
            "transport_mode": transport_mode,
            "transport_identity": confirmation.transport_identity,
        },
        notice=f"Exit confirmed on {left_on:%Y-%m-%d}: the goods left by "
        f"{office_label(confirmation.office)} ({transport}).",
    )
    return confirmation


# At most this many exports are flagged in one transaction; the task goes on with
# the next batch.
OVERDUE_BATCH = 200


@transaction.atomic
def exports_flag_overdue(*, limit: int = OVERDUE_BATCH) -> list[int]:
    """Flag released exports whose exit was not confirmed within
    settings.EXPORT_EXIT_DAYS of their release, and tell the staff of each one's
    office of exit and its declarant; returns the ids flagged.

    Each export is claimed once, by setting exit_overdue_at on rows still without
    it, locked with SKIP LOCKED: two runs at once take different exports, and a run
    after this one finds them flagged, so nobody is told twice. The flag, its audit
    entry and the notifications commit together.
    """
    now = timezone.now()
    days = settings.EXPORT_EXIT_DAYS
    overdue = Declaration.objects.filter(
        type=Declaration.Type.EXPORT,
        status=Status.RELEASED,
        exit_overdue_at__isnull=True,
        released_at__lt=now - timedelta(days=days),
    )
    ids = list(
        overdue.select_for_update(skip_locked=True)
        .order_by("released_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return []
    overdue.filter(pk__in=ids).update(exit_overdue_at=now)
    declarations = list(Declaration.objects.filter(pk__in=ids).order_by("office_of_exit", "pk"))

    events, notices, messages = [], [], []
    for declaration in declarations:
        released = timezone.localtime(declaration.released_at)
        office = office_label(declaration.office_of_exit)
        notice = (
            f"Exit not confirmed: the goods were released for export on {released:%Y-%m-%d} "
            f"and {office} has not confirmed they left. Present them there; if they will "
            "not be exported, tell customs."
        )
        events.append(
            audit_entry(
                declaration,
                actor=None,
                action="exit_overdue",
                reason=f"exit not confirmed within {days} days of release",
                data={"released_at": released.isoformat(), "office_of_exit": office},
                notice=notice,
            )
        )
        notices.append((declaration, notice, "exit_overdue"))
    for office, group in groupby(declarations, key=lambda d: d.office_of_exit):
        staff = recipients_at_offices([office])
        messages += [
            Message(
                recipient_ids=staff,
                verb="exit_overdue",
                text=f"{d.reference}: released for export "
                f"{timezone.localtime(d.released_at):%Y-%m-%d}, exit not confirmed at "
                f"{office} after {days} days",
                url=reverse("exports:confirm", args=[d.pk]),
            )
            for d in group
        ]
    audit_append(events)
    notify_many(messages=messages)
    declarants_tell(notices=notices)
    return ids

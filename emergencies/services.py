"""Every write of the emergencies app: declaring, extending and ending an emergency
(four eyes: two administrators), and registering humanitarian consignees.

An emergency changes status only in `_emergency_transition`, a proposal only in
`core.proposals.proposal_transition`, a consignee only in `_consignee_transition`, each on a
row locked first. Lock order: the emergency, then its proposal.
"""

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Company
from core.exceptions import ApplicationError
from core.proposals import proposal_file, proposal_transition
from emergencies.models import Emergency, EmergencyProposal, HumanitarianConsignee
from emergencies.selectors import emergency_notices_forget
from notifications.services import (
    Message,
    notify_many,
    recipients_of_companies,
    recipients_with_roles,
)
from reference.models import Office

Kind = EmergencyProposal.Kind

# What an administrator sets when declaring an emergency: form, serializer and
# service share this list (offices are given as codes, `office_codes`).
EMERGENCY_FIELDS = (
    "name",
    "description",
    "starts_at",
    "ends_at",
    "hs_prefixes",
    "priority",
    "lower_lane",
    "duty_relief",
    "documents_may_follow",
    "documents_within_days",
)
CONSIGNEE_FIELDS = ("kind", "mission")


def _ensure_admin(actor) -> None:
    if not actor.is_platform_admin:
        raise PermissionDenied


def _url(emergency: Emergency) -> str:
    return reverse("emergencies:detail", args=[emergency.pk])


def _tell_other_admins(actor, *, emergency: Emergency, verb: str, text: str) -> None:
    others = [pk for pk in recipients_with_roles(roles=["admin"]) if pk != actor.pk]
    notify_many(messages=[Message(others, verb, text, _url(emergency))])


def _clean_prefixes(prefixes) -> list[str]:
    cleaned = []
    for prefix in prefixes or []:
        prefix = str(prefix).replace(".", "").replace(" ", "").strip()
        if prefix and prefix not in cleaned:
            cleaned.append(prefix)
    return cleaned


def _offices(codes) -> list[Office]:
    codes = sorted({str(code).strip().upper() for code in codes or [] if str(code).strip()})
    if not codes:
        raise ValidationError({"office_codes": "Name at least one office of entry it covers."})
    offices = list(Office.objects.filter(code__in=codes, active=True))
    unknown = sorted(set(codes) - {office.code for office in offices})
    if unknown:
        raise ValidationError(
            {"office_codes": f"No open office has the code {', '.join(unknown)}."}
        )
    return offices


def _proposal_create(emergency, *, kind, ends_at, actor, reason) -> EmergencyProposal:
    proposal = EmergencyProposal(
        emergency=emergency,
        kind=kind,
        ends_at=ends_at,
        reason=reason.strip(),
        proposed_by=actor,
        proposed_at=timezone.now(),
    )
    return proposal_file(proposal, subject=emergency.name)


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise ValidationError({"reason": "Say why."})


@transaction.atomic
def emergency_declare_propose(
    *, actor, office_codes: list[str], reason: str, **fields
) -> EmergencyProposal:
    """An administrator proposes to declare an emergency; it is in force only once a
    second administrator approves, and from its start."""
    _ensure_admin(actor)
    unknown = set(fields) - set(EMERGENCY_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    _require_reason(reason)
    offices = _offices(office_codes)
    emergency = Emergency(**fields)
    emergency.hs_prefixes = _clean_prefixes(emergency.hs_prefixes)
    errors = {}
    if not emergency.hs_prefixes:
        errors["hs_prefixes"] = ["List the goods relief covers (HS prefixes)."]
    if emergency.starts_at and emergency.ends_at and emergency.ends_at <= emergency.starts_at:
        errors["ends_at"] = ["The emergency must end after it starts."]
    if emergency.ends_at and emergency.ends_at <= timezone.now():
        errors.setdefault("ends_at", []).append("The end is already past.")
    if errors:
        raise ValidationError(errors)
    emergency.full_clean(validate_constraints=False)
    emergency.save()
    emergency.offices.set(offices)
    proposal = _proposal_create(
        emergency, kind=Kind.DECLARE, ends_at=emergency.ends_at, actor=actor, reason=reason
    )
    _tell_other_admins(
        actor,
        emergency=emergency,
        verb="emergency_proposed",
        text=f"{actor.username} proposes to declare the emergency {emergency.name}; a second "
        "administrator must approve it",
    )
    return proposal


@transaction.atomic
def emergency_extend_propose(
    *, actor, emergency_id: int, ends_at: datetime, reason: str
) -> EmergencyProposal:
    """Propose a later end for an emergency that has been declared."""
    _ensure_admin(actor)
    _require_reason(reason)
    emergency = Emergency.objects.select_for_update().get(pk=emergency_id)
    if emergency.status != Emergency.Status.ACTIVE:
        raise ApplicationError(
            f"{emergency.name} is {emergency.get_status_display().lower()}: only a declared "
            "emergency is extended."
        )
    if ends_at <= emergency.ends_at:
        raise ValidationError(
            {
                "ends_at": "The new end must be after the present one "
                f"({emergency.ends_at:%Y-%m-%d %H:%M})."
            }
        )
    proposal = _proposal_create(
        emergency, kind=Kind.EXTEND, ends_at=ends_at, actor=actor, reason=reason
    )
    _tell_other_admins(
        actor,
        emergency=emergency,
        verb="emergency_proposed",
        text=f"{actor.username} proposes to extend {emergency.name} to {ends_at:%Y-%m-%d %H:%M}; "
        "a second administrator must approve it",
    )
    return proposal


@transaction.atomic
def emergency_end_propose(*, actor, emergency_id: int, reason: str) -> EmergencyProposal:
    """Propose to end a declared emergency now (when approved, at the latest)."""
    _ensure_admin(actor)
    _require_reason(reason)
    emergency = Emergency.objects.select_for_update().get(pk=emergency_id)
    emergency.ensure_may_become(Emergency.Status.ENDED)
    proposal = _proposal_create(
        emergency, kind=Kind.END, ends_at=emergency.ends_at, actor=actor, reason=reason
    )
    _tell_other_admins(
        actor,
        emergency=emergency,
        verb="emergency_proposed",
        text=f"{actor.username} proposes to end {emergency.name}; a second administrator must "
        "approve it",
    )
    return proposal


def _proposal_lock(proposal_id: int) -> EmergencyProposal:
    emergency_id = EmergencyProposal.objects.values_list("emergency_id", flat=True).get(
        pk=proposal_id
    )
    emergency = Emergency.objects.select_for_update().get(pk=emergency_id)
    proposal = (
        EmergencyProposal.objects.select_for_update(of=("self",))
        .select_related("proposed_by")
        .get(pk=proposal_id)
    )
    proposal.emergency = emergency
    return proposal


def _emergency_transition(emergency: Emergency, *, to_status: str, changes: dict) -> None:
    """The only way an emergency changes status (the caller holds its lock)."""
    if to_status != emergency.status:
        emergency.ensure_may_become(to_status)
    emergency.status = to_status
    for name, value in changes.items():
        setattr(emergency, name, value)
    emergency.full_clean(validate_constraints=False)
    emergency.save(update_fields=["status", *changes])
    # The banner and the API header read declared emergencies from the cache.
    emergency_notices_forget()


def _told_when_in_force(emergency: Emergency) -> list[int]:
    """Who hears that an emergency is declared or ends: administrators, the staff
    posted at the offices it covers, and the approved humanitarian consignees."""
    codes = list(emergency.offices.values_list("code", flat=True))
    staff = recipients_with_roles(roles=["officer", "supervisor"], office_codes=codes)
    company_ids = HumanitarianConsignee.objects.filter(
        status=HumanitarianConsignee.Status.APPROVED
    ).values_list("company_id", flat=True)
    consignees = [pk for pks in recipients_of_companies(list(company_ids)).values() for pk in pks]
    return sorted({*recipients_with_roles(roles=["admin"]), *staff, *consignees})


@transaction.atomic
def emergency_proposal_approve(*, proposal_id: int, actor) -> EmergencyProposal:
    """A second administrator approves: the emergency is declared, extended or ended."""
    _ensure_admin(actor)
    proposal = _proposal_lock(proposal_id)
    proposal.ensure_may_become(EmergencyProposal.Status.APPROVED)
    if proposal.proposed_by_id == actor.pk:
        raise ApplicationError(
            "Four eyes: you proposed this; another administrator must approve it."
        )
    emergency = proposal.emergency
    now = timezone.now()
    if proposal.kind == Kind.DECLARE:
        if emergency.ends_at <= now:
            raise ApplicationError(
                f"{emergency.name} would already have ended; refuse the proposal."
            )
        _emergency_transition(emergency, to_status=Emergency.Status.ACTIVE, changes={})
        text = f"Emergency declared: {emergency.name}, until {emergency.ends_at:%Y-%m-%d %H:%M}."
    elif proposal.kind == Kind.EXTEND:
        if emergency.status != Emergency.Status.ACTIVE:
            raise ApplicationError(f"{emergency.name} is no longer declared; refuse the proposal.")
        _emergency_transition(
            emergency, to_status=emergency.status, changes={"ends_at": proposal.ends_at}
        )
        text = f"Emergency {emergency.name} extended until {emergency.ends_at:%Y-%m-%d %H:%M}."
    else:
        # Ended before it began, it never is in force (the period must stay a period).
        ends_at = max(min(emergency.ends_at, now), emergency.starts_at + timedelta(microseconds=1))
        changes = {"ends_at": ends_at}
        _emergency_transition(emergency, to_status=Emergency.Status.ENDED, changes=changes)
        text = f"Emergency {emergency.name} ended."
    proposal_transition(proposal, to_status=EmergencyProposal.Status.APPROVED, actor=actor)
    notify_many(
        messages=[
            Message(
                _told_when_in_force(emergency), "emergency_" + proposal.kind, text, _url(emergency)
            ),
        ]
    )
    return proposal


@transaction.atomic
def emergency_proposal_refuse(*, proposal_id: int, actor, reason: str) -> EmergencyProposal:
    """A second administrator refuses, or the proposer withdraws: nothing changes, and
    an emergency proposed for declaration is refused."""
    _ensure_admin(actor)
    _require_reason(reason)
    proposal = _proposal_lock(proposal_id)
    proposal.ensure_may_become(EmergencyProposal.Status.REFUSED)
    if proposal.kind == Kind.DECLARE:
        _emergency_transition(proposal.emergency, to_status=Emergency.Status.REFUSED, changes={})
    proposal_transition(
        proposal, to_status=EmergencyProposal.Status.REFUSED, actor=actor, note=reason.strip()
    )
    if proposal.proposed_by_id != actor.pk:
        notify_many(
            messages=[
                Message(
                    [proposal.proposed_by_id],
                    "emergency_refused",
                    f"Your proposal to {proposal.get_kind_display().lower()} "
                    f"{proposal.emergency.name} was refused: {reason.strip()}",
                    _url(proposal.emergency),
                )
            ]
        )
    return proposal


# ---- Humanitarian consignees ---------------------------------------------------------------


@transaction.atomic
def consignee_register(
    *, actor, kind: str, mission: str, company_tax_id: str = ""
) -> HumanitarianConsignee:
    """A humanitarian organisation asks to be registered (a trader of the company), or an
    administrator registers one (naming its company by tax id). Either way an
    administrator approves it before it receives relief."""
    if actor.is_trader:
        company = actor.company
    elif actor.is_platform_admin:
        company = Company.objects.filter(tax_id=company_tax_id.strip()).first()
        if company is None:
            raise ValidationError(
                {
                    "company_tax_id": "No company has the tax id "
                    f"{company_tax_id.strip() or '(none)'}."
                }
            )
    else:
        raise PermissionDenied
    if HumanitarianConsignee.objects.filter(company=company).exists():
        raise ValidationError(
            {"company_tax_id": f"{company.name} is already registered as a humanitarian consignee."}
        )
    consignee = HumanitarianConsignee(
        company=company,
        kind=kind,
        mission=mission.strip(),
        requested_by=actor,
        requested_at=timezone.now(),
    )
    consignee.full_clean(validate_constraints=False)
    consignee.save()
    notify_many(
        messages=[
            Message(
                [pk for pk in recipients_with_roles(roles=["admin"]) if pk != actor.pk],
                "consignee_requested",
                f"{company.name} asks to be registered as a humanitarian consignee.",
                reverse("emergencies:consignees"),
            )
        ]
    )
    return consignee


def _consignee_transition(consignee, *, to_status: str, actor, note: str) -> None:
    consignee.ensure_may_become(to_status)
    consignee.status = to_status
    consignee.decided_by, consignee.decided_at = actor, timezone.now()
    consignee.decision_note = note.strip()
    consignee.full_clean(validate_constraints=False)
    consignee.save()
    users = recipients_of_companies([consignee.company_id]).get(consignee.company_id, [])
    text = {
        HumanitarianConsignee.Status.APPROVED: "Registered as a humanitarian consignee: your "
        "consignments of listed goods during an emergency are relief consignments.",
        HumanitarianConsignee.Status.REFUSED: "Your registration as a humanitarian consignee "
        f"was refused: {note.strip()}",
        HumanitarianConsignee.Status.SUSPENDED: "Your registration as a humanitarian consignee "
        f"is suspended: {note.strip()}",
    }[to_status]
    notify_many(
        messages=[Message(users, "consignee_" + to_status, text, reverse("emergencies:consignees"))]
    )


@transaction.atomic
def consignee_decide(
    *, actor, consignee_id: int, status: str, note: str = ""
) -> HumanitarianConsignee:
    """An administrator approves, refuses or suspends a humanitarian consignee (one
    who did not ask for it: an organisation does not approve itself)."""
    _ensure_admin(actor)
    consignee = HumanitarianConsignee.objects.select_for_update().get(pk=consignee_id)
    if status != HumanitarianConsignee.Status.APPROVED and not note.strip():
        raise ValidationError({"note": "Say why."})
    if status == HumanitarianConsignee.Status.APPROVED and consignee.requested_by_id == actor.pk:
        raise ApplicationError(
            "Four eyes: you registered this consignee; another administrator must approve it."
        )
    _consignee_transition(consignee, to_status=status, actor=actor, note=note)
    return consignee

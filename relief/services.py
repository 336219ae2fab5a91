"""Every write of the relief app: a provisional declaration's documents to follow
(opened at lodgement, ticked off as they are supplied, reminded and flagged
overdue by beat), and joint inspections (offered, booked, cancelled; the
recording of their findings on every agency's review is the clearance
process's, clearance.relief).

A provisional declaration changes status only in `_provisionals_transition`, a
joint inspection only in `_joint_transition`, on rows locked declaration first
(the lock order of every app), so that their entries in the declaration's audit
trail are appended under its lock.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from agencies.models import Agency, Inspection, Review, permits_by_citation
from core.exceptions import ApplicationError
from declarations.audit import audit_append, audit_entry
from declarations.models import Declaration, Document, Item, ItemPermit
from declarations.notices import declarants_tell, office_label
from declarations.validation import documents_missing
from notifications.services import (
    Message,
    notify_many,
    recipients_at_offices,
    recipients_of_agencies_at_offices,
)
from relief.models import (
    JointInspection,
    JointInspectionAgency,
    OwedDocument,
    ProvisionalDeclaration,
)
from relief.selectors import ENDED

Owed = ProvisionalDeclaration.Status
Joint = JointInspection.Status

# At most this many declarations are reminded or flagged in one transaction; the task
# goes on with the next batch.
SWEEP_BATCH = 200


def _when(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _provisionals_transition(provisionals: list, *, to_status: str, changes=None) -> None:
    """The only way a provisional declaration changes status: rows the caller has locked
    (their declarations locked first), checked against the table, one statement."""
    fields = {"status", *(changes or {})}
    for provisional in provisionals:
        provisional.ensure_may_become(to_status)
        provisional.status = to_status
        for name, value in (changes or {}).items():
            setattr(provisional, name, value)
        provisional.full_clean(exclude=["declaration", "emergency"], validate_constraints=False)
    ProvisionalDeclaration.objects.bulk_update(provisionals, sorted(fields))


# ---- Documents to follow: opened at lodgement -----------------------------------------------


def _permits_of(items) -> list[list[dict]]:
    of_item: dict[int, list[dict]] = {item.pk: [] for item in items}
    permits = ItemPermit.objects.filter(item__in=items).order_by("pk")
    for item_id, agency, reference in permits.values_list("item_id", "agency__code", "reference"):
        of_item[item_id].append({"agency": agency, "reference": reference})
    return [of_item[item.pk] for item in items]


def owed_documents_open(
    *, declaration: Declaration, actor, replaces: Declaration | None = None
) -> ProvisionalDeclaration | None:
    """Record what a declaration just lodged provisionally owes, and by when.

    Called by the clearance process in the lodgement's transaction, the declaration
    (and the version it `replaces`, for an amendment) locked. Lodgement has checked
    that documents may follow (declarations.validation): a relief consignment of an
    emergency whose measures allow it. The deadline is the emergency's
    documents_within_days from lodgement; an amendment keeps the deadline, the
    reminders and any overdue flag of the version it replaces, and that version
    owes nothing more.
    """
    previous = None
    if replaces is not None:
        previous = (
            ProvisionalDeclaration.objects.select_for_update()
            .filter(declaration=replaces, status__in=ProvisionalDeclaration.OPEN)
            .first()
        )
        if previous is not None:
            _provisionals_transition([previous], to_status=Owed.WITHDRAWN)
            audit_append(
                [
                    audit_entry(
                        replaces,
                        actor=actor,
                        action="documents_withdrawn",
                        reason=f"replaced by version {declaration.version}",
                    )
                ]
            )
    if not declaration.documents_follow or declaration.emergency_id is None:
        return None
    items = list(declaration.items.order_by("line_no"))
    missing = documents_missing(declaration, items, _permits_of(items))
    if not missing:
        return None
    emergency = declaration.emergency
    now = timezone.now()
    provisional = ProvisionalDeclaration(
        declaration=declaration,
        emergency=emergency,
        opened_at=now,
        due_at=(declaration.submitted_at or now) + timedelta(days=emergency.documents_within_days),
    )
    if previous is not None:
        provisional.due_at = previous.due_at
        provisional.reminded_days = previous.reminded_days
        if previous.status == Owed.OVERDUE:
            provisional.status, provisional.overdue_at = Owed.OVERDUE, previous.overdue_at
    provisional.full_clean(exclude=["declaration", "emergency"], validate_constraints=False)
    provisional.save()
    by_line = {item.line_no: item for item in items}
    agencies = {a.code: a for a in Agency.objects.filter(code__in={m.agency for m in missing})}
    OwedDocument.objects.bulk_create(
        OwedDocument(
            provisional=provisional,
            kind=owed.kind,
            item=by_line.get(owed.line_no),
            agency=agencies.get(owed.agency),
            permit_type=owed.permit_type,
            description=owed.text[:300],
        )
        for owed in missing
    )
    texts = [owed.text for owed in missing]
    audit_append(
        [
            audit_entry(
                declaration,
                actor=actor,
                action="documents_owed",
                data={
                    "emergency": emergency.name,
                    "due_at": provisional.due_at.isoformat(),
                    "documents": texts,
                },
                notice=f"Lodged provisionally under {emergency.name}: supply by "
                f"{_when(provisional.due_at)} the documents still owed: {'; '.join(texts)}.",
            )
        ]
    )
    return provisional


# ---- Documents to follow: supplied by the declarant -----------------------------------------


def owed_document_lock(*, declaration_id: int, owed_id: int) -> OwedDocument:
    """Lock the declaration, then its provisional record and the document owed."""
    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    provisional = ProvisionalDeclaration.objects.select_for_update().get(declaration=declaration)
    owed = (
        OwedDocument.objects.select_for_update(of=("self",))
        .select_related("item", "agency")
        .get(pk=owed_id, provisional=provisional)
    )
    provisional.declaration = declaration
    owed.provisional = provisional
    return owed


def owed_document_check(owed: OwedDocument, *, actor, reference: str) -> str:
    """Whether the declarant may supply this document now, with this reference; the
    reference as it is kept. A permit must be one its agency issued to the declarant's
    company for the item, valid today (as lodgement checks a permit cited)."""
    provisional = owed.provisional
    declaration = provisional.declaration
    if not (actor.is_trader and actor.company_id == declaration.company_id):
        raise PermissionDenied
    if owed.is_supplied:
        raise ApplicationError(
            f"{owed.description}: supplied already ({owed.reference}, {_when(owed.supplied_at)})."
        )
    if declaration.status in ENDED or not provisional.is_open:
        raise ApplicationError(
            f"{declaration.reference} is {declaration.get_status_display().lower()}: "
            "it owes no documents any more."
        )
    reference = reference.strip()
    if not reference:
        raise ValidationError({"reference": "Give the document's number or reference."})
    if len(reference) > 64:
        raise ValidationError({"reference": "A reference has at most 64 characters."})
    if owed.kind == OwedDocument.Kind.PERMIT:
        permit = permits_by_citation([(owed.agency.code, reference)]).get(
            (owed.agency.code, reference)
        )
        if permit is None:
            raise ValidationError(
                {"reference": f"Permit {reference} was not issued by {owed.agency.code}."}
            )
        refusal = permit.refusal(
            owed.item, company_id=declaration.company_id, on=timezone.localdate()
        )
        if refusal:
            raise ValidationError({"reference": f"Permit {permit.number} {refusal}."})
        return permit.number
    if owed.kind == OwedDocument.Kind.INVOICE:
        other = (
            Declaration.objects.filter(company_id=declaration.company_id, invoice_number=reference)
            .exclude(status__in=[Declaration.Status.CANCELLED, Declaration.Status.AMENDED])
            .exclude(pk=declaration.pk)
            .first()
        )
        if other is not None:
            raise ValidationError(
                {"reference": f"Invoice {reference} is already declared in {other.reference}."}
            )
    return reference


def owed_document_tick(
    *, owed: OwedDocument, actor, reference: str, document: Document | None = None
) -> OwedDocument:
    """Tick off a document owed (locked by the caller, checked by owed_document_check):
    its reference and the file uploaded, if any. The last one completes the
    provisional declaration; customs at its office is told if it had been overdue."""
    provisional = owed.provisional
    declaration = provisional.declaration
    now = timezone.now()
    owed.reference, owed.document = reference, document
    owed.supplied_by, owed.supplied_at = actor, now
    owed.full_clean(exclude=["provisional", "item", "agency", "document", "supplied_by"])
    owed.save(update_fields=["reference", "document", "supplied_by", "supplied_at"])
    entries = [
        audit_entry(
            declaration,
            actor=actor,
            action="document_supplied",
            data={"owed": owed.pk, "kind": owed.kind, "reference": reference},
            notice=f"Document supplied: {owed.description} ({reference}).",
        )
    ]
    still_owed = provisional.documents.filter(supplied_at__isnull=True).exclude(pk=owed.pk)
    if not still_owed.exists():
        was_overdue = provisional.status == Owed.OVERDUE
        _provisionals_transition(
            [provisional], to_status=Owed.COMPLETE, changes={"completed_at": now}
        )
        entries.append(
            audit_entry(
                declaration,
                actor=actor,
                action="documents_complete",
                data={"overdue": was_overdue},
                notice="Every document owed is supplied: the provisional declaration is complete.",
            )
        )
        if was_overdue:
            notify_many(
                messages=[
                    Message(
                        recipients_at_offices([declaration.control_office]),
                        "documents_complete",
                        f"{declaration.reference}: the documents overdue are now supplied",
                        reverse("declarations:detail", args=[declaration.pk]),
                    )
                ]
            )
    audit_append(entries)
    return owed


# ---- Documents to follow: reminders and the deadline (beat) ---------------------------------


def _lock_declarations(provisionals, *, limit: int) -> list[int]:
    """Lock the declarations of (at most `limit` of) these provisional rows, skipping
    those another transaction holds (the next run takes them); their ids."""
    return list(
        Declaration.objects.select_for_update(skip_locked=True)
        .filter(pk__in=provisionals.values("declaration_id"))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def _owed_texts(provisional: ProvisionalDeclaration) -> str:
    return "; ".join(d.description for d in provisional.documents.all() if not d.is_supplied)


def reminder_thresholds() -> list[int]:
    """Days before the deadline a reminder goes out, largest first (3, then 1)."""
    return sorted(
        {int(d) for d in settings.RELIEF_DOCUMENT_REMINDER_DAYS if int(d) > 0}, reverse=True
    )


@transaction.atomic
def provisional_documents_remind(*, now=None, limit: int = SWEEP_BATCH) -> list[int]:
    """Remind the declarants whose documents are due within a reminder's days
    (settings.RELIEF_DOCUMENT_REMINDER_DAYS: 3 and 1 by default); returns the
    declaration ids reminded.

    Each reminder once: `reminded_days` keeps the last one sent, and is set on rows
    locked with their declarations (SKIP LOCKED), so two runs at once take
    different rows and a later run finds them reminded. A run that missed the
    3-day reminder sends only the 1-day one.
    """
    now = now or timezone.now()
    thresholds = reminder_thresholds()
    if not thresholds:
        return []
    # Due within d days (and not within the next smaller threshold), and not yet
    # reminded at d days or fewer: the rows to remind now, and no others.
    windows = Q()
    for index, days in enumerate(thresholds):
        window = Q(due_at__lte=now + timedelta(days=days))
        if index + 1 < len(thresholds):
            window &= Q(due_at__gt=now + timedelta(days=thresholds[index + 1]))
        windows |= window & (Q(reminded_days__isnull=True) | Q(reminded_days__gt=days))
    candidates = (
        ProvisionalDeclaration.objects.filter(status=Owed.OWED, due_at__gt=now)
        .filter(windows)
        .exclude(declaration__status__in=ENDED)
    )
    ids = _lock_declarations(candidates, limit=limit)
    if not ids:
        return []
    due = list(
        candidates.filter(declaration_id__in=ids)
        .select_for_update(of=("self",))
        .select_related("declaration", "emergency")
        .prefetch_related("documents")
        .order_by("due_at")
    )
    for provisional in due:
        left = provisional.due_at - now
        provisional.reminded_days = min(d for d in thresholds if left <= timedelta(days=d))
    ProvisionalDeclaration.objects.bulk_update(due, ["reminded_days"])
    entries, notices = [], []
    for provisional in due:
        declaration = provisional.declaration
        notice = (
            f"Reminder: the documents owed under {provisional.emergency.name} are due by "
            f"{_when(provisional.due_at)}: {_owed_texts(provisional)}."
        )
        entries.append(
            audit_entry(
                declaration,
                actor=None,
                action="documents_reminder",
                data={"days_before": provisional.reminded_days},
                notice=notice,
            )
        )
        notices.append((declaration, notice, "documents_reminder"))
    audit_append(entries)
    declarants_tell(notices=notices)
    return [p.declaration_id for p in due]


@transaction.atomic
def provisional_documents_flag_overdue(*, now=None, limit: int = SWEEP_BATCH) -> list[int]:
    """Flag the provisional declarations whose deadline passed with documents still owed,
    and tell their declarant and the customs staff of their office; returns the
    declaration ids flagged. Each once: the move to overdue is made on rows locked
    with their declarations (SKIP LOCKED), and a later run finds them overdue."""
    now = now or timezone.now()
    overdue = ProvisionalDeclaration.objects.filter(status=Owed.OWED, due_at__lte=now).exclude(
        declaration__status__in=ENDED
    )
    ids = _lock_declarations(overdue, limit=limit)
    if not ids:
        return []
    rows = list(
        overdue.filter(declaration_id__in=ids)
        .select_for_update(of=("self",))
        .select_related("declaration__company", "emergency")
        .prefetch_related("documents")
        .order_by("declaration__office_of_entry", "pk")
    )
    _provisionals_transition(rows, to_status=Owed.OVERDUE, changes={"overdue_at": now})
    entries, notices, messages = [], [], []
    for provisional in rows:
        declaration = provisional.declaration
        owed = _owed_texts(provisional)
        notice = (
            f"Documents overdue: they were due by {_when(provisional.due_at)} under "
            f"{provisional.emergency.name}. Supply them now: {owed}. Customs has been told."
        )
        entries.append(
            audit_entry(
                declaration,
                actor=None,
                action="documents_overdue",
                reason=f"documents owed not supplied by {_when(provisional.due_at)}",
                data={"due_at": provisional.due_at.isoformat(), "owed": owed},
                notice=notice,
            )
        )
        notices.append((declaration, notice, "documents_overdue"))
        messages.append(
            Message(
                recipients_at_offices([declaration.control_office]),
                "documents_overdue",
                f"{declaration.reference} ({declaration.company.name}): documents of a "
                f"provisional relief declaration overdue since {_when(provisional.due_at)}",
                reverse("declarations:detail", args=[declaration.pk]),
            )
        )
    audit_append(entries)
    notify_many(messages=messages)
    declarants_tell(notices=notices)
    return [p.declaration_id for p in rows]


@transaction.atomic
def provisional_documents_withdraw_ended(*, limit: int = SWEEP_BATCH) -> list[int]:
    """Close the documents owed by declarations that ended without them (cancelled,
    rejected, seized): nobody is reminded of them any more."""
    ended = ProvisionalDeclaration.objects.filter(
        status__in=ProvisionalDeclaration.OPEN, declaration__status__in=ENDED
    )
    ids = _lock_declarations(ended, limit=limit)
    if not ids:
        return []
    rows = list(
        ended.filter(declaration_id__in=ids)
        .select_for_update(of=("self",))
        .select_related("declaration")
    )
    _provisionals_transition(rows, to_status=Owed.WITHDRAWN)
    audit_append(
        [
            audit_entry(
                p.declaration,
                actor=None,
                action="documents_withdrawn",
                reason=f"the declaration is {p.declaration.get_status_display().lower()}",
            )
            for p in rows
        ]
    )
    return [p.declaration_id for p in rows]


# ---- Joint inspections ----------------------------------------------------------------------


def _needs_inspection(review: Review, declaration: Declaration) -> bool:
    """Whether the agency must look at the goods: customs when the lane orders a physical
    inspection, another agency whenever its review waits for it (no permit cleared it)."""
    if review.status not in Review.ACTIVE:
        return False
    if review.agency.is_customs:
        return declaration.lane == "red"
    return True


def _joint_url(joint: JointInspection) -> str:
    return reverse("relief:joint-inspection", args=[joint.pk])


def joint_inspections_offer(*, declarations: list, reviews_of: dict[int, list]) -> list:
    """Offer one joint inspection for each relief consignment just routed whose goods
    more than one agency must inspect, and tell those agencies' staff at its office.

    Called by the clearance process as the reviews open, in their transaction and on
    the declarations it locked; statements constant in the number of declarations,
    and none when the batch holds no relief consignment.
    """
    offers = []
    for declaration in declarations:
        if declaration.emergency_id is None:
            continue
        needing = [
            r for r in reviews_of.get(declaration.pk, []) if _needs_inspection(r, declaration)
        ]
        if len(needing) > 1:
            offers.append((declaration, needing))
    if not offers:
        return []
    now = timezone.now()
    joints = JointInspection.objects.bulk_create(
        JointInspection(declaration=declaration, office=declaration.control_office, offered_at=now)
        for declaration, _ in offers
    )
    JointInspectionAgency.objects.bulk_create(
        JointInspectionAgency(joint_inspection=joint, review=review, agency=review.agency)
        for joint, (_, needing) in zip(joints, offers, strict=True)
        for review in needing
    )
    staff = recipients_of_agencies_at_offices(
        (review.agency_id, joint.office)
        for joint, (_, needing) in zip(joints, offers, strict=True)
        for review in needing
    )
    entries, messages = [], []
    for joint, (declaration, needing) in zip(joints, offers, strict=True):
        names = ", ".join(review.agency.name for review in needing)
        entries.append(
            audit_entry(
                declaration,
                actor=None,
                action="joint_inspection_offered",
                data={"joint_inspection": joint.pk, "agencies": [r.agency.code for r in needing]},
            )
        )
        messages += [
            Message(
                staff.get((review.agency_id, joint.office), []),
                "joint_inspection_offered",
                f"{declaration.reference}: relief consignment that {names} must inspect; "
                "book one joint inspection",
                _joint_url(joint),
            )
            for review in needing
        ]
    audit_append(entries)
    notify_many(messages=messages)
    return joints


def joint_inspection_lock(joint_inspection_id: int) -> JointInspection:
    """Lock the inspection's declaration, then the inspection."""
    declaration_id = JointInspection.objects.values_list("declaration_id", flat=True).get(
        pk=joint_inspection_id
    )
    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    joint = (
        JointInspection.objects.select_for_update(of=("self",))
        .select_related("recorded_by", "booked_by")
        .get(pk=joint_inspection_id)
    )
    joint.declaration = declaration
    return joint


def joint_inspection_participants(joint: JointInspection) -> list[JointInspectionAgency]:
    return list(
        joint.participants.select_related("agency", "review").order_by(
            "-agency__is_customs", "agency__name"
        )
    )


def joint_inspection_ensure_participant(
    actor, joint: JointInspection, participants=None, *, customs_may_join: bool = False
) -> None:
    """An officer or supervisor of an agency taking part, posted at the inspection's
    office; with `customs_may_join`, customs staff posted there too (customs, which
    reviews every declaration, books it in when its lane comes to need the goods
    seen). Anyone else is refused as if it did not exist."""
    participants = (
        participants if participants is not None else joint_inspection_participants(joint)
    )
    if not (actor.is_agency_staff and joint.office in actor.office_codes):
        raise PermissionDenied
    if any(p.agency_id == actor.agency_id for p in participants):
        return
    if not (customs_may_join and actor.agency.is_customs):
        raise PermissionDenied


def _joint_transition(joint: JointInspection, *, to_status: str, changes: dict) -> None:
    """The only way a joint inspection changes status (the caller holds its locks)."""
    joint.ensure_may_become(to_status)
    joint.status = to_status
    for name, value in changes.items():
        setattr(joint, name, value)
    joint.full_clean(exclude=["declaration", "booked_by", "recorded_by", "cancelled_by"])
    joint.save()


def _ensure_under_review(joint: JointInspection) -> None:
    declaration = joint.declaration
    if not declaration.is_under_review:
        raise ApplicationError(
            f"{declaration.reference} is {declaration.get_status_display().lower()}: "
            "its goods are no longer inspected."
        )


@transaction.atomic
def joint_inspection_book(
    *,
    actor,
    joint_inspection_id: int,
    scheduled_at: datetime,
    place: str,
    agency_codes: list[str],
    officer_usernames: list[str] = (),
) -> JointInspection:
    """Book (or book again) a joint inspection: when, where, the agencies taking part
    (at least two, the booker's among them, each with a review still waiting for
    it) and the officers each sends (posted at the office). The officers named, or
    the staff of an agency that names none, and the declarant are told."""
    joint = joint_inspection_lock(joint_inspection_id)
    participants = joint_inspection_participants(joint)
    joint_inspection_ensure_participant(actor, joint, participants, customs_may_join=True)
    _ensure_under_review(joint)
    joint.ensure_may_become(Joint.BOOKED)
    errors: dict[str, list[str]] = {}
    place = place.strip()
    if not place:
        errors["place"] = ["Say where the goods are inspected (terminal, warehouse, berth)."]
    if scheduled_at is None or scheduled_at <= timezone.now():
        errors["scheduled_at"] = ["Book a time to come."]
    reviews = {
        r.agency.code: r
        for r in Review.objects.select_related("agency").filter(
            declaration_id=joint.declaration_id, status__in=Review.ACTIVE
        )
    }
    codes = sorted({str(code).strip() for code in agency_codes if str(code).strip()})
    unknown = [code for code in codes if code not in reviews]
    if unknown:
        errors["agencies"] = [
            f"No review of {joint.declaration.reference} waits for {', '.join(unknown)}."
        ]
    elif len(codes) < 2:
        errors["agencies"] = ["A joint inspection takes at least two agencies."]
    elif actor.agency.code not in codes:
        errors["agencies"] = ["Your agency takes part in the inspections it books."]
    officers = list(
        get_user_model()
        .objects.filter(
            username__in=list(officer_usernames),
            is_active=True,
            role__in=["officer", "supervisor"],
            agency__code__in=codes,
            offices__code=joint.office,
        )
        .select_related("agency")
        .distinct()
    )
    missing = sorted(set(officer_usernames) - {o.username for o in officers})
    if missing:
        errors["officers"] = [
            f"Not an officer of an agency taking part posted at {joint.office}: "
            f"{', '.join(missing)}."
        ]
    if errors:
        raise ValidationError(errors)
    # The agencies taking part are the ones chosen now.
    keep = {p.agency.code: p for p in participants}
    joint.participants.exclude(agency__code__in=codes).delete()
    for code in codes:
        if code not in keep:
            keep[code] = JointInspectionAgency.objects.create(
                joint_inspection=joint, review=reviews[code], agency=reviews[code].agency
            )
    for code in codes:
        keep[code].officers.set([o for o in officers if o.agency.code == code])
    rebooked = joint.status == Joint.BOOKED
    _joint_transition(
        joint,
        to_status=Joint.BOOKED,
        changes={
            "scheduled_at": scheduled_at,
            "place": place,
            "booked_by": actor,
            "booked_at": timezone.now(),
        },
    )
    names = ", ".join(reviews[code].agency.name for code in codes)
    what = "booked again" if rebooked else "booked"
    notice = (
        f"Joint inspection of the goods by {names} {what} for {_when(scheduled_at)} at "
        f"{place} ({office_label(joint.office)}): present the goods there with the transport "
        "document."
    )
    audit_append(
        [
            audit_entry(
                joint.declaration,
                actor=actor,
                action="joint_inspection_booked",
                data={
                    "joint_inspection": joint.pk,
                    "scheduled_at": scheduled_at.isoformat(),
                    "place": place,
                    "agencies": codes,
                    "officers": sorted(o.username for o in officers),
                },
                notice=notice,
            )
        ]
    )
    staff = recipients_of_agencies_at_offices(
        (reviews[code].agency_id, joint.office) for code in codes
    )
    told = {o.pk for o in officers}
    for code in codes:
        if not any(o.agency.code == code for o in officers):
            told |= set(staff.get((reviews[code].agency_id, joint.office), []))
    told.discard(actor.pk)
    notify_many(
        messages=[
            Message(
                sorted(told),
                "joint_inspection_booked",
                f"{joint.declaration.reference}: joint inspection by {names} {what} for "
                f"{_when(scheduled_at)} at {place}",
                _joint_url(joint),
            )
        ]
    )
    declarants_tell(notices=[(joint.declaration, notice, "joint_inspection_booked")], actor=actor)
    return joint


@transaction.atomic
def joint_inspection_cancel(*, actor, joint_inspection_id: int, reason: str) -> JointInspection:
    """Call off a joint inspection not yet recorded (each agency inspects on its own)."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the joint inspection is called off."})
    joint = joint_inspection_lock(joint_inspection_id)
    participants = joint_inspection_participants(joint)
    joint_inspection_ensure_participant(actor, joint, participants, customs_may_join=True)
    was_booked = joint.status == Joint.BOOKED
    _joint_transition(
        joint,
        to_status=Joint.CANCELLED,
        changes={"cancelled_by": actor, "cancel_reason": reason.strip()},
    )
    audit_append(
        [
            audit_entry(
                joint.declaration,
                actor=actor,
                action="joint_inspection_cancelled",
                reason=reason.strip(),
                data={"joint_inspection": joint.pk},
                # The declarant was told of a booking; an offer was never theirs to see.
                notice="The joint inspection booked is called off; you will be told how the "
                "goods are inspected."
                if was_booked
                else "",
            )
        ]
    )
    staff = recipients_of_agencies_at_offices((p.agency_id, joint.office) for p in participants)
    notify_many(
        messages=[
            Message(
                [pk for p in participants for pk in staff.get((p.agency_id, joint.office), [])
                 if pk != actor.pk],
                "joint_inspection_cancelled",
                f"{joint.declaration.reference}: joint inspection called off by "
                f"{actor.username}: {reason.strip()}",
                _joint_url(joint),
            )
        ]
    )  # fmt: skip
    if was_booked:
        declarants_tell(
            notices=[
                (
                    joint.declaration,
                    "The joint inspection booked is called off; you will be told how the "
                    "goods are inspected.",
                    "joint_inspection_cancelled",
                )
            ],
            actor=actor,
        )
    return joint


def joint_inspection_finding_items(joint: JointInspection, finding: str, revenue, line_nos):
    """The declaration's items a joint finding names (as an inspection's: a discrepancy
    names at least one item, no discrepancy names none and recovers nothing)."""
    line_nos = sorted({int(n) for n in line_nos or ()})
    if finding not in Inspection.Finding.values:
        raise ValidationError({"finding": f"“{finding}” is not a finding."})
    if finding == Inspection.Finding.NO_DISCREPANCY:
        if revenue:
            raise ValidationError(
                {"revenue_difference": "A finding of no discrepancy recovers no revenue."}
            )
        if line_nos:
            raise ValidationError({"items": "A finding of no discrepancy concerns no item."})
        return []
    if not line_nos:
        raise ValidationError({"items": "Name the items the finding concerns."})
    by_line = {
        item.line_no: item for item in Item.objects.filter(declaration_id=joint.declaration_id)
    }
    unknown = [n for n in line_nos if n not in by_line]
    if unknown:
        raise ValidationError(
            {"items": f"The declaration has no item {', '.join(map(str, unknown))}."}
        )
    return [by_line[n] for n in line_nos]


def joint_inspection_mark_recorded(
    *, joint: JointInspection, actor, finding: str, revenue_difference, notes: str, items, agencies
) -> JointInspection:
    """The joint inspection (locked by the caller) is done: what it found, once, for the
    agencies whose reviews it was recorded on; in the declaration's trail."""
    _joint_transition(
        joint,
        to_status=Joint.DONE,
        changes={
            "finding": finding,
            "revenue_difference": revenue_difference,
            "notes": notes.strip(),
            "recorded_by": actor,
            "recorded_at": timezone.now(),
        },
    )
    joint.items.set(items)
    audit_append(
        [
            audit_entry(
                joint.declaration,
                actor=actor,
                action="joint_inspection_recorded",
                reason=notes.strip(),
                data={
                    "joint_inspection": joint.pk,
                    "agencies": sorted(agencies),
                    "finding": finding,
                    "items": sorted(item.line_no for item in items),
                    "revenue_difference": str(revenue_difference),
                },
                # Each agency's inspection tells the declarant it was done.
            )
        ]
    )
    return joint


def joint_inspection_ensure_recordable(joint: JointInspection) -> None:
    if joint.status == Joint.DONE:
        raise ApplicationError(
            f"This joint inspection was recorded already by {joint.recorded_by.username} at "
            f"{_when(joint.recorded_at)}.",
            extra={"status": joint.status},
        )
    if joint.status != Joint.BOOKED:
        raise ApplicationError(
            f"A joint inspection is recorded once booked; this one is "
            f"{joint.get_status_display().lower()}.",
            extra={"status": joint.status},
        )
    _ensure_under_review(joint)


def joint_inspection_told_recorded(*, joint: JointInspection, participants, actor) -> None:
    """Tell the other agencies taking part what was recorded for them."""
    staff = recipients_of_agencies_at_offices((p.agency_id, joint.office) for p in participants)
    notify_many(
        messages=[
            Message(
                [pk for p in participants for pk in staff.get((p.agency_id, joint.office), [])
                 if pk != actor.pk],
                "joint_inspection_recorded",
                f"{joint.declaration.reference}: joint inspection recorded by {actor.username} "
                f"for every agency: {joint.get_finding_display().lower()}",
                _joint_url(joint),
            )
        ]
    )  # fmt: skip

"""Every write of the declarations app: drafts, lodgement checks, duties, documents,
payments, and the declaration's one transition function.

What crosses into other apps (scoring, agency reviews, release) is the
clearance process's (clearance.services), which calls these.
"""

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import InvalidTransition
from core.permissions import grant
from declarations.audit import audit_append, audit_entry
from declarations.documents import PDF, document_content_type
from declarations.duties import DutyAssessment, assess_duties
from declarations.models import (
    Declaration,
    DeclarationEvent,
    Document,
    InvoiceReading,
    Item,
    ItemPermit,
    OfficeDiversion,
    Payment,
    TransitArrival,
)
from declarations.notices import (
    STATUS_NOTICES,
    declarants_tell,
    lodged_notice,
    office_label,
    release_notice,
)
from declarations.validation import (
    DEFAULT_PROCEDURE,
    duplicate_errors,
    validate_draft,
    validate_lodgement,
)
from emergencies.selectors import ReliefCheck, relief_check, relief_for
from reference import lookups

logger = logging.getLogger(__name__)

Status = Declaration.Status

DECLARATION_PERMS = ("declarations.view_declaration", "declarations.change_declaration")
TRANSITION_UNCHECKED = ("company", "created_by", "previous_version", "first_version", "emergency")


def event_append(
    *,
    declaration: Declaration,
    actor,
    action: str,
    reason: str = "",
    data: dict | None = None,
    notice: str = "",
    first: bool = False,
) -> DeclarationEvent:
    """Add one entry to the declaration's audit trail. The caller holds its row lock."""
    entry = audit_entry(
        declaration, actor=actor, action=action, reason=reason, data=data, notice=notice
    )
    return audit_append([entry], first=first)[0]


@dataclass
class Move:
    """One status change of a declaration locked in the current transaction.

    `reason` and `data` are the officers' record of why; `notice` what the
    declarant is told (by default the status's STATUS_NOTICES line; None: the
    caller tells them itself, as a query or a lane decision does).
    """

    declaration: Declaration
    to_status: str
    reason: str = ""
    data: dict | None = None
    changes: dict = dataclass_field(default_factory=dict)
    notice: str | None = ""


@transaction.atomic
def declaration_transition(
    *,
    declaration_id: int,
    to_status: str,
    actor,
    reason: str = "",
    data: dict | None = None,
    changes: dict | None = None,
    notice: str | None = "",
    locked: Declaration | None = None,
) -> Declaration:
    """The only way a declaration changes status.

    Locks the row so concurrent moves are serialised per declaration, checks
    the move against Declaration.TRANSITIONS, applies `changes` (other fields
    set by the same move), records the move in the audit chain and tells the
    declarant. A caller that already holds the row locked passes it as `locked`.
    """
    if locked is not None and locked.pk == declaration_id:
        declaration = locked
    else:
        declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    move = Move(declaration, to_status, reason, data, changes or {}, notice)
    declarations_move_locked(moves=[move], actor=actor)
    return declaration


def declarations_move_locked(*, moves: list[Move], actor) -> None:
    """Carry out moves of declarations the caller has locked, as declaration_transition
    does one: the same checks, audit entries and notices, in a constant number of
    statements whatever the number of declarations (a worker deciding a batch).

    Runs in the caller's transaction (the one holding the locks), without a
    savepoint of its own: a refused move raises before anything is written.
    """
    now = timezone.now()
    fields = {"status", "updated_at"}
    events, notices = [], []
    for move in moves:
        declaration = move.declaration
        from_status = declaration.status
        declaration.ensure_may_become(move.to_status)
        declaration.status = move.to_status
        declaration.updated_at = now
        for name, value in move.changes.items():
            setattr(declaration, name, value)
            fields.add(name)
        if move.to_status == Status.RELEASED:
            # Whichever step releases the goods (nothing due, payment confirmed, a
            # movement released under seal): an export's time to exit runs from here.
            declaration.released_at = now
            fields.add("released_at")
        # Field checks only: the unique and check constraints and the foreign
        # keys (which no move changes) are the database's; asking them here
        # would cost a query each on every move.
        declaration.full_clean(
            exclude=TRANSITION_UNCHECKED, validate_unique=False, validate_constraints=False
        )
        notice = STATUS_NOTICES[move.to_status] if move.notice == "" else move.notice
        events.append(
            audit_entry(
                declaration, actor=actor, action="status", from_status=from_status,
                to_status=move.to_status, reason=move.reason, data=move.data,
                notice=notice or "",
            )
        )  # fmt: skip
        if move.notice is not None:
            notices.append((declaration, notice, move.to_status))
    if len(moves) == 1:
        moves[0].declaration.save(update_fields=sorted(fields))
    else:
        Declaration.objects.bulk_update([m.declaration for m in moves], sorted(fields))
    audit_append(events)
    declarants_tell(notices=notices, actor=actor)


def declarations_destination_inspection_require(
    *, reasons: list[tuple[Declaration, str, dict]], actor=None
) -> None:
    """Oblige the office of destination to inspect the goods of transit movements
    (locked by the caller) before it discharges them, for what their seals or
    sensors reported: (movement, reason, data) each, one audit entry per reason,
    the flag set once. Officers' record only: the declarant is not told, as the
    alerts are targeting. Constant statements for any number."""
    now = timezone.now()
    flagged = set()
    entries = []
    for declaration, reason, data in reasons:
        if declaration.type != Declaration.Type.TRANSIT:
            raise ValueError(f"{declaration} is not a transit movement")
        if not declaration.destination_inspection_required:
            declaration.destination_inspection_required = True
            declaration.updated_at = now
            flagged.add(declaration.pk)
        entries.append(
            audit_entry(
                declaration,
                actor=actor,
                action="destination_inspection_required",
                reason=reason,
                data=data,
            )
        )
    if flagged:
        Declaration.objects.filter(pk__in=flagged).update(
            destination_inspection_required=True, updated_at=now
        )
    audit_append(entries)


def declaration_lane_set(
    *, declaration: Declaration, lane: str, actor, reason: str, notice: str
) -> Declaration:
    """Change the lane of a declaration locked by the caller, with its audit entry.

    Who may, and what else follows, is the clearance process's
    (clearance.services.lanes_apply); this is the declaration's own record.
    """
    if not declaration.is_under_review:
        raise InvalidTransition(
            f"The lane of a {declaration.get_status_display().lower()} declaration cannot change."
        )
    previous = declaration.lane
    declaration.lane = lane
    declaration.full_clean(
        exclude=TRANSITION_UNCHECKED, validate_unique=False, validate_constraints=False
    )
    declaration.save(update_fields=["lane", "updated_at"])
    event_append(
        declaration=declaration,
        actor=actor,
        action="lane_changed",
        reason=reason,
        data={"from": previous, "to": lane},
        notice=notice,
    )
    declarants_tell(notices=[(declaration, notice, "lane_changed")], actor=actor)
    return declaration


def declarations_divert_locked(
    *,
    declarations: list[Declaration],
    to_office: str,
    closure,
    reason: str,
    actor,
    moved_reviews: dict[int, list[str]],
) -> list[OfficeDiversion]:
    """Move declarations the caller has locked from their closed control office to
    `to_office`: the office field changes, each move is recorded (an OfficeDiversion
    and an entry of the declaration's audit trail) and the declarant is told where to
    present the goods now. `moved_reviews`: the agencies whose reviews moved with each
    declaration (agencies.services.reviews_move_office). Constant statements.

    Which declarations may move, and to where, is the clearance process's
    (clearance.continuity.declarations_divert).
    """
    now = timezone.now()
    fields = {"updated_at"}
    diversions, events, notices = [], [], []
    for declaration in declarations:
        field = declaration.control_office_field
        from_office = getattr(declaration, field)
        setattr(declaration, field, to_office)
        declaration.updated_at = now
        fields.add(field)
        declaration.full_clean(
            exclude=TRANSITION_UNCHECKED, validate_unique=False, validate_constraints=False
        )
        reviews = moved_reviews.get(declaration.pk, [])
        diversion = OfficeDiversion(
            declaration=declaration,
            field=field,
            from_office=from_office,
            to_office=to_office,
            closure=closure,
            reason=reason,
            reviews=reviews,
            diverted_by=actor,
            diverted_at=now,
        )
        diversion.full_clean(
            exclude=["declaration", "closure", "diverted_by"], validate_constraints=False
        )
        diversions.append(diversion)
        notice = (
            f"Customs office {office_label(from_office)} is closed: the declaration is now "
            f"handled by {office_label(to_office)}. Present the goods and their documents "
            "there."
        )
        events.append(
            audit_entry(
                declaration, actor=actor, action="office_diverted", reason=reason,
                data={"field": field, "from": from_office, "to": to_office,
                      "closure": closure.pk, "reviews": reviews},
                notice=notice,
            )
        )  # fmt: skip
        notices.append((declaration, notice, "office_diverted"))
    if not declarations:
        return []
    Declaration.objects.bulk_update(declarations, sorted(fields))
    created = OfficeDiversion.objects.bulk_create(diversions)
    audit_append(events)
    declarants_tell(notices=notices, actor=actor)
    return created


def _save_live(declaration: Declaration) -> None:
    """Save a declaration that holds its invoice number.

    The database's unique constraint is what keeps one live declaration per
    invoice and trader, concurrent filings included; the error it raises is
    reported on the field, naming the declaration that holds the invoice.
    Asking first would cost a query on every filing to catch a rare mistake.
    """
    try:
        with transaction.atomic():
            declaration.save()
    except IntegrityError as exc:
        diag = getattr(exc.__cause__, "diag", None)
        if diag is None or diag.constraint_name != "unique_live_invoice_per_company":
            raise
        errors = duplicate_errors(declaration) or {
            "invoice_number": [f"Invoice {declaration.invoice_number} is already declared."]
        }
        raise ValidationError(dict(errors)) from exc


def ensure_declarant(actor, declaration: Declaration) -> None:
    """Only a trader of the declaring company acts for it."""
    if not (actor.is_trader and actor.company_id == declaration.company_id):
        raise PermissionDenied


HEADER_FIELDS = (
    "type", "procedure", "importer_name", "importer_tax_id", "exporter_name", "exporter_country",
    "consignor_name", "consignee_name", "country_of_export", "country_of_origin",
    "country_of_destination", "office_of_entry", "office_of_departure", "office_of_exit",
    "office_of_destination", "itinerary", "guarantee_reference", "transit_days",
    "transport_mode", "transport_document", "invoice_number", "currency", "incoterm",
    "invoice_total", "freight", "insurance", "packages", "gross_mass_kg", "documents_follow",
)  # fmt: skip
ITEM_FIELDS = (
    "hs_code", "description", "origin_country", "quantity", "unit", "net_mass_kg",
    "gross_mass_kg", "value", "preference", "certificate_of_origin",
)  # fmt: skip


def _with_procedure(header: dict, *, type: str = Declaration.Type.IMPORT) -> dict:
    """The header as filed, under the usual procedure of its type when it names none
    (validation.DEFAULT_PROCEDURE): the model's default, 4000, is an import's, and an
    export or a transit movement filed without a procedure would be refused for it.
    `type` is the declaration's when the header does not say (a draft edited)."""
    if header.get("procedure"):
        return header
    # An unknown type falls back to 4000; its own error names the type.
    procedure = DEFAULT_PROCEDURE.get(header.get("type") or type, "4000")
    return {**header, "procedure": procedure}


def _build_items(
    declaration: Declaration, items: list[dict]
) -> tuple[list[Item], list[list[dict]]]:
    built, permits = [], []
    for index, fields in enumerate(items):
        values = {k: v for k, v in fields.items() if k in ITEM_FIELDS}
        built.append(Item(declaration=declaration, line_no=index + 1, **values))
        permits.append(list(fields.get("permits") or []))
    return built, permits


def _apply_duties(declaration: Declaration, items: list[Item], *, on) -> None:
    """The duties, and the relief they get: a declaration is a relief consignment
    when an emergency in force now covers it (checked again at lodgement: the
    emergency may have ended since the draft was saved)."""
    emergency = relief_for(declaration, items)
    declaration.emergency = emergency
    relief = emergency is not None and emergency.duty_relief
    assessment = assess_duties(declaration, items, on=on, relief=relief)
    declaration.duties_relieved = assessment.relieved
    declaration.exchange_rate = assessment.exchange_rate
    declaration.customs_value_total = assessment.customs_value
    declaration.duty_total = assessment.duty
    declaration.vat_total = assessment.vat
    for item, duty in zip(items, assessment.items, strict=True):
        item.customs_value = duty.customs_value
        item.duty_rate = duty.duty_rate
        item.duty_amount = duty.duty
        item.vat_amount = duty.vat


ITEM_DUTY_FIELDS = ("customs_value", "duty_rate", "duty_amount", "vat_amount")


def _update_duties(declaration: Declaration, items: list[Item], *, on) -> None:
    """Recompute stored duties; write the items only when a figure changed (the
    usual case is the same rates as when the draft was saved)."""
    before = [tuple(getattr(item, f) for f in ITEM_DUTY_FIELDS) for item in items]
    _apply_duties(declaration, items, on=on)
    changed = [
        item
        for item, old in zip(items, before, strict=True)
        if tuple(getattr(item, f) for f in ITEM_DUTY_FIELDS) != old
    ]
    if changed:
        Item.objects.bulk_update(changed, ITEM_DUTY_FIELDS)


def _store_items(declaration: Declaration, items: list[Item], permits: list[list[dict]]) -> None:
    for item in items:
        item.declaration = declaration
    Item.objects.bulk_create(items)
    if not any(permits):
        return
    agencies = lookups.agency_ids()
    ItemPermit.objects.bulk_create(
        ItemPermit(item=item, agency_id=agencies[p["agency"]], reference=p["reference"])
        for item, item_permits in zip(items, permits, strict=True)
        for p in item_permits
    )


@dataclass
class DeclarationPreview:
    """What the form and the validate API tell before lodging: the duties, and whether an
    emergency in force makes the declaration a relief consignment (or why not)."""

    duties: DutyAssessment
    relief: ReliefCheck


def declaration_preview(
    *, actor, header: dict, items: list[dict], pk: int | None = None
) -> DeclarationPreview:
    """Validate a complete declaration without storing anything; return its duties as
    they would be if it were lodged now (with the relief an emergency gives it)."""
    if not actor.is_trader:
        raise PermissionDenied
    header = _with_procedure(header)
    declaration = Declaration(pk=pk, company_id=actor.company_id, created_by=actor, **header)
    built, permits = _build_items(declaration, items)
    today = timezone.localdate()
    validate_lodgement(declaration, built, permits, on=today)
    relief = relief_check(declaration, built)
    duty_relief = relief.relief and relief.emergency.duty_relief
    duties = assess_duties(declaration, built, on=today, relief=duty_relief)
    return DeclarationPreview(duties=duties, relief=relief)


@transaction.atomic
def declaration_create(
    *, actor, header: dict, items: list[dict], lodge: bool = False
) -> Declaration:
    """Create a draft for the actor's company. Nothing is stored if anything is invalid.

    With `lodge`, the declaration is checked against every lodgement rule and
    stored already submitted: what a trader's own software does when it files
    in one message, without a draft in between. Its risk assessment is the
    clearance process's (clearance.services.declaration_lodge).
    """
    if not actor.is_trader:
        raise PermissionDenied
    header = _with_procedure(header)
    declaration = Declaration(company_id=actor.company_id, created_by=actor, **header)
    if lodge:
        declaration.status = Status.SUBMITTED
        declaration.submitted_at = timezone.now()
    built, permits = _build_items(declaration, items)
    validate = validate_lodgement if lodge else validate_draft
    on = declaration.acceptance_day
    validate(declaration, built, permits, on=on, duplicates=False)
    _apply_duties(declaration, built, on=on)
    _save_live(declaration)
    _store_items(declaration, built, permits)
    grant(group_id=actor.company.group_id, obj=declaration, perms=DECLARATION_PERMS)
    entry = audit_entry(
        declaration,
        actor=actor,
        action="lodged" if lodge else "created",
        to_status=declaration.status,
        notice=lodged_notice(declaration) if lodge else STATUS_NOTICES[declaration.status],
    )
    audit_append([entry], first=True)
    return declaration


@transaction.atomic
def declaration_update(
    *, actor, declaration: Declaration, header: dict, items: list[dict]
) -> Declaration:
    """Replace a draft's header and items. Documents stay with the declaration."""
    ensure_declarant(actor, declaration)
    declaration = Declaration.objects.select_for_update().get(pk=declaration.pk)
    if not declaration.is_draft:
        raise InvalidTransition("Only a draft can be edited; amend a lodged declaration.")
    header = _with_procedure(header, type=declaration.type)
    for field, value in header.items():
        setattr(declaration, field, value)
    built, permits = _build_items(declaration, items)
    today = timezone.localdate()
    validate_draft(declaration, built, permits, on=today, duplicates=False)
    _apply_duties(declaration, built, on=today)
    _save_live(declaration)
    declaration.items.all().delete()
    _store_items(declaration, built, permits)
    event_append(declaration=declaration, actor=actor, action="edited", notice="Draft edited.")
    return declaration


def _permits_of(items: list[Item]) -> list[list[dict]]:
    """Each item's permits as filed ({"agency": code, "reference": ...}), in one query."""
    of_item: dict[int, list[dict]] = {item.pk: [] for item in items}
    permits = ItemPermit.objects.filter(item__in=items).order_by("pk")
    for item_id, agency, reference in permits.values_list("item_id", "agency__code", "reference"):
        of_item[item_id].append({"agency": agency, "reference": reference})
    return [of_item[item.pk] for item in items]


def _item_input(item: Item) -> dict:
    values = {field: getattr(item, field) for field in ITEM_FIELDS}
    values["permits"] = [
        {"agency": p.agency.code, "reference": p.reference} for p in item.permits.all()
    ]
    return values


def declaration_items_input(declaration: Declaration) -> list[dict]:
    items = declaration.items.prefetch_related("permits__agency").order_by("line_no")
    return [_item_input(item) for item in items]


@transaction.atomic
def declaration_item_add(*, actor, declaration: Declaration, item: dict) -> Declaration:
    header = {field: getattr(declaration, field) for field in HEADER_FIELDS}
    items = [*declaration_items_input(declaration), item]
    return declaration_update(actor=actor, declaration=declaration, header=header, items=items)


@transaction.atomic
def declaration_mark_submitted(*, declaration: Declaration, actor) -> Declaration:
    """Lodge a draft: every lodgement rule checked again (reference data may have
    changed since the draft was saved), duties computed, the draft submitted.

    The clearance process queues its risk assessment (clearance.services.declaration_submit).
    """
    ensure_declarant(actor, declaration)
    locked = Declaration.objects.select_for_update().get(pk=declaration.pk)
    locked.ensure_may_become(Status.SUBMITTED)
    items = list(locked.items.order_by("line_no"))
    permits = _permits_of(items)
    now = timezone.now()
    on = timezone.localdate(now)
    validate_lodgement(locked, items, permits, on=on, duplicates=False)
    _update_duties(locked, items, on=on)
    changes = {
        "submitted_at": now,
        "exchange_rate": locked.exchange_rate,
        "customs_value_total": locked.customs_value_total,
        "duty_total": locked.duty_total,
        "vat_total": locked.vat_total,
        "emergency": locked.emergency,
        "duties_relieved": locked.duties_relieved,
    }
    data = {"relief": locked.emergency.name} if locked.emergency else None
    notice = lodged_notice(locked)
    move = Move(locked, Status.SUBMITTED, data=data, changes=changes, notice=notice)
    declarations_move_locked(moves=[move], actor=actor)
    return locked


@transaction.atomic
def declaration_version_create(
    *, actor, declaration: Declaration, header: dict, items: list[dict], reason: str = ""
) -> tuple[Declaration, Declaration]:
    """Replace a lodged declaration by a new version, lodged at once.

    Returns (the replaced version, locked and now amended; the new version).
    The replaced version keeps its items, documents, decisions and audit
    trail and stays readable. Closing its reviews and assessing the new one
    are the clearance process's (clearance.services.declaration_amend).
    """
    ensure_declarant(actor, declaration)
    old = Declaration.objects.select_for_update().get(pk=declaration.pk)
    if not old.may_become(Status.AMENDED):
        raise InvalidTransition(
            f"A {old.get_status_display().lower()} declaration cannot be amended."
        )
    header = _with_procedure(header)
    new = Declaration(
        company_id=old.company_id,
        created_by=actor,
        version=old.version + 1,
        previous_version=old,
        first_version_id=old.first_version_id or old.pk,
        **header,
    )
    # An amendment is a new acceptance: its day's rates apply, not the first version's.
    new.submitted_at = timezone.now()
    built, permits = _build_items(new, items)
    on = new.acceptance_day
    validate_lodgement(new, built, permits, on=on, duplicates=False)
    declaration_transition(
        declaration_id=old.pk,
        locked=old,
        to_status=Status.AMENDED,
        actor=actor,
        reason=reason or f"replaced by version {new.version}",
        notice=f"Replaced by version {new.version}" + (f": {reason}" if reason else "."),
    )
    _apply_duties(new, built, on=on)
    new.status = Status.SUBMITTED
    _save_live(new)
    _store_items(new, built, permits)
    _carry_documents(old, new, built)
    grant(group_id=actor.company.group_id, obj=new, perms=DECLARATION_PERMS)
    event_append(
        declaration=new,
        actor=actor,
        action="amended",
        reason=reason,
        data={"replaces": old.pk, "version": new.version},
        notice=f"Lodged as version {new.version}, amending version {old.version}.",
        first=True,
    )
    return old, new


def _carry_documents(old: Declaration, new: Declaration, new_items: list[Item]) -> None:
    """The new version keeps the documents already lodged (same stored file), and what
    the machine read on its invoices."""
    by_line = {item.line_no: item for item in new_items}
    documents = list(old.documents.select_related("item", "invoice_reading"))
    copies = Document.objects.bulk_create(
        Document(
            declaration=new,
            item=by_line.get(doc.item.line_no) if doc.item_id else None,
            kind=doc.kind,
            file=doc.file.name,
            original_name=doc.original_name,
            content_type=doc.content_type,
            size=doc.size,
            sha256=doc.sha256,
            uploaded_by_id=doc.uploaded_by_id,
            uploaded_at=doc.uploaded_at,
        )
        for doc in documents
    )
    readings = []
    for doc, copy in zip(documents, copies, strict=True):
        reading = getattr(doc, "invoice_reading", None)
        if reading is not None:
            reading.pk, reading.document = None, copy
            readings.append(reading)
    InvoiceReading.objects.bulk_create(readings)
    for reading in readings:
        if reading.status == InvoiceReading.Status.PENDING:
            _queue_invoice_reading(reading.pk)


def declarations_assess_locked(*, declarations: list[Declaration], actor) -> None:
    """Assess declarations the caller has locked, cleared by every agency: the duties
    and taxes computed on the day of acceptance, with any reassessment, become due.
    A declaration with nothing due is released at once, except a transit movement:
    an officer of its office of departure releases it under seal
    (clearance.transit). Constant statements.

    The figures are not computed again: the rates that apply are those of the
    day the declaration was accepted (lodged), which is when they were computed.
    """
    now = timezone.now()
    moves = []
    for declaration in declarations:
        due = declaration.total_due
        notice = None
        if due:
            notice = (
                f"Cleared by every agency: {due:,.2f} {settings.NATIONAL_CURRENCY} of "
                "duties and taxes are due."
            )
        elif declaration.is_transit:
            notice = (
                "Cleared by every agency: the office of departure "
                f"{declaration.office_of_departure} releases the goods under seal."
            )
        moves.append(
            Move(
                declaration,
                Status.ASSESSED,
                data={
                    "duty": str(declaration.duty_total),
                    "vat": str(declaration.vat_total),
                    "additional": str(declaration.additional_due),
                },
                changes={"assessed_at": now},
                notice=notice,
            )
        )
        if not due and not declaration.is_transit:
            moves.append(
                Move(
                    declaration,
                    Status.RELEASED,
                    reason="cleared by every agency, nothing due",
                    notice=release_notice(declaration, nothing_due=True),
                )
            )
    declarations_move_locked(moves=moves, actor=actor)


@transaction.atomic
def declaration_assess(*, declaration_id: int, actor) -> Declaration:
    """Every agency has approved and customs' lane work is done: what is due becomes due."""
    locked = Declaration.objects.select_for_update().get(pk=declaration_id)
    declarations_assess_locked(declarations=[locked], actor=actor)
    return locked


def declaration_reassess(
    *, declaration: Declaration, amount: Decimal, actor, reason: str, notice: str
) -> Declaration:
    """Add duties and taxes an inspection found missing to what the declaration (locked
    by the caller) owes, before it is assessed; the declarant is told."""
    if amount <= 0:
        raise ValidationError({"revenue_difference": "A reassessment adds a positive amount."})
    if not declaration.may_become(Status.ASSESSED):
        raise InvalidTransition(
            f"A {declaration.get_status_display().lower()} declaration cannot be reassessed."
        )
    before = declaration.additional_due
    declaration.additional_due = before + amount
    declaration.full_clean(
        exclude=TRANSITION_UNCHECKED, validate_unique=False, validate_constraints=False
    )
    declaration.save(update_fields=["additional_due", "updated_at"])
    event_append(
        declaration=declaration,
        actor=actor,
        action="reassessed",
        reason=reason,
        data={"added": str(amount), "additional_due": str(declaration.additional_due)},
        notice=notice,
    )
    declarants_tell(notices=[(declaration, notice, "reassessed")], actor=actor)
    return declaration


# --- Payments -------------------------------------------------------------------------------


def _payment_reference() -> str:
    # Random rather than sequential: a reference seen on one order tells nothing
    # of the others, and the unique constraint catches the unlikely repeat.
    return f"PAY-{timezone.now():%Y}-{secrets.token_hex(5).upper()}"


@transaction.atomic
def payment_order_issue(*, declaration: Declaration, actor) -> tuple[Payment, bool]:
    """The payment order of an assessed declaration's duties and taxes, and whether it
    is new: asking again returns the same pending order, never a second one. The
    declaration stays assessed until the bank or a cashier confirms the payment."""
    ensure_declarant(actor, declaration)
    locked = Declaration.objects.select_for_update().get(pk=declaration.pk)
    if not (locked.may_become(Status.PAID) and locked.total_due):
        raise InvalidTransition(
            f"A {locked.get_status_display().lower()} declaration has nothing to pay."
        )
    payment = Payment.objects.filter(declaration=locked).first()
    if payment is not None:
        if payment.status != Payment.Status.PENDING:
            raise InvalidTransition(
                f"The duties were paid already (receipt {payment.receipt_number})."
            )
        if payment.amount != locked.total_due:
            # Reassessed since the order was issued: the order asks for what is due now,
            # so a payment of the old amount is refused rather than confirmed.
            payment.amount = locked.total_due
            payment.full_clean()
            payment.save(update_fields=["amount"])
        return payment, False
    payment = Payment(
        declaration=locked,
        reference=_payment_reference(),
        amount=locked.total_due,
        currency=settings.NATIONAL_CURRENCY,
        recorded_by=actor,
    )
    payment.full_clean()
    payment.save()
    event_append(
        declaration=locked,
        actor=actor,
        action="payment_ordered",
        data={"payment_reference": payment.reference, "amount": str(payment.amount)},
        notice=f"Payment order {payment.reference} of {payment.amount:,.2f} "
        f"{payment.currency} issued.",
    )
    return payment, True


# The fields a confirmation sets, besides the status.
PAYMENT_CONFIRMATION_FIELDS = ("paid_at", "source", "bank_reference", "confirmed_by")


@transaction.atomic
def payment_transition(
    *, payment: Payment, to_status: str, actor, reason: str = "", changes: dict | None = None
) -> Payment:
    """The only way a payment changes status; the caller holds its declaration's lock.
    Confirming it issues the receipt number."""
    payment.ensure_may_become(to_status)
    changes = changes or {}
    if set(changes) - set(PAYMENT_CONFIRMATION_FIELDS):
        raise ValueError(f"not a payment confirmation field: {sorted(changes)}")
    payment.status = to_status
    for name, value in changes.items():
        setattr(payment, name, value)
    if to_status == Payment.Status.CONFIRMED:
        payment.confirmed_at = timezone.now()
        # One payment per order, so the order's id numbers its receipt.
        payment.receipt_number = f"RCT-{payment.confirmed_at:%Y}-{payment.pk:08d}"
    payment.full_clean()
    payment.save(update_fields=["status", "confirmed_at", "receipt_number", *changes])
    event_append(
        declaration=payment.declaration,
        actor=actor,
        action="payment",
        reason=reason,
        data={
            "payment": payment.pk,
            "reference": payment.reference,
            "status": to_status,
            "receipt_number": payment.receipt_number,
            **{k: str(v) for k, v in changes.items() if k != "confirmed_by"},
        },
        # The declarant reads the confirmation in the move to paid.
        notice="",
    )
    return payment


# --- Transit movements: what the office of destination records -----------------------------
# The moves themselves (arrived, discharged) and who may record what are the
# clearance process's (clearance.transit); these keep the records, in the
# declaration's trail for officers only: the declarant reads the moves' notices.


def transit_arrival_create(
    *,
    declaration: Declaration,
    actor,
    arrived_at,
    seals_intact: bool,
    seal_numbers_found: list[str],
    discrepancies: str = "",
) -> TransitArrival:
    """Record what the office of destination found when the movement (locked by the
    caller) arrived."""
    arrival = TransitArrival(
        declaration=declaration,
        arrived_at=arrived_at,
        recorded_by=actor,
        recorded_at=timezone.now(),
        seals_intact=seals_intact,
        seal_numbers_found=seal_numbers_found,
        discrepancies=discrepancies.strip(),
    )
    arrival.full_clean(exclude=["declaration"], validate_constraints=False)
    arrival.save()
    return arrival


def transit_control_set(*, arrival: TransitArrival, actor, result: str, notes: str = ""):
    """Record the result of the control of the goods at destination (the caller holds
    the declaration's lock)."""
    arrival.control_result = result
    arrival.control_notes = notes.strip()
    arrival.controlled_by = actor
    arrival.controlled_at = timezone.now()
    arrival.full_clean(exclude=["declaration"], validate_constraints=False)
    arrival.save(
        update_fields=["control_result", "control_notes", "controlled_by", "controlled_at"]
    )
    event_append(
        declaration=arrival.declaration,
        actor=actor,
        action="destination_control",
        reason=arrival.control_notes,
        data={"result": result},
    )
    return arrival


def transit_discrepancies_set_resolved(*, arrival: TransitArrival, actor, resolution: str):
    """Record how a supervisor settled an arrival's discrepancies (the caller holds the
    declaration's lock and has checked who may)."""
    arrival.resolution = resolution.strip()
    arrival.resolved_by = actor
    arrival.resolved_at = timezone.now()
    arrival.full_clean(exclude=["declaration"], validate_constraints=False)
    arrival.save(update_fields=["resolution", "resolved_by", "resolved_at"])
    event_append(
        declaration=arrival.declaration,
        actor=actor,
        action="discrepancies_resolved",
        reason=arrival.resolution,
        data={"findings": arrival.findings(arrival.declaration)},
    )
    return arrival


@transaction.atomic
def document_upload(
    *,
    actor,
    declaration: Declaration,
    kind: str,
    upload,
    item_line_no: int | None = None,
    owed: bool = False,
) -> Document:
    """Attach a PDF, PNG or JPEG to the declaration or to one of its items.

    `owed`: the document is one a provisional relief declaration owes, which the
    declarant supplies after lodgement and release too (the caller,
    clearance.relief, has checked that it is owed)."""
    ensure_declarant(actor, declaration)
    limit = settings.DOCUMENT_MAX_BYTES
    if upload.size == 0:
        raise ValidationError({"file": "The file is empty."})
    if upload.size > limit:
        raise ValidationError(
            {"file": f"The file is {upload.size:,} bytes; the limit is {limit:,} bytes."}
        )
    # Parsing a large PDF takes a while: done before the declaration's row is locked.
    content_type = document_content_type(upload)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    declaration = Declaration.objects.select_for_update().get(pk=declaration.pk)
    if not (declaration.accepts_documents or owed):
        raise InvalidTransition(
            f"Documents cannot be added to a {declaration.get_status_display().lower()} "
            "declaration."
        )
    item = None
    if item_line_no is not None:
        item = declaration.items.filter(line_no=item_line_no).first()
        if item is None:
            raise ValidationError({"item": f"The declaration has no item {item_line_no}."})
    document = Document(
        declaration=declaration,
        item=item,
        kind=kind,
        original_name=(upload.name or "document")[-200:],
        content_type=content_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        uploaded_by=actor,
        uploaded_at=timezone.now(),
    )
    upload.seek(0)
    document.file.save(document.sha256, upload, save=False)
    try:
        document.full_clean()
        document.save()
        on_item = f", item {item_line_no}" if item_line_no is not None else ""
        event_append(
            declaration=declaration,
            actor=actor,
            action="document_added",
            data={"kind": kind, "item": item_line_no, "sha256": document.sha256},
            notice=f"Document added: {document.get_kind_display().lower()}{on_item}.",
        )
        if kind == Document.Kind.INVOICE:
            _invoice_reading_open(document)
    except BaseException:
        # The file is on disk before its row: when the row is not stored, the
        # file goes too, rather than stay behind unowned.
        document.file.delete(save=False)
        raise
    return document


# --- Invoices read by the machine -----------------------------------------------------------

PICTURE_NOTE = (
    "A picture, not a PDF with text: the platform does not read text in pictures. "
    "Upload the invoice as the PDF its issuer made, if you have it."
)


def _queue_invoice_reading(reading_id: int) -> None:
    """Read the invoice once the upload commits. If the broker is down the upload still
    stands: the sweeper finds the reading pending and queues it."""
    from declarations.tasks import read_invoice

    transaction.on_commit(lambda: read_invoice.delay(reading_id), robust=True)


def _invoice_reading_open(document: Document) -> InvoiceReading:
    """The reading of an invoice just uploaded, in the upload's transaction. A picture
    is not readable at once; a PDF is read by a worker after the commit."""
    now = timezone.now()
    if document.content_type != PDF:
        reading = InvoiceReading(
            document=document,
            status=InvoiceReading.Status.NOT_READABLE,
            notes=[PICTURE_NOTE],
            read_at=now,
        )
    else:
        reading = InvoiceReading(document=document, created_at=now)
    reading.full_clean(exclude=["document"])
    reading.save()
    if reading.status == InvoiceReading.Status.PENDING:
        _queue_invoice_reading(reading.pk)
    return reading


def _reader_name() -> str:
    import pdfplumber

    return f"pdfplumber {pdfplumber.__version__}"


def invoice_reading_perform(*, reading_id: int) -> InvoiceReading | None:
    """Read a pending invoice and record what it says; None when it is read already.

    Safe to run twice (a redelivered message, the sweeper): the attempt is claimed
    with a guarded update, and only a pending reading is recorded. Attempts are
    counted before reading, in their own commit, so a file that kills the worker
    is given up after INVOICE_READ_MAX_ATTEMPTS instead of coming back forever.
    A file that cannot be read is recorded as such; the upload stands whatever
    happens here.
    """
    from django.db.models import F

    from declarations.reading.invoice import NotReadable, ReadingTooLong, read_invoice_pdf

    claimed = InvoiceReading.objects.filter(
        pk=reading_id, status=InvoiceReading.Status.PENDING
    ).update(attempts=F("attempts") + 1)
    if not claimed:
        return None
    reading = InvoiceReading.objects.select_related("document").get(pk=reading_id)
    if reading.attempts > settings.INVOICE_READ_MAX_ATTEMPTS:
        return invoice_reading_record(
            reading_id=reading_id,
            status=InvoiceReading.Status.FAILED,
            notes=[f"Reading was given up after {reading.attempts - 1} attempts."],
        )
    # A storage that does not answer raises here: the task tries again later.
    with reading.document.file.open("rb") as stored:
        data = stored.read()
    started = time.perf_counter()
    try:
        result = read_invoice_pdf(
            data,
            max_pages=settings.INVOICE_READ_MAX_PAGES,
            budget_seconds=settings.INVOICE_READ_BUDGET_SECONDS,
        )
    except NotReadable as exc:
        return invoice_reading_record(
            reading_id=reading_id,
            status=InvoiceReading.Status.NOT_READABLE,
            notes=[str(exc)],
            duration_ms=_elapsed_ms(started),
        )
    except ReadingTooLong as exc:
        return invoice_reading_record(
            reading_id=reading_id,
            status=InvoiceReading.Status.FAILED,
            notes=[f"Reading took too long. {exc}"],
            duration_ms=_elapsed_ms(started),
        )
    except Exception as exc:
        # pdfminer on a PDF it does not understand: the same again next time.
        logger.warning("invoice reading %s failed: %s: %s", reading_id, type(exc).__name__, exc)
        return invoice_reading_record(
            reading_id=reading_id,
            status=InvoiceReading.Status.FAILED,
            notes=["The PDF could not be read."],
            duration_ms=_elapsed_ms(started),
        )
    facts = result.facts
    notes = list(facts.notes)
    total = _storable_total(facts.total, notes)
    try:
        return invoice_reading_record(
            reading_id=reading_id,
            status=InvoiceReading.Status.READ,
            fields={
                "invoice_number": facts.number,
                "invoice_date": facts.date,
                "seller": facts.seller,
                "buyer": facts.buyer,
                "currency": facts.currency,
                "total": total,
                "lines": [line.as_json() for line in facts.lines],
            },
            notes=notes,
            pages=result.pages,
            duration_ms=_elapsed_ms(started),
        )
    except ValidationError as exc:
        # Something read that no invoice says (a currency that is no code...): kept out.
        logger.warning("invoice reading %s not stored: %s", reading_id, exc.message_dict)
        return invoice_reading_record(
            reading_id=reading_id,
            status=InvoiceReading.Status.FAILED,
            notes=["What was read on it does not make sense as an invoice."],
            duration_ms=_elapsed_ms(started),
        )


# The largest total InvoiceReading.total holds (18 digits, 2 after the point).
MAX_TOTAL = Decimal("9999999999999999.99")


def _storable_total(total: Decimal | None, notes: list[str]) -> Decimal | None:
    """The total in cents (an invoice printing more decimals is rounded), or None when
    no invoice could be that large."""
    if total is None:
        return None
    if abs(total) > MAX_TOTAL:
        notes.append(f"The total read, {total}, is too large to be one; it is left out.")
        return None
    return total.quantize(Decimal("0.01"))


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


READING_FIELDS = (
    "invoice_number", "invoice_date", "seller", "buyer", "currency", "total", "lines",
)  # fmt: skip


@transaction.atomic
def invoice_reading_record(
    *,
    reading_id: int,
    status: str,
    fields: dict | None = None,
    notes: list[str] | None = None,
    pages: int = 0,
    duration_ms: int | None = None,
) -> InvoiceReading | None:
    """The only way a reading changes status: what was read, once. None when another
    attempt recorded it first."""
    reading = (
        InvoiceReading.objects.select_for_update()
        .filter(pk=reading_id, status=InvoiceReading.Status.PENDING)
        .first()
    )
    if reading is None:
        return None
    reading.ensure_may_become(status)
    fields = fields or {}
    if set(fields) - set(READING_FIELDS):
        raise ValueError(f"not a reading field: {sorted(set(fields) - set(READING_FIELDS))}")
    for name, value in fields.items():
        setattr(reading, name, value)
    reading.status = status
    reading.notes = list(notes or [])
    reading.pages = pages
    reading.duration_ms = duration_ms
    reading.reader = _reader_name()
    reading.read_at = timezone.now()
    reading.full_clean(exclude=["document"], validate_constraints=False)
    reading.save()
    return reading

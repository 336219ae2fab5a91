import hashlib
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import InvalidTransition
from core.permissions import grant
from declarations.audit import GENESIS_HASH, event_hash
from declarations.duties import assess_duties
from declarations.models import Declaration, DeclarationEvent, Document, Item, ItemPermit, Payment
from declarations.validation import duplicate_errors, validate_draft, validate_lodgement
from reference import lookups

Status = Declaration.Status

# Every status a declaration may move to from each status. A move that is not
# here is refused, whoever asks.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED, Status.CANCELLED}),
    Status.SUBMITTED: frozenset(
        {Status.UNDER_REVIEW, Status.HELD, Status.REJECTED, Status.AMENDED}
    ),
    Status.UNDER_REVIEW: frozenset(
        {
            Status.QUERIED,
            Status.ASSESSED,
            Status.HELD,
            Status.REJECTED,
            Status.CANCELLED,
            Status.AMENDED,
        }
    ),
    Status.QUERIED: frozenset(
        {Status.UNDER_REVIEW, Status.REJECTED, Status.CANCELLED, Status.AMENDED}
    ),
    Status.ASSESSED: frozenset({Status.PAID, Status.HELD, Status.CANCELLED, Status.AMENDED}),
    Status.PAID: frozenset({Status.RELEASED, Status.HELD}),
    Status.HELD: frozenset({Status.UNDER_REVIEW, Status.REJECTED, Status.AMENDED}),
    Status.RELEASED: frozenset(),
    Status.REJECTED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.AMENDED: frozenset(),
}

DECLARATION_PERMS = ("declarations.view_declaration", "declarations.change_declaration")
TRANSITION_UNCHECKED = ("company", "created_by", "previous_version", "first_version")


def _chain(events: list[DeclarationEvent], *, first: bool = False) -> list[DeclarationEvent]:
    """Link new (unsaved) entries to the end of their declarations' audit chains.

    `first` says the declarations were inserted in this transaction, so their
    chains start here and there is no earlier entry to read. The caller holds
    the declarations' row locks, so no other entry can be appended meanwhile.
    """
    heads: dict[int, tuple[int, str]] = {}
    if not first:
        heads = {
            declaration_id: (seq, hash_)
            for declaration_id, seq, hash_ in DeclarationEvent.objects.filter(
                declaration_id__in={e.declaration_id for e in events}
            )
            .order_by("declaration_id", "-seq")
            .distinct("declaration_id")
            .values_list("declaration_id", "seq", "hash")
        }
    for event in events:
        seq, prev_hash = heads.get(event.declaration_id, (0, GENESIS_HASH))
        event.seq, event.prev_hash = seq + 1, prev_hash
        event.hash = event_hash(event)
        heads[event.declaration_id] = (event.seq, event.hash)
    return events


def _event(declaration, *, actor, action, from_status="", to_status="", reason="", data=None):
    return DeclarationEvent(
        declaration=declaration,
        at=timezone.now(),
        actor_id=actor.pk if actor is not None else None,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        data=data or {},
    )


def event_append(
    *,
    declaration: Declaration,
    actor,
    action: str,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    data: dict | None = None,
    first: bool = False,
) -> DeclarationEvent:
    """Extend the declaration's audit chain. The caller holds the declaration's row lock."""
    event = _event(
        declaration, actor=actor, action=action, from_status=from_status,
        to_status=to_status, reason=reason, data=data,
    )  # fmt: skip
    _chain([event], first=first)
    event.save(force_insert=True)
    return event


@dataclass
class Move:
    """One status change of a declaration locked in the current transaction."""

    declaration: Declaration
    to_status: str
    reason: str = ""
    data: dict | None = None
    changes: dict = dataclass_field(default_factory=dict)


@transaction.atomic
def declaration_transition(
    *,
    declaration_id: int,
    to_status: str,
    actor,
    reason: str = "",
    data: dict | None = None,
    changes: dict | None = None,
    locked: Declaration | None = None,
) -> Declaration:
    """The only way a declaration changes status.

    Locks the row so concurrent moves are serialised per declaration, checks
    the move against ALLOWED_TRANSITIONS, applies `changes` (other fields set
    by the same move) and records the move in the audit chain. A caller that
    already holds the row locked in this transaction passes it as `locked`.
    """
    if locked is not None and locked.pk == declaration_id:
        declaration = locked
    else:
        declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    move = Move(declaration, to_status, reason, data, changes or {})
    declarations_move_locked(moves=[move], actor=actor)
    return declaration


def declarations_move_locked(*, moves: list[Move], actor) -> None:
    """Carry out moves of declarations the caller has locked, as declaration_transition
    does one: the same checks and audit entries, in a constant number of statements
    whatever the number of declarations (a worker deciding a batch).

    Runs in the caller's transaction (the one holding the locks), without a
    savepoint of its own: a refused move raises before anything is written.
    """
    now = timezone.now()
    fields = {"status", "updated_at"}
    events = []
    for move in moves:
        declaration = move.declaration
        from_status = declaration.status
        if move.to_status not in ALLOWED_TRANSITIONS[from_status]:
            raise InvalidTransition(
                f"A {declaration.get_status_display().lower()} declaration cannot become "
                f"{Status(move.to_status).label.lower()}.",
                extra={"status": from_status},
            )
        declaration.status = move.to_status
        declaration.updated_at = now
        for name, value in move.changes.items():
            setattr(declaration, name, value)
            fields.add(name)
        # Field checks only: the unique and check constraints and the foreign
        # keys (which no move changes) are the database's; asking them here
        # would cost a query each on every move.
        declaration.full_clean(
            exclude=TRANSITION_UNCHECKED, validate_unique=False, validate_constraints=False
        )
        events.append(
            _event(
                declaration, actor=actor, action="status", from_status=from_status,
                to_status=move.to_status, reason=move.reason, data=move.data,
            )
        )  # fmt: skip
    if len(moves) == 1:
        moves[0].declaration.save(update_fields=sorted(fields))
    else:
        Declaration.objects.bulk_update([m.declaration for m in moves], sorted(fields))
    DeclarationEvent.objects.bulk_create(_chain(events))


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


def _ensure_trader_of(actor, declaration: Declaration) -> None:
    if not (actor.is_trader and actor.company_id == declaration.company_id):
        raise PermissionDenied


HEADER_FIELDS = (
    "type", "procedure", "importer_name", "importer_tax_id", "exporter_name", "exporter_country",
    "consignor_name", "consignee_name", "country_of_export", "country_of_origin",
    "country_of_destination", "office_of_entry", "transport_mode", "transport_document",
    "invoice_number", "currency", "incoterm", "invoice_total", "freight", "insurance",
    "packages", "gross_mass_kg",
)  # fmt: skip
ITEM_FIELDS = (
    "hs_code", "description", "origin_country", "quantity", "unit", "net_mass_kg",
    "gross_mass_kg", "value", "preference", "certificate_of_origin",
)  # fmt: skip


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
    assessment = assess_duties(declaration, items, on=on)
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


def declaration_preview(*, actor, header: dict, items: list[dict], pk: int | None = None):
    """Validate a complete declaration without storing anything; return its duties."""
    if not actor.is_trader:
        raise PermissionDenied
    declaration = Declaration(pk=pk, company_id=actor.company_id, created_by=actor, **header)
    built, permits = _build_items(declaration, items)
    today = timezone.localdate()
    validate_lodgement(declaration, built, permits, on=today)
    return assess_duties(declaration, built, on=today)


@transaction.atomic
def declaration_create(
    *, actor, header: dict, items: list[dict], lodge: bool = False
) -> Declaration:
    """Create a draft for the actor's company. Nothing is stored if anything is invalid.

    With `lodge`, the declaration is checked against every lodgement rule and
    stored already submitted, with risk scoring queued: what a trader's own
    software does when it files in one message, without a draft in between.
    """
    if not actor.is_trader:
        raise PermissionDenied
    declaration = Declaration(company_id=actor.company_id, created_by=actor, **header)
    built, permits = _build_items(declaration, items)
    today = timezone.localdate()
    validate = validate_lodgement if lodge else validate_draft
    validate(declaration, built, permits, on=today, duplicates=False)
    _apply_duties(declaration, built, on=today)
    if lodge:
        declaration.status = Status.SUBMITTED
        declaration.submitted_at = timezone.now()
    _save_live(declaration)
    _store_items(declaration, built, permits)
    grant(group_id=actor.company.group_id, obj=declaration, perms=DECLARATION_PERMS)
    event_append(
        declaration=declaration,
        actor=actor,
        action="lodged" if lodge else "created",
        to_status=declaration.status,
        first=True,
    )
    if lodge:
        _queue_scoring(declaration.pk)
    return declaration


@transaction.atomic
def declaration_update(
    *, actor, declaration: Declaration, header: dict, items: list[dict]
) -> Declaration:
    """Replace a draft's header and items. Documents stay with the declaration."""
    _ensure_trader_of(actor, declaration)
    declaration = Declaration.objects.select_for_update().get(pk=declaration.pk)
    if declaration.status != Status.DRAFT:
        raise InvalidTransition("Only a draft can be edited; amend a lodged declaration.")
    for field, value in header.items():
        setattr(declaration, field, value)
    built, permits = _build_items(declaration, items)
    today = timezone.localdate()
    validate_draft(declaration, built, permits, on=today, duplicates=False)
    _apply_duties(declaration, built, on=today)
    _save_live(declaration)
    declaration.items.all().delete()
    _store_items(declaration, built, permits)
    event_append(declaration=declaration, actor=actor, action="edited")
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
def declaration_submit(*, declaration: Declaration, actor) -> Declaration:
    """Lodge a draft. Risk scoring is queued once the submission is committed.

    Every lodgement rule is checked again here: reference data may have
    changed since the draft was saved. If the broker is unreachable the
    submission still stands: the risk sweeper finds submitted declarations
    without a lane and queues them again.
    """
    _ensure_trader_of(actor, declaration)
    locked = Declaration.objects.select_for_update().get(pk=declaration.pk)
    if locked.status != Status.DRAFT:
        raise InvalidTransition(
            f"A {locked.get_status_display().lower()} declaration cannot become submitted."
        )
    items = list(locked.items.order_by("line_no"))
    permits = _permits_of(items)
    today = timezone.localdate()
    validate_lodgement(locked, items, permits, on=today, duplicates=False)
    _update_duties(locked, items, on=today)
    changes = {
        "submitted_at": timezone.now(),
        "exchange_rate": locked.exchange_rate,
        "customs_value_total": locked.customs_value_total,
        "duty_total": locked.duty_total,
        "vat_total": locked.vat_total,
    }
    declarations_move_locked(moves=[Move(locked, Status.SUBMITTED, changes=changes)], actor=actor)
    _queue_scoring(locked.pk)
    return locked


def _queue_scoring(declaration_id: int) -> None:
    from risk.tasks import score_declaration

    transaction.on_commit(lambda: score_declaration.delay(declaration_id), robust=True)


AMENDABLE = (Status.SUBMITTED, Status.UNDER_REVIEW, Status.QUERIED, Status.HELD, Status.ASSESSED)


@transaction.atomic
def declaration_amend(
    *, actor, declaration: Declaration, header: dict, items: list[dict], reason: str = ""
) -> Declaration:
    """Replace a lodged declaration by a new version, lodged and scored again.

    The replaced version keeps its items, documents, decisions and audit
    trail, and stays readable; it leaves every queue as `amended`.
    """
    _ensure_trader_of(actor, declaration)
    old = Declaration.objects.select_for_update().get(pk=declaration.pk)
    if old.status not in AMENDABLE:
        raise InvalidTransition(
            f"A {old.get_status_display().lower()} declaration cannot be amended."
        )
    new = Declaration(
        company_id=old.company_id,
        created_by=actor,
        version=old.version + 1,
        previous_version=old,
        first_version_id=old.first_version_id or old.pk,
        **header,
    )
    built, permits = _build_items(new, items)
    today = timezone.localdate()
    validate_lodgement(new, built, permits, on=today, duplicates=False)
    declaration_transition(
        declaration_id=old.pk,
        to_status=Status.AMENDED,
        actor=actor,
        reason=reason or f"replaced by version {new.version}",
    )
    _apply_duties(new, built, on=today)
    new.status = Status.SUBMITTED
    new.submitted_at = timezone.now()
    _save_live(new)
    _store_items(new, built, permits)
    _carry_documents(old, new, built)
    grant(group_id=actor.company.group_id, obj=new, perms=DECLARATION_PERMS)
    event_append(
        declaration=new,
        actor=actor,
        action="amended",
        to_status=Status.SUBMITTED,
        reason=reason,
        data={"replaces": old.pk, "version": new.version},
        first=True,
    )
    _queue_scoring(new.pk)
    return new


def _carry_documents(old: Declaration, new: Declaration, new_items: list[Item]) -> None:
    """The new version keeps the documents already lodged (same stored file)."""
    by_line = {item.line_no: item for item in new_items}
    Document.objects.bulk_create(
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
        for doc in old.documents.select_related("item")
    )


@transaction.atomic
def declaration_cancel(*, actor, declaration: Declaration, reason: str) -> Declaration:
    _ensure_trader_of(actor, declaration)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the declaration is cancelled."})
    return declaration_transition(
        declaration_id=declaration.pk, to_status=Status.CANCELLED, actor=actor, reason=reason
    )


@transaction.atomic
def declaration_lane_change(*, declaration_id: int, lane: str, actor, reason: str) -> Declaration:
    """Change the lane of a declaration under review (a supervisor's override)."""
    if not reason.strip():
        raise ValidationError({"reason": "A lane change needs a written reason."})
    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    if declaration.status not in (Status.UNDER_REVIEW, Status.QUERIED, Status.HELD):
        raise InvalidTransition(
            f"The lane of a {declaration.get_status_display().lower()} declaration cannot change."
        )
    previous = declaration.lane
    declaration.lane = lane
    declaration.full_clean()
    declaration.save(update_fields=["lane", "updated_at"])
    event_append(
        declaration=declaration,
        actor=actor,
        action="lane_changed",
        reason=reason,
        data={"from": previous, "to": lane},
    )
    return declaration


@transaction.atomic
def declaration_assess(*, declaration_id: int, actor) -> Declaration:
    """Every agency has approved and customs' lane work is done: duties are recomputed
    with the day's rates and become due."""
    locked = Declaration.objects.select_for_update().get(pk=declaration_id)
    items = list(locked.items.order_by("line_no"))
    _update_duties(locked, items, on=timezone.localdate())
    return declaration_transition(
        declaration_id=declaration_id,
        locked=locked,
        to_status=Status.ASSESSED,
        actor=actor,
        data={"duty": str(locked.duty_total), "vat": str(locked.vat_total)},
        changes={
            "exchange_rate": locked.exchange_rate,
            "customs_value_total": locked.customs_value_total,
            "duty_total": locked.duty_total,
            "vat_total": locked.vat_total,
            "assessed_at": timezone.now(),
        },
    )


@transaction.atomic
def declaration_pay(*, declaration: Declaration, actor, reference: str) -> Declaration:
    """Record the payment of the assessed duties, then release the goods if nothing blocks."""
    _ensure_trader_of(actor, declaration)
    locked = Declaration.objects.select_for_update().get(pk=declaration.pk)
    if locked.status != Status.ASSESSED:
        raise InvalidTransition(
            f"A {locked.get_status_display().lower()} declaration has nothing to pay."
        )
    payment = Payment(
        declaration=locked,
        reference=reference,
        amount=locked.total_due,
        currency=settings.NATIONAL_CURRENCY,
        paid_at=timezone.now(),
        recorded_by=actor,
    )
    payment.full_clean()
    payment.save()
    declaration = declaration_transition(
        declaration_id=locked.pk,
        to_status=Status.PAID,
        actor=actor,
        data={"payment_reference": reference, "amount": str(payment.amount)},
    )
    from agencies.services import declaration_release_if_cleared

    return declaration_release_if_cleared(declaration_id=declaration.pk, actor=actor) or declaration


# The formats accepted, recognised by their first bytes, never by their name.
SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
DOCUMENT_OPEN = (
    Status.DRAFT, Status.SUBMITTED, Status.UNDER_REVIEW, Status.QUERIED, Status.HELD,
    Status.ASSESSED,
)  # fmt: skip


def sniff_content_type(head: bytes) -> str | None:
    for signature, content_type in SIGNATURES.items():
        if head.startswith(signature):
            return content_type
    return None


@transaction.atomic
def document_upload(
    *, actor, declaration: Declaration, kind: str, upload, item_line_no: int | None = None
) -> Document:
    """Attach a PDF, PNG or JPEG to the declaration or to one of its items."""
    _ensure_trader_of(actor, declaration)
    declaration = Declaration.objects.select_for_update().get(pk=declaration.pk)
    if declaration.status not in DOCUMENT_OPEN:
        raise InvalidTransition(
            f"Documents cannot be added to a {declaration.get_status_display().lower()} "
            "declaration."
        )
    limit = settings.DOCUMENT_MAX_BYTES
    if upload.size == 0:
        raise ValidationError({"file": "The file is empty."})
    if upload.size > limit:
        raise ValidationError(
            {"file": f"The file is {upload.size:,} bytes; the limit is {limit:,} bytes."}
        )
    digest = hashlib.sha256()
    head = b""
    for chunk in upload.chunks():
        if len(head) < 16:
            head += chunk[:16]
        digest.update(chunk)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise ValidationError({"file": "Only PDF, PNG and JPEG files are accepted."})
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
        event_append(
            declaration=declaration,
            actor=actor,
            action="document_added",
            data={"kind": kind, "item": item_line_no, "sha256": document.sha256},
        )
    except BaseException:
        # The file is on disk before its row: when the row is not stored, the
        # file goes too, rather than stay behind unowned.
        document.file.delete(save=False)
        raise
    return document

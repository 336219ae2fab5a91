"""Every write of the supplies app: pre-notifications of relief consignments (filed,
cancelled, matched to the declaration that follows) and the critical supplies
register of an emergency (needs and pledges, each change audited).

A pre-notification changes status only in `_prenotification_transition`, a pledge
only in `_pledge_transition`, each on a row locked first. Matching runs in the
lodgement's transaction (clearance.services), after the declaration's own lock.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from agencies.models import Agency, JurisdictionRule, hs_prefix_validator
from declarations.models import Declaration
from emergencies.models import Emergency, HumanitarianConsignee
from notifications.services import (
    Message,
    notify_many,
    recipients_of_agencies_at_offices,
    recipients_of_companies,
)
from reference import lookups
from supplies.models import (
    PreNotification,
    PreNotificationEvent,
    PreNotificationLine,
    SupplyNeed,
    SupplyPledge,
    SupplyRegisterEntry,
    transport_document_key,
)
from supplies.selectors import files_prenotifications, may_cancel_prenotification

Status = PreNotification.Status

# What the filer writes: form, serializer and service share these lists (the
# emergency, the consignee and the office are named by id, tax id and code).
PRENOTIFICATION_FIELDS = (
    "sender_name",
    "sender_country",
    "transport_mode",
    "transport_document",
    "expected_arrival",
    "notes",
)
LINE_FIELDS = ("hs_code", "description", "quantity", "unit")
MAX_LINES = 200
NEED_FIELDS = ("hs_prefix", "label", "target_quantity", "unit")
# A need's goods and unit stay what they were (the received quantities were counted
# against them); a different need is removed and another added.
NEED_CHANGE_FIELDS = ("label", "target_quantity")
PLEDGE_FIELDS = ("partner_country", "partner_administration", "quantity", "expected_on", "note")

# A declaration that ended without goods released hands its pre-notification on.
ENDED_DECLARATION = (
    Declaration.Status.CANCELLED,
    Declaration.Status.REJECTED,
    Declaration.Status.AMENDED,
)


def _url(prenotification: PreNotification) -> str:
    return reverse("supplies:prenotification", args=[prenotification.pk])


# ---- Pre-notification ----------------------------------------------------------------------


def ensure_may_file(actor) -> None:
    """Who pre-notifies: a trader of an approved humanitarian consignee (for itself, or
    as the sender for another consignee), or an administrator for a donor."""
    if not files_prenotifications(actor):
        raise PermissionDenied


def _clean_lines(emergency: Emergency, lines: list[dict]) -> tuple[list[PreNotificationLine], dict]:
    errors: dict[str, list[str]] = {}
    if not lines:
        return [], {"lines": ["Name at least one goods line."]}
    if len(lines) > MAX_LINES:
        return [], {"lines": [f"At most {MAX_LINES} goods lines."]}
    subheadings, units = lookups.hs_subheadings(), lookups.unit_codes()
    built = []
    for index, data in enumerate(lines):
        at = f"lines[{index}]"
        unknown = set(data) - set(LINE_FIELDS)
        if unknown:
            raise TypeError(f"unexpected line fields: {', '.join(sorted(unknown))}")
        line = PreNotificationLine(line_no=index + 1, **data)
        line.hs_code = str(line.hs_code or "").replace(".", "").replace(" ", "")
        line.unit = str(line.unit or "").strip().upper()
        try:
            line.full_clean(exclude=["prenotification"], validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(f"{at}.{name}", []).extend(messages)
            continue
        if line.hs_code[:6] not in subheadings:
            errors[f"{at}.hs_code"] = [f"{line.hs_code[:6]} is not an HS 2022 subheading."]
        elif not emergency.lists(line.hs_code):
            errors[f"{at}.hs_code"] = [
                f"HS {line.hs_code} is not among the goods {emergency.name} lists "
                f"({', '.join(emergency.hs_prefixes)})."
            ]
        if line.unit not in units:
            errors[f"{at}.unit"] = [f"{line.unit} is not a UN/ECE Recommendation 20 unit."]
        built.append(line)
    return built, errors


def _staff_told(prenotification: PreNotification, lines) -> list[int]:
    """The officers and supervisors posted at the office of entry, of customs and of
    each agency whose jurisdiction covers a line: who prepares for the goods."""
    agency_ids = set(
        JurisdictionRule.objects.for_hs_codes(line.hs_code for line in lines)
        .filter(declaration_types__contains=[Declaration.Type.IMPORT])
        .values_list("agency_id", flat=True)
    )
    agency_ids |= set(Agency.objects.filter(is_customs=True).values_list("pk", flat=True))
    pairs = {(agency_id, prenotification.office_id) for agency_id in agency_ids}
    told = recipients_of_agencies_at_offices(pairs)
    return sorted({pk for pks in told.values() for pk in pks})


def _filers(prenotification: PreNotification) -> list[int]:
    """Who hears what becomes of a pre-notification: the filer, the users of the company
    that filed it and of the consignee."""
    companies = {prenotification.consignee.company_id, prenotification.filed_for_id} - {None}
    users = recipients_of_companies(list(companies))
    return sorted({prenotification.filed_by_id, *(pk for pks in users.values() for pk in pks)})


def _event(prenotification, *, from_status: str, actor, note: str = "") -> None:
    PreNotificationEvent.objects.create(
        prenotification=prenotification,
        from_status=from_status,
        to_status=prenotification.status,
        actor=actor,
        note=note,
    )


def _prenotification_transition(prenotification, *, to_status: str, actor, note: str = "") -> None:
    """The only way a pre-notification changes status (the caller holds its lock)."""
    prenotification.ensure_may_become(to_status)
    from_status = prenotification.status
    prenotification.status = to_status
    prenotification.full_clean(validate_constraints=False)
    prenotification.save()
    _event(prenotification, from_status=from_status, actor=actor, note=note)


@transaction.atomic
def prenotification_file(
    *,
    actor,
    emergency_id: int,
    consignee_tax_id: str,
    office_code: str,
    lines: list[dict],
    **fields,
) -> PreNotification:
    """Announce a relief consignment before it arrives. The office of entry and the
    agencies concerned are told; a declaration already lodged for it is matched now."""
    ensure_may_file(actor)
    unknown = set(fields) - set(PRENOTIFICATION_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    errors: dict[str, list[str]] = {}
    emergency = (
        Emergency.objects.in_force().prefetch_related("offices").filter(pk=emergency_id).first()
    )
    if emergency is None:
        raise ValidationError({"emergency": f"No emergency in force has the id {emergency_id}."})
    consignee = (
        HumanitarianConsignee.objects.select_related("company")
        .filter(
            company__tax_id=str(consignee_tax_id).strip(),
            status=HumanitarianConsignee.Status.APPROVED,
        )
        .first()
    )
    if consignee is None:
        errors["consignee_tax_id"] = [
            f"No approved humanitarian consignee has the tax id {consignee_tax_id or '(none)'}."
        ]
    office_code = str(office_code).strip().upper()
    codes = sorted(office.code for office in emergency.offices.all())
    if office_code not in codes:
        errors["office"] = [
            f"{office_code or '(none)'} is not an office of entry {emergency.name} covers "
            f"({', '.join(codes)})."
        ]
    prenotification = PreNotification(
        emergency=emergency,
        consignee=consignee,
        office_id=office_code,
        filed_by=actor,
        filed_for_id=actor.company_id if actor.is_trader else None,
        **fields,
    )
    prenotification.sender_name = prenotification.sender_name.strip()
    prenotification.sender_country = str(prenotification.sender_country or "").strip().upper()
    prenotification.transport_document = prenotification.transport_document.strip()
    prenotification.transport_document_key = transport_document_key(
        prenotification.transport_document
    )
    try:
        prenotification.full_clean(
            exclude=["emergency", "consignee", "office", "filed_by", "transport_document_key"],
            validate_constraints=False,
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if not prenotification.transport_document_key and "transport_document" not in errors:
        errors["transport_document"] = ["Give the B/L or air waybill number."]
    arrival = prenotification.expected_arrival
    if arrival and "expected_arrival" not in errors:
        if arrival < timezone.now():
            errors["expected_arrival"] = [
                "A pre-notification announces goods still to arrive: this time is past; "
                "lodge the declaration instead."
            ]
        elif arrival >= emergency.ends_at:
            errors["expected_arrival"] = [
                f"After {emergency.name} ends ({emergency.ends_at:%Y-%m-%d %H:%M}): relief "
                "measures would no longer apply."
            ]
    built, line_errors = _clean_lines(emergency, lines)
    errors.update(line_errors)
    if consignee is not None and prenotification.transport_document_key:
        taken = PreNotification.objects.filter(
            consignee=consignee, transport_document_key=prenotification.transport_document_key
        ).exclude(status=Status.CANCELLED)
        for other in taken:
            errors.setdefault("transport_document", []).append(
                f"{other.reference} already announces {other.transport_document} for "
                f"{consignee.company.name}."
            )
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            prenotification.save()
    except IntegrityError as exc:  # announced in a concurrent request
        raise ValidationError(
            {"transport_document": "This transport document is already announced."}
        ) from exc
    for line in built:
        line.prenotification = prenotification
    PreNotificationLine.objects.bulk_create(built)
    _event(prenotification, from_status="", actor=actor)
    lines_text = "; ".join(f"{line.quantity:g} {line.unit} {line.description}" for line in built)
    notify_many(
        messages=[
            Message(
                _staff_told(prenotification, built),
                "prenotification_filed",
                f"Relief consignment on its way to {office_code}: {prenotification.reference} "
                f"for {consignee.company.name}, expected {arrival:%Y-%m-%d %H:%M} "
                f"({lines_text}).",
                _url(prenotification),
            )
        ]
    )
    declaration = _declaration_lodged_for(prenotification)
    if declaration is not None:
        _match(prenotification, declaration, actor=actor)
    return prenotification


def _declaration_lodged_for(prenotification: PreNotification) -> Declaration | None:
    """A live import already lodged for the consignee under this transport document
    and not matched yet (the announcement came late)."""
    company = prenotification.consignee.company
    candidates = (
        Declaration.objects.filter(type=Declaration.Type.IMPORT, prenotification__isnull=True)
        .filter(Q(importer_tax_id=company.tax_id) | Q(importer_tax_id="", company_id=company.pk))
        .filter(submitted_at__gte=prenotification.emergency.starts_at)
        .exclude(status__in=[Declaration.Status.DRAFT, *ENDED_DECLARATION])
        .order_by("-submitted_at", "-pk")
    )
    key = prenotification.transport_document_key
    return next(
        (
            d
            for d in candidates.only("pk", "transport_document")
            if transport_document_key(d.transport_document) == key
        ),
        None,
    )


@transaction.atomic
def prenotification_cancel(*, actor, prenotification_id: int, reason: str) -> PreNotification:
    """The filer (or an administrator) withdraws an announcement before the goods are
    declared: the consignment will not come, or not as announced."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the pre-notification is cancelled."})
    prenotification = (
        PreNotification.objects.select_for_update(of=("self",))
        .select_related("consignee__company")
        .get(pk=prenotification_id)
    )
    if not may_cancel_prenotification(actor, prenotification):
        raise PermissionDenied
    _prenotification_transition(
        prenotification, to_status=Status.CANCELLED, actor=actor, note=reason.strip()
    )
    lines = list(prenotification.lines.all())
    told = sorted({*_staff_told(prenotification, lines), *_filers(prenotification)} - {actor.pk})
    notify_many(
        messages=[
            Message(
                told,
                "prenotification_cancelled",
                f"{prenotification.reference} (relief for {prenotification.consignee.company.name} "
                f"at {prenotification.office_id}) is cancelled: {reason.strip()}",
                _url(prenotification),
            )
        ]
    )
    return prenotification


def _match(prenotification: PreNotification, declaration: Declaration, *, actor) -> None:
    """Link a locked pre-notification to the declaration that followed it."""
    previous = prenotification.declaration
    prenotification.declaration = declaration
    prenotification.matched_at = timezone.now()
    if prenotification.status == Status.NOTIFIED:
        _prenotification_transition(
            prenotification,
            to_status=Status.DECLARED,
            actor=actor,
            note=f"Declared as {declaration.reference}.",
        )
    else:
        # The declaration it was matched to was cancelled, rejected or replaced.
        prenotification.save(update_fields=["declaration", "matched_at"])
        _event(
            prenotification,
            from_status=prenotification.status,
            actor=actor,
            note=f"Now declared as {declaration.reference} ({previous.reference} "
            f"{previous.get_status_display().lower()}).",
        )
    notify_many(
        messages=[
            Message(
                [pk for pk in _filers(prenotification) if pk != getattr(actor, "pk", None)],
                "prenotification_declared",
                f"{prenotification.reference} arrived: declared as {declaration.reference} at "
                f"{declaration.office_of_entry}.",
                _url(prenotification),
            )
        ]
    )


def prenotification_match(*, declaration: Declaration, actor) -> PreNotification | None:
    """Match an import as it is lodged to the relief consignment announced for it.

    The match is automatic, on the consignee (the importer the declaration names, or
    the declarant's company) and the transport document (B/L or AWB, compared on its
    letters and digits): both are on every import already, the transport document is
    what ties goods to a declaration at the border, and the consignee keeps one
    organisation's announcements from another's. One open announcement per pair
    (a constraint) makes it unambiguous. The goods need not agree: differences are
    shown to officers (selectors.prenotification_differences), never refused.
    """
    if declaration.type != Declaration.Type.IMPORT:
        return None
    key = transport_document_key(declaration.transport_document)
    if not key:
        return None
    if declaration.importer_tax_id:
        consignee = Q(consignee__company__tax_id=declaration.importer_tax_id)
    else:
        consignee = Q(consignee__company_id=declaration.company_id)
    prenotification = (
        PreNotification.objects.select_for_update(of=("self",))
        .select_related("consignee__company", "declaration")
        .filter(consignee, transport_document_key=key)
        .filter(
            Q(status=Status.NOTIFIED)
            | Q(status=Status.DECLARED, declaration__status__in=ENDED_DECLARATION)
        )
        .order_by("filed_at", "pk")
        .first()
    )
    if prenotification is None:
        return None
    _match(prenotification, declaration, actor=actor)
    return prenotification


# ---- Critical supplies register ------------------------------------------------------------


def _ensure_admin(actor) -> None:
    if not actor.is_platform_admin:
        raise PermissionDenied


def _plain(value):
    """A value as the register's JSON keeps it: quantities exact, dates in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _snapshot(obj, names) -> dict:
    return {name: _plain(getattr(obj, name)) for name in names}


def _record(*, emergency_id, need, action, actor, before=None, after=None, pledge=None) -> None:
    SupplyRegisterEntry.objects.create(
        emergency_id=emergency_id,
        need=need,
        pledge=pledge,
        action=action,
        before=before or {},
        after=after or {},
        actor=actor,
    )


def _emergency_open_for_register(emergency_id: int) -> Emergency:
    emergency = Emergency.objects.select_for_update().filter(pk=emergency_id).first()
    if emergency is None:
        raise ValidationError({"emergency": f"No emergency has the id {emergency_id}."})
    if emergency.status not in (Emergency.Status.PROPOSED, Emergency.Status.ACTIVE):
        raise ValidationError(
            {
                "emergency": f"{emergency.name} is {emergency.get_status_display().lower()}: "
                "its register of needs is closed."
            }
        )
    return emergency


@transaction.atomic
def supply_need_add(
    *, actor, emergency_id: int, hs_prefix: str, label: str, target_quantity: Decimal, unit: str
) -> SupplyNeed:
    """An administrator adds a priority need to an emergency's register."""
    _ensure_admin(actor)
    emergency = _emergency_open_for_register(emergency_id)
    need = SupplyNeed(
        emergency=emergency,
        hs_prefix=str(hs_prefix).replace(".", "").replace(" ", ""),
        label=label.strip(),
        target_quantity=target_quantity,
        unit=str(unit).strip().upper(),
        updated_by=actor,
    )
    errors: dict[str, list[str]] = {}
    try:
        need.full_clean(exclude=["emergency", "updated_by"], validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if "hs_prefix" not in errors:
        try:
            hs_prefix_validator(need.hs_prefix)
        except ValidationError as exc:
            errors["hs_prefix"] = exc.messages
    if "hs_prefix" not in errors and not any(
        need.hs_prefix.startswith(listed) or listed.startswith(need.hs_prefix)
        for listed in emergency.hs_prefixes
    ):
        errors["hs_prefix"] = [
            f"HS {need.hs_prefix} is not among the goods {emergency.name} lists "
            f"({', '.join(emergency.hs_prefixes)}): no relief consignment would count against it."
        ]
    if "unit" not in errors and need.unit not in lookups.unit_codes():
        errors["unit"] = [f"{need.unit} is not a UN/ECE Recommendation 20 unit."]
    if (
        not errors
        and emergency.supply_needs.filter(
            active=True, hs_prefix=need.hs_prefix, unit=need.unit
        ).exists()
    ):
        errors["hs_prefix"] = [
            f"HS {need.hs_prefix} in {need.unit} is already a need of {emergency.name}: "
            "change its target instead."
        ]
    if errors:
        raise ValidationError(errors)
    need.save()
    _record(
        emergency_id=emergency.pk,
        need=need,
        action=SupplyRegisterEntry.Action.NEED_ADDED,
        actor=actor,
        after=_snapshot(need, NEED_FIELDS),
    )
    return need


def _need_lock(need_id: int) -> SupplyNeed:
    emergency_id = SupplyNeed.objects.values_list("emergency_id", flat=True).get(pk=need_id)
    _emergency_open_for_register(emergency_id)
    return SupplyNeed.objects.select_for_update().get(pk=need_id)


@transaction.atomic
def supply_need_change(*, actor, need_id: int, **changes) -> SupplyNeed:
    """An administrator changes a need's label or target as the disaster unfolds."""
    _ensure_admin(actor)
    unknown = set(changes) - set(NEED_CHANGE_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    need = _need_lock(need_id)
    if not need.active:
        raise ValidationError({"need": "This need was removed; add it again instead."})
    before = _snapshot(need, NEED_CHANGE_FIELDS)
    for name, value in changes.items():
        setattr(need, name, value.strip() if isinstance(value, str) else value)
    after = _snapshot(need, NEED_CHANGE_FIELDS)
    if after == before:
        return need
    need.updated_by, need.updated_at = actor, timezone.now()
    need.full_clean(exclude=["emergency", "updated_by"], validate_constraints=False)
    need.save()
    changed = [name for name in NEED_CHANGE_FIELDS if before[name] != after[name]]
    _record(
        emergency_id=need.emergency_id,
        need=need,
        action=SupplyRegisterEntry.Action.NEED_CHANGED,
        actor=actor,
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
    )
    return need


@transaction.atomic
def supply_need_remove(*, actor, need_id: int, reason: str) -> SupplyNeed:
    """An administrator takes a need off the register (met, or no longer a priority);
    it stays readable, with the pledges recorded against it."""
    _ensure_admin(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the need is removed."})
    need = _need_lock(need_id)
    if not need.active:
        return need
    need.active = False
    need.updated_by, need.updated_at = actor, timezone.now()
    need.save(update_fields=["active", "updated_by", "updated_at"])
    _record(
        emergency_id=need.emergency_id,
        need=need,
        action=SupplyRegisterEntry.Action.NEED_REMOVED,
        actor=actor,
        before={"active": True},
        after={"active": False, "reason": reason.strip()},
    )
    return need


@transaction.atomic
def supply_pledge_record(*, actor, need_id: int, **fields) -> SupplyPledge:
    """An administrator records a partner administration's pledge against a need."""
    _ensure_admin(actor)
    unknown = set(fields) - set(PLEDGE_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    need = _need_lock(need_id)
    if not need.active:
        raise ValidationError({"need": "This need was removed from the register."})
    pledge = SupplyPledge(need=need, recorded_by=actor, **fields)
    pledge.partner_country = str(pledge.partner_country or "").strip().upper()
    pledge.partner_administration = pledge.partner_administration.strip()
    pledge.full_clean(exclude=["need", "recorded_by"], validate_constraints=False)
    pledge.save()
    _record(
        emergency_id=need.emergency_id,
        need=need,
        pledge=pledge,
        action=SupplyRegisterEntry.Action.PLEDGE_RECORDED,
        actor=actor,
        after=_snapshot(pledge, (*PLEDGE_FIELDS, "status")),
    )
    return pledge


PLEDGE_ACTIONS = {
    SupplyPledge.Status.DELIVERED: SupplyRegisterEntry.Action.PLEDGE_DELIVERED,
    SupplyPledge.Status.WITHDRAWN: SupplyRegisterEntry.Action.PLEDGE_WITHDRAWN,
}


def _pledge_transition(pledge: SupplyPledge, *, to_status: str, actor) -> None:
    """The only way a pledge changes status (the caller holds its lock)."""
    pledge.ensure_may_become(to_status)
    before = pledge.status
    pledge.status = to_status
    pledge.save(update_fields=["status"])
    _record(
        emergency_id=pledge.need.emergency_id,
        need=pledge.need,
        pledge=pledge,
        action=PLEDGE_ACTIONS[to_status],
        actor=actor,
        before={"status": before},
        after={"status": to_status},
    )


@transaction.atomic
def supply_pledge_set_status(*, actor, pledge_id: int, status: str) -> SupplyPledge:
    """An administrator records that a pledge was delivered, or withdrawn."""
    _ensure_admin(actor)
    if status not in PLEDGE_ACTIONS:
        raise ValidationError({"status": "A pledge becomes delivered or withdrawn."})
    pledge = (
        SupplyPledge.objects.select_for_update(of=("self",))
        .select_related("need")
        .get(pk=pledge_id)
    )
    _pledge_transition(pledge, to_status=status, actor=actor)
    return pledge

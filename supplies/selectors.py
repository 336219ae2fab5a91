"""Reads of the supplies app, scoped by who asks: pre-notifications (the filer's, the
consignee's, the incoming ones of an office), and the critical supplies register."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import reduce
from operator import or_

from django.db.models import (
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Length, NullIf
from django.http import Http404

from agencies.models import JurisdictionRule, Review
from declarations.models import Declaration, Item
from emergencies.models import Emergency, HumanitarianConsignee
from supplies.models import (
    PreNotification,
    PreNotificationEvent,
    PreNotificationLine,
    SupplyNeed,
    SupplyPledge,
    SupplyRegisterEntry,
)

ZERO = Decimal("0")


def is_customs_staff(user) -> bool:
    return bool(
        user.is_authenticated and user.is_agency_staff and user.agency and user.agency.is_customs
    )


# ---- Pre-notification ----------------------------------------------------------------------


def files_prenotifications(user) -> bool:
    """Whether the user may pre-notify (services.ensure_may_file, as a question)."""
    if user.is_platform_admin:
        return True
    return user.is_trader and (
        HumanitarianConsignee.objects.filter(
            company_id=user.company_id, status=HumanitarianConsignee.Status.APPROVED
        ).exists()
    )


def _agency_lines(agency) -> Q | None:
    """The goods lines an agency other than customs sees: those of its jurisdiction
    over imports. None for customs, which sees every line."""
    if agency.is_customs:
        return None
    prefixes = list(
        JurisdictionRule.objects.filter(
            agency_id=agency.pk, declaration_types__contains=[Declaration.Type.IMPORT]
        ).values_list("hs_prefix", flat=True)
    )
    if not prefixes:
        return Q(pk__in=[])
    return reduce(or_, (Q(hs_code__startswith=prefix) for prefix in prefixes))


def _jurisdiction_lines(user) -> Q | None:
    return _agency_lines(user.agency) if user.is_agency_staff else None


def prenotification_list(*, user) -> QuerySet[PreNotification]:
    """The pre-notifications the user may see: every one for an administrator; a
    trader's company's (filed by it or for it as consignee); for officers and
    supervisors those announced at their offices, of customs all, of another agency
    those with goods in its jurisdiction. Lines are prefetched as the user may see them."""
    prenotifications = PreNotification.objects.select_related(
        "emergency", "consignee__company", "office", "declaration", "filed_by", "filed_for"
    )
    if user.is_platform_admin:
        pass
    elif user.is_trader:
        prenotifications = prenotifications.filter(
            Q(filed_for_id=user.company_id) | Q(consignee__company_id=user.company_id)
        )
    elif user.is_agency_staff and user.office_codes:
        prenotifications = prenotifications.filter(office_id__in=user.office_codes)
        scope = _jurisdiction_lines(user)
        if scope is not None:
            lines = PreNotificationLine.objects.filter(prenotification=OuterRef("pk"))
            prenotifications = prenotifications.filter(Exists(lines.filter(scope)))
    else:
        return prenotifications.none()
    return prenotifications.prefetch_related(
        Prefetch("lines", queryset=visible_lines(user=user).order_by("line_no"))
    )


def visible_lines(*, user) -> QuerySet[PreNotificationLine]:
    scope = _jurisdiction_lines(user)
    lines = PreNotificationLine.objects.all()
    return lines if scope is None else lines.filter(scope)


def may_cancel_prenotification(user, prenotification) -> bool:
    """Its filer's organisation, the consignee's, or an administrator withdraws it."""
    if user.is_platform_admin:
        return True
    return user.is_trader and user.company_id in (
        prenotification.filed_for_id,
        prenotification.consignee.company_id,
    )


def incoming_prenotifications(*, user, status: str = "", office: str = "") -> QuerySet:
    """The list of what is announced, soonest arrival first; for agency staff with the
    id of their agency's review of the declaration once it is lodged."""
    prenotifications = prenotification_list(user=user)
    if status in PreNotification.Status.values:
        prenotifications = prenotifications.filter(status=status)
    if office:
        prenotifications = prenotifications.filter(office_id=office)
    if user.is_agency_staff:
        reviews = Review.objects.filter(
            declaration_id=OuterRef("declaration_id"),
            agency_id=user.agency_id,
            office__in=user.office_codes,
        ).order_by("-pk")
        prenotifications = prenotifications.annotate(review_id=Subquery(reviews.values("pk")[:1]))
    return prenotifications.order_by("expected_arrival", "pk")


def review_of_staff(*, user, declaration_id) -> int | None:
    """The id of the review the officer works of this declaration, if any."""
    if not (user.is_agency_staff and declaration_id):
        return None
    return (
        Review.objects.filter(
            declaration_id=declaration_id, agency_id=user.agency_id, office__in=user.office_codes
        )
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )


def get_prenotification_for_user(*, user, pk) -> PreNotification:
    try:
        return prenotification_list(user=user).get(pk=pk)
    except (PreNotification.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def prenotification_events(prenotification) -> QuerySet[PreNotificationEvent]:
    return prenotification.events.select_related("actor")


def sees_differences(user) -> bool:
    """Officers and administrators compare announcement and declaration."""
    return user.is_platform_admin or user.is_agency_staff


def _quantities(rows) -> dict[tuple[str, str], Decimal]:
    totals: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        totals[(row.hs_code[:6], row.unit)] += row.quantity
    return totals


def prenotification_differences(prenotification, *, lines, items) -> list[str]:
    """Where the declaration departs from what was announced, in sentences: goods by
    HS subheading and unit, the office of entry, the transport mode, the relief itself.
    Shown to officers; never a reason to refuse the declaration."""
    declaration = prenotification.declaration
    if declaration is None:
        return []
    differences = []
    if declaration.emergency_id != prenotification.emergency_id:
        differences.append(
            f"The declaration is not a relief consignment of {prenotification.emergency.name}."
        )
    if declaration.office_of_entry != prenotification.office_id:
        differences.append(
            f"Announced at {prenotification.office_id}, declared at "
            f"{declaration.office_of_entry or '(no office)'}."
        )
    if declaration.transport_mode != prenotification.transport_mode:
        differences.append(
            f"Announced by {prenotification.get_transport_mode_display().lower()} transport, "
            f"declared by {declaration.get_transport_mode_display().lower()}."
        )
    announced, declared = _quantities(lines), _quantities(items)
    for key in sorted(set(announced) | set(declared)):
        hs, unit = key
        said, found = announced.get(key), declared.get(key)
        if said is None:
            differences.append(f"HS {hs}: {found:,f} {unit} declared, not announced.")
        elif found is None:
            differences.append(f"HS {hs}: {said:,f} {unit} announced, none declared.")
        elif said != found:
            differences.append(f"HS {hs}: {said:,f} {unit} announced, {found:,f} declared.")
    return [text.replace(".000 ", " ") for text in differences]


def prenotification_differences_for(*, user, prenotification) -> list[str]:
    """The differences an officer or administrator reads on a pre-notification: an
    agency other than customs compares its own goods only. Nobody else reads them."""
    declaration = prenotification.declaration
    if declaration is None or not sees_differences(user):
        return []
    items = declaration.items.order_by("line_no")
    scope = _jurisdiction_lines(user)
    if scope is not None:
        items = items.filter(scope)
    lines = list(prenotification.lines.all())  # prefetched as the user may see them
    return prenotification_differences(prenotification, lines=lines, items=list(items))


@dataclass
class PreNotificationMatch:
    prenotification: PreNotification
    lines: list
    differences: list[str]


def prenotification_for_review(*, review, items) -> PreNotificationMatch | None:
    """What was announced for the declaration under review, as the reviewing agency
    may see it (its own lines), with where the declared slice departs from it."""
    prenotification = (
        PreNotification.objects.select_related("emergency", "consignee__company", "declaration")
        .filter(declaration_id=review.declaration_id)
        .first()
    )
    if prenotification is None:
        return None
    lines = prenotification.lines.order_by("line_no")
    scope = _agency_lines(review.agency)
    lines = list(lines if scope is None else lines.filter(scope))
    if not lines and not review.agency.is_customs:
        return None
    differences = prenotification_differences(prenotification, lines=lines, items=items)
    return PreNotificationMatch(prenotification, lines, differences)


# ---- Critical supplies register ------------------------------------------------------------


def may_read_supplies(user) -> bool:
    """The register and the coordination API: administrators and customs staff (any
    office: relief for the whole emergency is everyone's concern at the border)."""
    return user.is_authenticated and (user.is_platform_admin or is_customs_staff(user))


def supply_emergencies(*, user) -> QuerySet[Emergency]:
    """Emergencies whose register the user may read: every one declared or proposed."""
    if not may_read_supplies(user):
        return Emergency.objects.none()
    return Emergency.objects.exclude(status=Emergency.Status.REFUSED)


def get_emergency_for_supplies(*, user, pk) -> Emergency:
    try:
        return supply_emergencies(user=user).prefetch_related("offices").get(pk=pk)
    except (Emergency.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_need_for_admin(*, user, pk) -> SupplyNeed:
    if not user.is_platform_admin:
        raise Http404
    try:
        return SupplyNeed.objects.select_related("emergency").get(pk=pk)
    except (SupplyNeed.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_pledge_for_admin(*, user, pk) -> SupplyPledge:
    if not user.is_platform_admin:
        raise Http404
    try:
        return SupplyPledge.objects.select_related("need__emergency").get(pk=pk)
    except (SupplyPledge.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _received_items(emergency: Emergency) -> QuerySet[Item]:
    """The goods lines of the emergency's released relief consignments, each with the
    need it counts against: the active need of the longest HS prefix its code begins
    with, in its unit (none: other relief goods). Annotated in the database, so the
    register is a handful of GROUP BY queries whatever the number of consignments."""
    need = (
        SupplyNeed.objects.filter(emergency_id=emergency.pk, active=True, unit=OuterRef("unit"))
        .annotate(item_code=ExpressionWrapper(OuterRef("hs_code"), output_field=CharField()))
        .filter(item_code__startswith=F("hs_prefix"))
        .order_by(Length("hs_prefix").desc())
        .values("pk")[:1]
    )
    return Item.objects.filter(
        declaration__emergency_id=emergency.pk,
        declaration__type=Declaration.Type.IMPORT,
        declaration__status=Declaration.Status.RELEASED,
    ).annotate(
        need_id=Subquery(need),
        consignee_tax_id=Coalesce(
            NullIf("declaration__importer_tax_id", Value("")), "declaration__company__tax_id"
        ),
        consignee_name=Coalesce(
            NullIf("declaration__importer_name", Value("")), "declaration__company__name"
        ),
    )


def _totals(rows, *keys) -> dict:
    return rows.values(*keys).annotate(
        quantity=Sum("quantity"),
        consignments=Count("declaration_id", distinct=True),
        last_released_at=Max("declaration__released_at"),
    )


@dataclass
class NeedProgress:
    need: SupplyNeed
    received: Decimal = ZERO
    consignments: int = 0
    last_released_at: datetime | None = None
    # Pledged and not delivered yet; delivered pledges are in `received` already
    # (they arrived as relief consignments), kept apart for the record.
    pledged: Decimal = ZERO
    pledged_delivered: Decimal = ZERO
    by_origin: list[dict] = field(default_factory=list)
    by_consignee: list[dict] = field(default_factory=list)

    @property
    def percent(self) -> Decimal:
        return (self.received * 100 / self.need.target_quantity).quantize(Decimal("0.1"))

    @property
    def pledged_percent(self) -> Decimal:
        return (self.pledged * 100 / self.need.target_quantity).quantize(Decimal("0.1"))

    @property
    def still_needed(self) -> Decimal:
        return max(self.need.target_quantity - self.received, ZERO)


@dataclass
class SupplyRegister:
    emergency: Emergency
    needs: list[NeedProgress]
    removed: list[NeedProgress]
    other_goods: list[dict]
    pledges: list[SupplyPledge]
    changes: list[SupplyRegisterEntry]


def supplies_register(*, emergency: Emergency, changes: int = 50) -> SupplyRegister:
    """The register of an emergency: each need with what released relief consignments
    brought (in all, by origin, by consignee) against its target, and the pledges;
    the goods received that no need covers; the latest changes. Eight queries."""
    needs = {need.pk: NeedProgress(need) for need in emergency.supply_needs.order_by("label")}
    received = _received_items(emergency)
    for row in _totals(received.filter(need_id__isnull=False), "need_id"):
        progress = needs[row["need_id"]]
        progress.received = row["quantity"]
        progress.consignments = row["consignments"]
        progress.last_released_at = row["last_released_at"]
    for row in _totals(received.filter(need_id__isnull=False), "need_id", "origin_country"):
        needs[row["need_id"]].by_origin.append({"country": row["origin_country"], **_amounts(row)})
    for row in _totals(
        received.filter(need_id__isnull=False), "need_id", "consignee_tax_id", "consignee_name"
    ):
        needs[row["need_id"]].by_consignee.append(
            {"name": row["consignee_name"], "tax_id": row["consignee_tax_id"], **_amounts(row)}
        )
    other_goods = [
        {"hs_code": row["hs_code"], "unit": row["unit"], **_amounts(row)}
        for row in _totals(received.filter(need_id__isnull=True), "hs_code", "unit").order_by(
            "hs_code", "unit"
        )
    ]
    pledged = (
        SupplyPledge.objects.filter(need__emergency_id=emergency.pk)
        .exclude(status=SupplyPledge.Status.WITHDRAWN)
        .values("need_id", "status")
        .annotate(quantity=Sum("quantity"))
    )
    for row in pledged:
        progress = needs[row["need_id"]]
        if row["status"] == SupplyPledge.Status.PLEDGED:
            progress.pledged = row["quantity"]
        else:
            progress.pledged_delivered = row["quantity"]
    for progress in needs.values():
        progress.by_origin.sort(key=lambda row: (-row["quantity"], row["country"]))
        progress.by_consignee.sort(key=lambda row: (-row["quantity"], row["name"]))
    pledges = list(
        SupplyPledge.objects.filter(need__emergency_id=emergency.pk)
        .select_related("need", "recorded_by")
        .order_by("expected_on", "pk")
    )
    entries = list(
        SupplyRegisterEntry.objects.filter(emergency_id=emergency.pk)
        .select_related("need", "actor")
        .order_by("-at", "-pk")[:changes]
    )
    return SupplyRegister(
        emergency=emergency,
        needs=[p for p in needs.values() if p.need.active],
        removed=[p for p in needs.values() if not p.need.active],
        other_goods=other_goods,
        pledges=pledges,
        changes=entries,
    )


def _amounts(row) -> dict:
    return {
        "quantity": row["quantity"],
        "consignments": row["consignments"],
        "last_released_at": row["last_released_at"],
    }


def relief_consignments_released(*, emergency: Emergency, since: datetime | None = None):
    """Who sent what, where, when: the emergency's released relief consignments, oldest
    release first, with their goods and the announcement they followed."""
    consignments = (
        Declaration.objects.filter(
            emergency_id=emergency.pk,
            type=Declaration.Type.IMPORT,
            status=Declaration.Status.RELEASED,
        )
        .select_related("company", "prenotification")
        .prefetch_related(Prefetch("items", queryset=Item.objects.order_by("line_no")))
        .order_by("released_at", "pk")
    )
    if since is not None:
        consignments = consignments.filter(released_at__gte=since)
    return consignments


def need_for(hs_code: str, unit: str, needs) -> SupplyNeed | None:
    """The active need a goods line counts against (as _received_items decides)."""
    matching = [
        need
        for need in needs
        if need.active and need.unit == unit and hs_code.startswith(need.hs_prefix)
    ]
    return max(matching, key=lambda need: len(need.hs_prefix), default=None)


def relief_consignment_record(declaration: Declaration, needs) -> dict:
    """A released relief consignment as the coordination API gives it (prefetched rows
    only: no query)."""
    try:
        prenotification = declaration.prenotification.reference
    except PreNotification.DoesNotExist:
        prenotification = None
    return {
        "reference": declaration.reference,
        "consignee": declaration.importer_name or declaration.company.name,
        "consignee_tax_id": declaration.importer_tax_id or declaration.company.tax_id,
        "sender": declaration.consignor_name or declaration.exporter_name,
        "sender_country": declaration.country_of_export,
        "office_of_entry": declaration.office_of_entry,
        "transport_mode": declaration.get_transport_mode_display(),
        "transport_document": declaration.transport_document,
        "submitted_at": declaration.submitted_at,
        "released_at": declaration.released_at,
        "prenotification": prenotification,
        "items": [
            {
                "line_no": item.line_no,
                "hs_code": item.hs_code,
                "description": item.description,
                "origin_country": item.origin_country,
                "quantity": item.quantity,
                "unit": item.unit,
                "need": getattr(need_for(item.hs_code, item.unit, needs), "pk", None),
            }
            for item in declaration.items.all()
        ],
    }

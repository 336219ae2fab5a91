"""Reads of the emergencies app: what is in force, and whether a consignment is relief."""

import logging
import re
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.core.cache import cache
from django.db import transaction
from django.db.models import (
    Aggregate,
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    JSONField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from redis.exceptions import RedisError

from agencies.models import Inspection, Review
from declarations.models import Declaration
from emergencies.models import Emergency, EmergencyProposal, HumanitarianConsignee
from relief.models import ProvisionalDeclaration

logger = logging.getLogger(__name__)


def emergencies_in_force(at: datetime | None = None) -> list[Emergency]:
    """Every emergency in force, with its offices: the banner of every page reads this."""
    return list(Emergency.objects.in_force(at).prefetch_related("offices").order_by("starts_at"))


@dataclass
class ReliefCheck:
    """What an emergency in force means for one declaration, as its declarant may read it:
    whether it is a relief consignment, and if not, why not."""

    emergency: Emergency | None
    relief: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def measures(self) -> list[str]:
        return self.emergency.measures if self.relief and self.emergency else []


def _consignee(declaration) -> HumanitarianConsignee | None:
    """The approved humanitarian consignee the declaration is for: the declarant's own
    company, or the importer it names (a broker lodging for an NGO)."""
    approved = HumanitarianConsignee.objects.filter(
        status=HumanitarianConsignee.Status.APPROVED
    ).select_related("company")
    own = approved.filter(company_id=declaration.company_id).first()
    if own is not None and (
        not declaration.importer_tax_id or declaration.importer_tax_id == own.company.tax_id
    ):
        return own
    if declaration.importer_tax_id:
        return approved.filter(company__tax_id=declaration.importer_tax_id).first()
    return None


def relief_check(declaration, items, *, at: datetime | None = None) -> ReliefCheck:
    """Whether the declaration is a relief consignment of an emergency in force at `at`.

    A relief consignment is an import, for an approved humanitarian consignee,
    through an office of entry the emergency covers, of goods it lists (every item).
    Of several emergencies in force, the first the consignment qualifies under;
    when it qualifies under none, the check of the one it comes closest to.
    """
    in_force = emergencies_in_force(at)
    if not in_force:
        return ReliefCheck(emergency=None)
    if declaration.type != Declaration.Type.IMPORT:
        return ReliefCheck(
            emergency=in_force[0], problems=["Relief measures apply to imports only."]
        )
    consignee = _consignee(declaration)
    checks = []
    for emergency in in_force:
        problems = []
        if consignee is None:
            problems.append(
                "The importer is not a humanitarian consignee approved by customs "
                f"(importer tax id {declaration.importer_tax_id or 'not given'})."
            )
        codes = {office.code for office in emergency.offices.all()}
        if declaration.office_of_entry not in codes:
            problems.append(
                f"The office of entry {declaration.office_of_entry or '(none)'} is not in the "
                f"area of {emergency.name} ({', '.join(sorted(codes))})."
            )
        unlisted = [item for item in items if not emergency.lists(item.hs_code)]
        if unlisted:
            lines = ", ".join(f"item {item.line_no} (HS {item.hs_code})" for item in unlisted)
            problems.append(f"Not among the goods {emergency.name} lists: {lines}.")
        if not items:
            problems.append("The declaration has no items.")
        if not problems:
            return ReliefCheck(emergency=emergency, relief=True)
        checks.append(ReliefCheck(emergency=emergency, problems=problems))
    return min(checks, key=lambda check: len(check.problems))


def relief_for(declaration, items, *, at: datetime | None = None) -> Emergency | None:
    """The emergency under which the declaration is a relief consignment, if any."""
    check = relief_check(declaration, items, at=at)
    return check.emergency if check.relief else None


def priority_emergency_ids(emergency_ids) -> set[int]:
    """Which of these emergencies put relief at the top of the queues."""
    wanted = set(emergency_ids) - {None}
    if not wanted:
        return set()
    return set(Emergency.objects.filter(pk__in=wanted, priority=True).values_list("pk", flat=True))


def emergency_list() -> QuerySet[Emergency]:
    return Emergency.objects.prefetch_related(
        "offices",
        Prefetch(
            "proposals",
            queryset=EmergencyProposal.objects.select_related("proposed_by", "decided_by"),
        ),
    )


def get_emergency(*, user, pk) -> Emergency:
    """An emergency for an administrator (anyone else: 404)."""
    if not user.is_platform_admin:
        raise Http404
    try:
        return emergency_list().get(pk=pk)
    except (Emergency.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def consignee_list(*, user) -> QuerySet[HumanitarianConsignee]:
    """Administrators see every registration; a trader sees their company's."""
    consignees = HumanitarianConsignee.objects.select_related("company", "requested_by")
    if user.is_platform_admin:
        return consignees
    if user.is_trader:
        return consignees.filter(company_id=user.company_id)
    return consignees.none()


# ---- Pages, API and the banner (A) ----------------------------------------------------------

# The emergencies declared and not yet ended, shared by every process through the cache:
# every page and every API response says whether one is in force, and asking the
# database each time would add a statement to each of them. Forgotten when an emergency
# changes (services._emergency_transition). Kept NOTICES_CACHE_SECONDS at most besides:
# a request that read the database just before a change committed may store what it
# read after the change forgot it, and a change made behind the services' back is not
# forgotten at all; either shows within that time.
NOTICES_CACHE_KEY = "emergencies:declared:v1"
NOTICES_CACHE_SECONDS = 60


@dataclass(frozen=True)
class EmergencyNotice:
    """What every signed-in user may know of a declared emergency: the banner and the
    API's Emergency-In-Force header."""

    id: int
    name: str
    starts_at: datetime
    ends_at: datetime
    # (code, name) of the offices of entry where relief measures apply.
    offices: tuple[tuple[str, str], ...]

    def is_in_force(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    @property
    def office_codes(self) -> list[str]:
        return [code for code, _ in self.offices]


def _declared_notices() -> list[EmergencyNotice]:
    """Declared emergencies that have not ended, begun or not: one statement."""
    rows = (
        Emergency.objects.filter(status=Emergency.Status.ACTIVE, ends_at__gt=timezone.now())
        .annotate(
            codes=ArrayAgg("offices__code", order_by="offices__code", default=[]),
            names=ArrayAgg("offices__name", order_by="offices__code", default=[]),
        )
        .order_by("starts_at", "pk")
        .values_list("pk", "name", "starts_at", "ends_at", "codes", "names")
    )
    return [
        EmergencyNotice(pk, name, starts_at, ends_at, tuple(zip(codes, names, strict=True)))
        for pk, name, starts_at, ends_at, codes, names in rows
    ]


def emergency_notices(at: datetime | None = None) -> list[EmergencyNotice]:
    """The emergencies in force at `at` (now), as the banner and the API header say them.

    Read from the cache; on a miss, one statement fills it. An emergency that begins or
    ends later is in the cached list and is judged here against the clock, so time
    passing needs no forgetting.
    """
    at = at or timezone.now()
    try:
        declared = cache.get(NOTICES_CACHE_KEY)
    except RedisError:
        logger.warning("cache unavailable: emergencies read from the database")
        declared = None
        cached = False
    else:
        cached = True
    if declared is None:
        declared = _declared_notices()
        if cached:
            with suppress(RedisError):
                cache.set(NOTICES_CACHE_KEY, declared, NOTICES_CACHE_SECONDS)
    return [notice for notice in declared if notice.is_in_force(at)]


def emergency_notices_forget() -> None:
    """Forget the cached emergencies, now and again once the change is committed (a
    request in between could have cached what was about to change)."""

    def forget() -> None:
        with suppress(RedisError):
            cache.delete(NOTICES_CACHE_KEY)

    forget()
    transaction.on_commit(forget)


def get_emergency_proposal(*, user, pk) -> EmergencyProposal:
    """A proposal to declare, extend or end an emergency, for an administrator (anyone
    else: 404)."""
    if not user.is_platform_admin:
        raise Http404
    try:
        return EmergencyProposal.objects.select_related(
            "emergency", "proposed_by", "decided_by"
        ).get(pk=pk)
    except (EmergencyProposal.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def emergency_proposal_list(*, user) -> QuerySet[EmergencyProposal]:
    if not user.is_platform_admin:
        raise Http404
    return EmergencyProposal.objects.select_related("emergency", "proposed_by", "decided_by")


def get_consignee(*, user, pk) -> HumanitarianConsignee:
    """A humanitarian consignee: an administrator reads any, a trader their company's."""
    try:
        return consignee_list(user=user).get(pk=pk)
    except (HumanitarianConsignee.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


# ---- reconciliation report ----
#
# What happened under an emergency, for administrators and customs supervisors:
# every relief consignment with the measures it got, inspections and findings, and
# time from lodgement to release by lane against ordinary imports of the same offices
# and period. Aggregates are computed in PostgreSQL, a constant number of statements
# whatever the number of consignments (tests/emergencies/test_report.py counts them).


@dataclass(frozen=True)
class ReportScope:
    """An emergency and the offices of entry whose consignments the user may report on:
    every office it covers for an administrator; for a customs supervisor, those of
    them the supervisor oversees."""

    emergency: Emergency
    offices: tuple[str, ...]
    whole: bool


def _is_customs_supervisor(user) -> bool:
    return (
        user.role == user.Role.SUPERVISOR and user.agency_id is not None and user.agency.is_customs
    )


def may_read_reports(user) -> bool:
    return user.is_platform_admin or _is_customs_supervisor(user)


def report_emergency_list(*, user) -> list[ReportScope]:
    """The emergencies whose report the user may read, newest first: every one for an
    administrator; for a customs supervisor, those declared (in force or ended) over an
    office the supervisor oversees."""
    if not may_read_reports(user):
        return []
    emergencies = Emergency.objects.prefetch_related("offices")
    if not user.is_platform_admin:
        emergencies = emergencies.filter(
            status__in=[Emergency.Status.ACTIVE, Emergency.Status.ENDED],
            offices__code__in=user.office_codes,
        ).distinct()
    scopes = (_scope(user, emergency) for emergency in emergencies)
    return [scope for scope in scopes if scope is not None]


def _scope(user, emergency: Emergency) -> ReportScope | None:
    covered = sorted(office.code for office in emergency.offices.all())
    if user.is_platform_admin:
        return ReportScope(emergency, tuple(covered), whole=True)
    if emergency.status not in (Emergency.Status.ACTIVE, Emergency.Status.ENDED):
        return None
    overseen = tuple(code for code in covered if code in user.office_codes)
    if not overseen:
        return None
    return ReportScope(emergency, overseen, whole=overseen == tuple(covered))


def get_report_scope(*, user, pk) -> ReportScope:
    """The emergency's report as the user may read it; 404 for anyone else, and for a
    customs supervisor none of whose offices it covers."""
    if not may_read_reports(user):
        raise Http404
    try:
        emergency = Emergency.objects.prefetch_related("offices").get(pk=pk)
    except (Emergency.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    scope = _scope(user, emergency)
    if scope is None:
        raise Http404
    return scope


class Percentile(Aggregate):
    """PostgreSQL's interpolated percentile of the group, NULLs ignored."""

    function = "percentile_cont"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


# The risk engine's reason for a relief consignment (risk.scoring.decide), which says
# whether the lane was lowered: "relief consignment (<name>): lane lowered from red to
# yellow", "...: lane red forced by rule, not lowered", "...: green already".
RELIEF_REASON = '$[*] ? (@.kind == "relief").text'
LANE_LOWERED = '$[*] ? (@.kind == "relief" && @.text like_regex ": lane lowered from ")'
LOWERED_FROM = re.compile(r"\): lane lowered from (\w+) to (\w+)$")
# A declaration's live version only: one it was replaced by counts instead.
NOT_LODGED = (Declaration.Status.DRAFT, Declaration.Status.AMENDED)
STOPPED = (
    Declaration.Status.REJECTED,
    Declaration.Status.CANCELLED,
    Declaration.Status.SEIZED,
)
LANES = ("green", "yellow", "red")


def _lodged_at():
    """When the consignment was first lodged: an amendment keeps its first version's time."""
    return Coalesce(F("first_version__submitted_at"), F("submitted_at"))


def _seconds_to_release():
    return Func(
        F("released_at") - F("lodged_at"),
        template="EXTRACT(EPOCH FROM %(expressions)s)",
        output_field=FloatField(),
    )


def _lane_lowered():
    return Func(
        F("lane_decision__reasons"),
        Value(LANE_LOWERED),
        function="jsonb_path_exists",
        output_field=BooleanField(),
    )


def _priority():
    return Exists(Review.objects.filter(declaration=OuterRef("pk"), relief=True))


def relief_consignments(scope: ReportScope) -> QuerySet[Declaration]:
    """The relief consignments lodged under the emergency at the scope's offices."""
    return Declaration.objects.filter(
        emergency=scope.emergency,
        office_of_entry__in=scope.offices,
        submitted_at__isnull=False,
    ).exclude(status__in=NOT_LODGED)


@dataclass
class TimeFigures:
    """Lodgement to release, in seconds, for one group of declarations."""

    lodged: int = 0
    released: int = 0
    median: float | None = None
    p90: float | None = None


@dataclass
class ReleaseTimes:
    """Lodgement to release by lane ("all" first), relief consignments against the
    ordinary imports lodged at the same offices during the emergency."""

    relief: dict[str, TimeFigures]
    ordinary: dict[str, TimeFigures]

    def rows(self):
        for lane in ("all", *LANES):
            yield lane, self.relief[lane], self.ordinary[lane]


def release_times(scope: ReportScope) -> ReleaseTimes:
    """One statement: both groups, each lane, counts and percentiles. Declarations not
    released yet are counted as lodged and left out of the percentiles."""
    emergency = scope.emergency
    declarations = (
        Declaration.objects.filter(
            Q(emergency=emergency) | Q(emergency__isnull=True),
            type=Declaration.Type.IMPORT,
            office_of_entry__in=scope.offices,
            submitted_at__isnull=False,
        )
        .exclude(status__in=NOT_LODGED)
        .annotate(lodged_at=_lodged_at())
        .filter(lodged_at__gte=emergency.starts_at, lodged_at__lt=emergency.ends_at)
        .annotate(seconds=_seconds_to_release())
        .annotate(
            relief=Case(When(emergency=emergency, then=True), default=False),
        )
    )
    aggregates = {}
    for lane in ("all", *LANES):
        only = Q() if lane == "all" else Q(lane=lane)
        aggregates |= {
            f"{lane}_lodged": Count("pk", filter=only),
            f"{lane}_released": Count("pk", filter=only & Q(released_at__isnull=False)),
            f"{lane}_median": Percentile("seconds", fraction=0.5, filter=only),
            f"{lane}_p90": Percentile("seconds", fraction=0.9, filter=only),
        }
    groups = {True: {}, False: {}}
    for row in declarations.values("relief").annotate(**aggregates).order_by():
        groups[row["relief"]] = row

    def figures(row: dict) -> dict[str, TimeFigures]:
        return {
            lane: TimeFigures(
                lodged=row.get(f"{lane}_lodged", 0),
                released=row.get(f"{lane}_released", 0),
                median=row.get(f"{lane}_median"),
                p90=row.get(f"{lane}_p90"),
            )
            for lane in ("all", *LANES)
        }

    return ReleaseTimes(relief=figures(groups[True]), ordinary=figures(groups[False]))


@dataclass
class ReportSummary:
    lodged: int
    released: int
    waiting: int
    stopped: int
    lanes: dict[str, int]
    lane_lowered: int
    priority: int
    duties_relieved: Decimal
    # Inspections and their findings: (kind label, finding label or "", count, revenue).
    inspections: list[tuple[str, str, int, Decimal]]


def report_summary(scope: ReportScope) -> ReportSummary:
    """Two statements: the consignments' counts and sums, the inspections' findings."""
    consignments = relief_consignments(scope)
    totals = consignments.aggregate(
        lodged=Count("pk"),
        released=Count("pk", filter=Q(released_at__isnull=False)),
        stopped=Count("pk", filter=Q(status__in=STOPPED)),
        lane_lowered=Count("pk", filter=_lane_lowered()),
        priority=Count("pk", filter=_priority()),
        duties_relieved=Coalesce(Sum("duties_relieved"), Decimal("0")),
        **{lane: Count("pk", filter=Q(lane=lane)) for lane in LANES},
    )
    findings = (
        Inspection.objects.filter(review__declaration__in=consignments.values("pk"))
        .exclude(status=Inspection.Status.CANCELLED)
        .values("kind", "status", "finding")
        .annotate(count=Count("pk"), revenue=Sum("revenue_difference"))
        .order_by("kind", "status", "finding")
    )
    kinds, found = dict(Inspection.Kind.choices), dict(Inspection.Finding.choices)
    return ReportSummary(
        lodged=totals["lodged"],
        released=totals["released"],
        stopped=totals["stopped"],
        waiting=totals["lodged"] - totals["released"] - totals["stopped"],
        lanes={lane: totals[lane] for lane in LANES},
        lane_lowered=totals["lane_lowered"],
        priority=totals["priority"],
        duties_relieved=totals["duties_relieved"],
        inspections=[
            (
                kinds[row["kind"]],
                found.get(row["finding"], "") if row["status"] == "done" else "",
                row["count"],
                row["revenue"] or Decimal("0"),
            )
            for row in findings
        ],
    )


@dataclass
class OwedDocuments:
    """What a provisional declaration still owes (the documents that may follow)."""

    provisional: bool
    missing: list[str]
    due: datetime | None = None
    overdue: bool = False


def documents_owed(declaration_ids: list[int]) -> dict[int, OwedDocuments] | None:
    """The documents each of these relief consignments still owes, in one statement,
    keyed by declaration id: whether it was lodged provisionally (relief app), what it
    has not supplied yet, by when, and whether that has passed."""
    owed = {pk: OwedDocuments(provisional=False, missing=[]) for pk in declaration_ids}
    provisional = (
        ProvisionalDeclaration.objects.filter(declaration_id__in=declaration_ids)
        .annotate(
            missing=ArrayAgg(
                "documents__description",
                filter=Q(documents__supplied_at__isnull=True),
                order_by="documents__id",
                default=[],
            )
        )
        .values_list("declaration_id", "status", "due_at", "missing")
    )
    for pk, status, due, missing in provisional:
        owed[pk] = OwedDocuments(
            provisional=True,
            missing=list(missing),
            due=due,
            overdue=status == ProvisionalDeclaration.Status.OVERDUE,
        )
    return owed


@dataclass
class ConsignmentRow:
    """One relief consignment as the report lists it."""

    declaration: Declaration
    lane_lowered_from: str
    lane_note: str
    inspections: list[str]
    owed: OwedDocuments | None

    @property
    def seconds_to_release(self) -> float | None:
        return self.declaration.seconds


def consignment_rows(scope: ReportScope, *, page=None) -> tuple[list[ConsignmentRow], bool]:
    """The relief consignments in order of lodgement (a page of them when `page`, a
    slice of the queryset, is given), with their inspections and the documents they
    owe: three statements. Returns the rows and whether the owed documents are
    tracked (they are, since the relief app records provisional declarations)."""
    consignments = (
        relief_consignments(scope)
        .select_related("company")
        .annotate(
            lodged_at=_lodged_at(),
            priority=_priority(),
            relief_reason=Func(
                F("lane_decision__reasons"),
                Value(RELIEF_REASON),
                function="jsonb_path_query_first",
                output_field=JSONField(),
            ),
            seconds=_seconds_to_release(),
        )
        .order_by("lodged_at", "pk")
    )
    declarations = list(consignments if page is None else consignments[page])
    ids = [d.pk for d in declarations]
    inspections: dict[int, list[str]] = {pk: [] for pk in ids}
    for inspection in (
        Inspection.objects.filter(review__declaration_id__in=ids)
        .exclude(status=Inspection.Status.CANCELLED)
        .annotate(declaration_id=F("review__declaration_id"))
        .order_by("pk")
    ):
        inspections[inspection.declaration_id].append(_inspection_text(inspection))
    owed = documents_owed(ids)
    rows = []
    for declaration in declarations:
        reason = declaration.relief_reason or ""
        lowered = LOWERED_FROM.search(reason)
        rows.append(
            ConsignmentRow(
                declaration=declaration,
                lane_lowered_from=lowered.group(1) if lowered else "",
                lane_note="" if lowered else reason.partition("): ")[2],
                inspections=inspections[declaration.pk],
                owed=None if owed is None else owed.get(declaration.pk),
            )
        )
    return rows, owed is not None


def _inspection_text(inspection: Inspection) -> str:
    what = inspection.get_kind_display()
    if inspection.status != Inspection.Status.DONE:
        return f"{what}: ordered, not recorded yet"
    text = f"{what}: {inspection.get_finding_display().lower()}"
    if inspection.revenue_difference:
        text += f" (+{inspection.revenue_difference:,.2f} {settings.NATIONAL_CURRENCY})"
    return text

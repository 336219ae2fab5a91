"""What the continuity pages and API read, scoped by who asks.

Administrators see every office and the whole platform's health. A customs
supervisor sees the offices they oversee (and diverts a closed one's work); any
supervisor sees the health of their agency's queues at their offices. Anyone
else: 404.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, FloatField, Func, Min, Q
from django.db.models.aggregates import Aggregate
from django.http import Http404
from django.utils import timezone

from agencies.models import LANE_RANK, Review
from clearance.continuity import may_divert_from
from core.broker import broker_queue_depth
from declarations.models import Declaration
from declarations.selectors import declarations_waiting_at
from notifications.selectors import outbox_backlog
from reference.models import Office, OfficeClosure
from reference.selectors import current_closures, diversion_targets, office_closures
from risk.models import LaneDecision, PlannedFallback, RiskJob
from risk.selectors import ScoringState, scoring_state

# The diversion page lists this many waiting declarations; bulk diversion takes all.
WAITING_LIST_LIMIT = 200


def ensure_admin(user) -> None:
    if not (user.is_authenticated and user.is_platform_admin):
        raise Http404


def sees_health(user) -> bool:
    return user.is_authenticated and (user.is_platform_admin or user.role == "supervisor")


def ensure_sees_health(user) -> None:
    if not sees_health(user):
        raise Http404


# ---- offices -------------------------------------------------------------------------------


def managed_offices(user) -> list[str] | None:
    """The office codes whose page the user may open: every one for an administrator
    (None), those a customs supervisor oversees; anyone else none."""
    if user.is_authenticated and user.is_platform_admin:
        return None
    if (
        user.is_authenticated
        and user.role == "supervisor"
        and user.agency
        and user.agency.is_customs
    ):
        return list(user.office_codes)
    return []


def ensure_manages_offices(user) -> None:
    """Administrators and customs supervisors; the office pages are 404 to anyone else."""
    if managed_offices(user) == []:
        raise Http404


def get_office_for_user(*, user, code: str) -> Office:
    """An office whose continuity page the user may open, or 404."""
    code = (code or "").upper()
    offices = managed_offices(user)
    if offices is not None and code not in offices:
        raise Http404
    office = Office.objects.filter(code=code, active=True).first()
    if office is None:
        raise Http404
    return office


@dataclass
class OfficeRow:
    office: Office
    closure: OfficeClosure | None
    waiting: int

    @property
    def closed(self) -> bool:
        return self.closure is not None and self.closure.in_force()


def office_overview(*, user) -> list[OfficeRow]:
    """Every active office (or the user's), whether it is closed or about to be, and how
    many declarations wait there: three queries."""
    ensure_manages_offices(user)
    offices = Office.objects.filter(active=True).order_by("code")
    managed = managed_offices(user)
    if managed is not None:
        offices = offices.filter(code__in=managed)
    closures = current_closures()
    waiting = _waiting_counts()
    return [
        OfficeRow(office=o, closure=closures.get(o.code), waiting=waiting.get(o.code, 0))
        for o in offices
    ]


def _waiting_counts() -> dict[str, int]:
    """Declarations waiting at each office, from the two partial indexes of waiting work."""
    statuses = list(Declaration.AT_OFFICE)
    counts: dict[str, int] = {}
    for field_name, types in (
        ("office_of_entry", [Declaration.Type.IMPORT]),
        ("office_of_departure", [Declaration.Type.EXPORT, Declaration.Type.TRANSIT]),
    ):
        rows = (
            Declaration.objects.filter(type__in=types, status__in=statuses)
            .values_list(field_name)
            .annotate(n=Count("pk"))
            .order_by()
        )
        for code, n in rows:
            counts[code] = counts.get(code, 0) + n
    return counts


@dataclass
class OfficeDesk:
    office: Office
    closure: OfficeClosure | None
    history: list
    waiting: list
    waiting_count: int
    targets: list
    may_divert: bool

    @property
    def closed(self) -> bool:
        return self.closure is not None and self.closure.in_force()


def office_desk(*, user, office: Office) -> OfficeDesk:
    """An office's continuity page: its closure, the closures before, and while it is
    closed the work waiting there (the oldest first) and the offices that may take it."""
    history = list(office_closures(office=office)[:10])
    closure = next((c for c in history if c.reopened_at is None), None)
    closed = closure is not None and closure.in_force()
    waiting = declarations_waiting_at(office.code).select_related("company")
    return OfficeDesk(
        office=office,
        closure=closure,
        history=history,
        waiting=list(waiting[:WAITING_LIST_LIMIT]) if closed else [],
        waiting_count=waiting.count() if closed else 0,
        targets=list(diversion_targets(office)) if closed else [],
        may_divert=closed and may_divert_from(user, office.code),
    )


# ---- scoring: planned outages and re-scoring ----------------------------------------------


def planned_fallback_history(limit: int = 10) -> list[PlannedFallback]:
    return list(
        PlannedFallback.objects.select_related(
            "proposed_by", "decided_by", "switched_off_by"
        ).order_by("-proposed_at", "-pk")[:limit]
    )


def get_rescore_job(*, user, pk) -> RiskJob:
    ensure_admin(user)
    job = RiskJob.objects.filter(pk=pk, kind=RiskJob.Kind.RESCORE).first()
    if job is None:
        raise Http404
    return job


# ---- surge health --------------------------------------------------------------------------


class Percentile(Aggregate):
    """percentile_cont(fraction) WITHIN GROUP (ORDER BY expression): PostgreSQL's
    continuous percentile, computed in the database over the rows aggregated."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def _seconds_between(start: str, end: str):
    return Func(F(end) - F(start), template="EXTRACT(EPOCH FROM %(expressions)s)",
                output_field=FloatField())  # fmt: skip


LAG_WINDOW = timedelta(hours=1)


@dataclass
class WaitingReviews:
    agency: str
    agency_name: str
    office: str
    waiting: int
    red: int
    oldest_at: datetime | None


@dataclass
class SurgeHealth:
    at: datetime
    queue_depth: int | None
    queue_error: str
    unscored: int
    oldest_unscored_at: datetime | None
    decided_last_hour: int
    lag_p50: float | None
    lag_p95: float | None
    reviews: list[WaitingReviews]
    closures: list
    scoring: ScoringState
    outbox: dict | None
    scope: str

    @property
    def oldest_unscored_seconds(self) -> float | None:
        if self.oldest_unscored_at is None:
            return None
        return max(0.0, (self.at - self.oldest_unscored_at).total_seconds())

    def _totals(self, key) -> list[dict]:
        totals: dict[str, dict] = {}
        for row in self.reviews:
            name = key(row)
            total = totals.setdefault(name, {"name": name, "waiting": 0, "red": 0,
                                             "oldest_at": None})  # fmt: skip
            total["waiting"] += row.waiting
            total["red"] += row.red
            if row.oldest_at and (total["oldest_at"] is None or row.oldest_at < total["oldest_at"]):
                total["oldest_at"] = row.oldest_at
        return sorted(totals.values(), key=lambda t: (-t["waiting"], t["name"]))

    @property
    def by_agency(self) -> list[dict]:
        return self._totals(lambda row: row.agency_name)

    @property
    def by_office(self) -> list[dict]:
        return self._totals(lambda row: row.office or "(no office)")


def surge_health(*, user) -> SurgeHealth:
    """The platform under load, for administrators (all of it) and supervisors (their
    agency's queues at their offices; the scoring figures are the platform's, one
    engine for all): seven queries whatever the volume, each on an index (the
    unscored submissions', the decisions' time, the queues'), and one question to the
    broker."""
    ensure_sees_health(user)
    now = timezone.now()
    try:
        depth, queue_error = broker_queue_depth(), ""
    except Exception as exc:  # the page says the broker is unreachable; it still shows
        depth, queue_error = None, f"{type(exc).__name__}: {exc}"[:200]
    unscored = Declaration.objects.filter(status=Declaration.Status.SUBMITTED).aggregate(
        n=Count("pk"), oldest=Min("submitted_at")
    )
    lag = LaneDecision.objects.filter(decided_at__gte=now - LAG_WINDOW).aggregate(
        n=Count("pk"),
        p50=Percentile(_seconds_between("declaration__submitted_at", "decided_at"), fraction=0.5),
        p95=Percentile(_seconds_between("declaration__submitted_at", "decided_at"), fraction=0.95),
    )
    reviews = Review.objects.filter(status__in=Review.ACTIVE)
    scope = "all agencies and offices"
    if not user.is_platform_admin:
        reviews = reviews.filter(agency_id=user.agency_id, office__in=user.office_codes)
        scope = f"{user.agency.name} at {', '.join(user.office_codes) or 'no office'}"
    rows = (
        reviews.values("agency__code", "agency__name", "office")
        .annotate(
            n=Count("pk"),
            red=Count("pk", filter=Q(lane_rank=LANE_RANK["red"])),
            oldest=Min("opened_at"),
        )
        .order_by("agency__name", "office")
    )
    closures = list(OfficeClosure.objects.in_force().select_related("office").order_by("office_id"))
    return SurgeHealth(
        at=now,
        queue_depth=depth,
        queue_error=queue_error,
        unscored=unscored["n"],
        oldest_unscored_at=unscored["oldest"],
        decided_last_hour=lag["n"],
        lag_p50=lag["p50"],
        lag_p95=lag["p95"],
        reviews=[
            WaitingReviews(
                agency=r["agency__code"],
                agency_name=r["agency__name"],
                office=r["office"],
                waiting=r["n"],
                red=r["red"],
                oldest_at=r["oldest"],
            )
            for r in rows
        ],
        closures=closures,
        scoring=scoring_state(),
        outbox=outbox_backlog() if user.is_platform_admin else None,
        scope=scope,
    )

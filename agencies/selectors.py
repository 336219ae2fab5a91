from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.functional import cached_property

from accounts.models import Company
from agencies.models import (
    LANE_RANK,
    Inspection,
    JurisdictionRule,
    LaneChangeProposal,
    LaneOverride,
    Permit,
    Query,
    Review,
    ReviewGroupObjectPermission,
    permits_by_citation,
)
from core.pagination import COUNT_CAP, CappedPaginator
from declarations.models import Document, ItemPermit
from declarations.reading.comparison import InvoiceComparison, invoice_comparison, latest_invoice

User = get_user_model()
ACTIVE_STATUSES = tuple(Review.ACTIVE)


def reviews_granted(*, user, perm: str, queryset: QuerySet[Review]) -> QuerySet[Review]:
    """Reviews the user's groups hold `perm` on, in guardian's direct FK table.

    A correlated EXISTS with the permission and the groups as one-off
    subqueries, rather than guardian's `pk IN (subquery)` joined through
    permissions and content types: with millions of grants the planner then
    walks the queue's index in order and probes one grant per row it returns,
    instead of hashing every grant of the agency on every request. Grants go
    to groups only (core.permissions).
    """
    app_label, codename = perm.split(".")
    permission = Permission.objects.filter(
        codename=codename, content_type__app_label=app_label
    ).values("pk")[:1]
    groups = User.groups.through.objects.filter(user_id=user.pk).values("group_id")
    grants = ReviewGroupObjectPermission.objects.filter(
        content_object=OuterRef("pk"),
        permission_id=Subquery(permission),
        group_id__in=Subquery(groups),
    )
    return queryset.filter(Exists(grants))


def _agency_reviews(*, user) -> QuerySet[Review]:
    """The reviews the user works (their agency's, at their offices), through the
    agency's grants."""
    return reviews_granted(
        user=user, perm="agencies.view_review", queryset=Review.objects.worked_by(user)
    )


MAX_AGE_DAYS = 36_500


@dataclass(frozen=True)
class QueueFilters:
    status: str = "active"  # "active", "all" or a Review.Status value
    lane: str = ""
    min_age_days: int | None = None
    hs_prefix: str = ""
    trader: str = ""
    mine: bool = False
    # One of the offices of a supervisor posted at several; empty: all of them.
    office: str = ""

    @classmethod
    def from_params(cls, params) -> "QueueFilters":
        status = params.get("status") or "active"
        if status not in ("active", "all", *Review.Status.values):
            status = "active"
        lane = params.get("lane") or ""
        if lane not in ("red", "yellow", "green"):
            lane = ""
        try:
            # Past a century nothing waits; a larger number would overflow the date.
            age = min(int(params.get("age") or ""), MAX_AGE_DAYS)
        except ValueError:
            age = None
        hs = "".join(ch for ch in params.get("hs", "") if ch.isdigit())[:10]
        return cls(
            status=status,
            lane=lane,
            min_age_days=age if age and age > 0 else None,
            hs_prefix=hs,
            trader=(params.get("trader") or "").replace("\x00", "").strip()[:100],
            mine=params.get("mine") in ("1", "true", "on"),
            office="".join(ch for ch in params.get("office", "") if ch.isalnum())[:8].upper(),
        )

    def as_params(self) -> dict[str, str]:
        params = {
            "status": self.status if self.status != "active" else "",
            "lane": self.lane,
            "age": str(self.min_age_days or ""),
            "hs": self.hs_prefix,
            "trader": self.trader,
            "mine": "1" if self.mine else "",
            "office": self.office,
        }
        return {key: value for key, value in params.items() if value}


def _filtered(queryset: QuerySet[Review], *, user, filters: QueueFilters) -> QuerySet[Review]:
    if filters.status == "active":
        queryset = queryset.filter(status__in=ACTIVE_STATUSES)
    elif filters.status != "all":
        queryset = queryset.filter(status=filters.status)
    if filters.lane:
        queryset = queryset.filter(lane_rank=LANE_RANK[filters.lane])
    if filters.min_age_days:
        queryset = queryset.filter(
            opened_at__lte=timezone.now() - timedelta(days=filters.min_age_days)
        )
    if filters.hs_prefix:
        queryset = queryset.filter(hs_prefixes__contains=[filters.hs_prefix])
    if filters.trader:
        companies = Company.objects.filter(
            Q(name__icontains=filters.trader) | Q(tax_id__iexact=filters.trader)
        ).values("pk")
        queryset = queryset.filter(company_id__in=Subquery(companies))
    if filters.mine:
        queryset = queryset.filter(assigned_to=user)
    if filters.office:
        # Within the user's offices, which the scope already holds to: another
        # office's code finds nothing.
        queryset = queryset.filter(office=filters.office)
    return queryset


# Red lane first, then oldest first: the order of review_priority_idx.
QUEUE_ORDER = ("-relief", "lane_rank", "opened_at", "pk")
# What a queue line shows, on the page and in the API; nothing else is read.
QUEUE_ROW_RELATED = (
    "declaration__company",
    "declaration__lane_decision",
    "agency",
    "assigned_to",
)
QUEUE_ROW_FIELDS = (
    "status",
    "opened_at",
    "decided_at",
    # Declaration.reference is made of these.
    "declaration__type",
    "declaration__version",
    "declaration__first_version",
    "declaration__lane",
    # Whether a fallback took the lane decision (the queue's badge).
    "declaration__lane_decision__fallback",
    "declaration__company__name",
    "office",
    "agency__code",
    "assigned_to__username",
)


def review_queue(*, user, filters: QueueFilters | None = None) -> QuerySet[Review]:
    """The reviews of the user's agency at their offices, red lane first, then oldest.

    Everything a queue row shows comes in the same query (select_related), so
    a page costs the same number of queries whatever its size.
    """
    filters = filters or QueueFilters(status="all")
    queryset = _agency_reviews(user=user).select_related(*QUEUE_ROW_RELATED)
    return _filtered(queryset, user=user, filters=filters).order_by(*QUEUE_ORDER)


def _agency_scope(*, user) -> QuerySet[Review]:
    """The reviews the user works by agency and office alone, for numbers and positions.

    Every review of an agency is granted to the agency's group when it opens
    (agencies.services.reviews_open), so this holds the same rows as the
    granted queue; it spares the grant probe on each of tens of thousands of
    rows, which is what a count, or the rows skipped before a deep page,
    would cost. Rows themselves are only ever read through the grants
    (ReviewQueuePages, review_queue, get_review_for_user).
    """
    return Review.objects.worked_by(user)


class ReviewQueuePages:
    """The queue as a sequence Paginator can slice: a page costs three queries.

    The count (up to COUNT_CAP + 1, as core.pagination does) and the ids of a
    page's rows are read from the queue's indexes alone, in _agency_scope;
    then only the page's own rows are read through the grants, with what they
    show. Checking grants while walking to a deep page would probe one grant
    per skipped row, and joining in one query would join each skipped row to
    its declaration, company and officer before discarding it.
    """

    def __init__(self, *, user, filters: QueueFilters):
        self.user, self.filters = user, filters
        self.positions = _filtered(_agency_scope(user=user), user=user, filters=filters)

    def count(self) -> int:
        return self.positions.order_by()[: COUNT_CAP + 1].count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        ids = list(self.positions.order_by(*QUEUE_ORDER).values_list("pk", flat=True)[index])
        rows = (
            _agency_reviews(user=self.user)
            .select_related(*QUEUE_ROW_RELATED)
            .only(*QUEUE_ROW_FIELDS)
            .in_bulk(ids)
        )
        return [rows[pk] for pk in ids if pk in rows]


class ReviewQueuePaginator(CappedPaginator):
    """Pages of ReviewQueuePages, which stops counting at the cap itself."""

    @cached_property
    def count(self) -> int:
        return self.object_list.count()


def review_queue_counts(*, user, office: str = "") -> dict[str, int]:
    """Open work of the user's agency at their offices (or at one of them) by status
    and by lane, in one query."""
    scope = _agency_scope(user=user)
    if office:
        scope = scope.filter(office=office)
    # Restricted to waiting work first, so the partial queue index answers it.
    return scope.filter(status__in=ACTIVE_STATUSES).aggregate(
        active=Count("pk"),
        open=Count("pk", filter=Q(status=Review.Status.OPEN)),
        in_progress=Count("pk", filter=Q(status=Review.Status.IN_PROGRESS)),
        queried=Count("pk", filter=Q(status=Review.Status.QUERIED)),
        red=Count("pk", filter=Q(lane_rank=LANE_RANK["red"])),
        yellow=Count("pk", filter=Q(lane_rank=LANE_RANK["yellow"])),
        green=Count("pk", filter=Q(lane_rank=LANE_RANK["green"])),
        mine=Count("pk", filter=Q(assigned_to=user)),
    )


def get_review_for_user(*, user, pk, with_details: bool = False) -> Review:
    """One review of the user's agency at one of their offices, or 404."""
    queryset = _agency_reviews(user=user).select_related(
        "declaration",
        "declaration__company",
        "declaration__lane_decision",
        "agency",
        "assigned_to",
        "decided_by",
    )
    if with_details:
        queryset = queryset.prefetch_related(
            "items",
            Prefetch("queries", queryset=Query.objects.select_related("asked_by", "answered_by")),
            Prefetch(
                "inspections",
                queryset=Inspection.objects.select_related("recorded_by").prefetch_related("items"),
            ),
            Prefetch("permits", queryset=Permit.objects.select_related("issued_by")),
        )
    return get_object_or_404(queryset, pk=pk)


def invoice_check_for_review(*, review: Review, slice_lines) -> InvoiceComparison:
    """The declaration against its invoice, as this review's agency may see it: customs
    all of it; another agency only the lines of the items in its slice (the goods it
    regulates), as it sees only those items and their documents."""
    declaration = review.declaration
    document = latest_invoice(
        Document.objects.filter(declaration_id=declaration.pk).select_related("invoice_reading")
    )
    # Every item, so that the invoice's lines pair as they do for the declarant.
    check = invoice_comparison(
        declaration, items=list(declaration.items.order_by("line_no")), document=document
    )
    if review.agency.is_customs:
        return check
    return check.for_items(slice_lines)


def review_decisions(*, review: Review) -> QuerySet[Review]:
    """The reviews of the same declaration that this review's agency may see: customs,
    which releases the goods, sees where every agency stands; another agency sees its
    own review only, not which other agencies look at the declaration."""
    reviews = Review.objects.filter(declaration_id=review.declaration_id)
    if not review.agency.is_customs:
        reviews = reviews.filter(agency_id=review.agency_id)
    return reviews.select_related("agency", "decided_by").order_by(
        "-agency__is_customs", "agency__name"
    )


def trader_history(*, review: Review, user, limit: int = 10) -> QuerySet[Review]:
    """This agency's earlier decisions on the same trader's declarations, at the
    offices the user works at (another office's work is not theirs to read)."""
    return (
        Review.objects.worked_by(user)
        .filter(
            agency_id=review.agency_id,
            declaration__company_id=review.declaration.company_id,
            status__in=[Review.Status.APPROVED, Review.Status.REJECTED],
        )
        .exclude(pk=review.pk)
        .select_related("declaration", "decided_by")
        .order_by("-decided_at")[:limit]
    )


# --- Queries, seen by the trader and by the agency that asked ---------------


def query_list(*, user) -> QuerySet[Query]:
    """Traders: queries on their company's declarations. Agency staff: their agency's,
    at their offices."""
    from declarations.selectors import declaration_list

    queryset = Query.objects.select_related(
        "review",
        "review__agency",
        "review__declaration",
        "asked_by__agency",
        "answered_by__agency",
    )
    if user.is_trader:
        return queryset.filter(review__declaration__in=declaration_list(user=user).values("pk"))
    if user.is_agency_staff:
        return queryset.filter(review__in=_agency_reviews(user=user).values("pk"))
    return queryset.none()


def get_query_for_user(*, user, pk) -> Query:
    return get_object_or_404(query_list(user=user), pk=pk)


def jurisdiction_rule_list() -> QuerySet[JurisdictionRule]:
    return JurisdictionRule.objects.select_related("agency").order_by("agency__name", "hs_prefix")


# Reasons that say nothing about any one item: every agency may read them.
DECLARATION_WIDE_REASONS = {"lane", "none", "random", "manual", "floor"}


# What a fallback left out of a lane decision, in words for officers (never traders).
FALLBACK_LEFT_OUT = {
    "rules_only": "the learned model was left out: the rules alone decided",
    "default_lane": "the selectivity rules and the model were left out: the lane is at least "
    "the configured fallback lane",
}


def lane_decision_rescore(declaration):
    """The re-scoring of the declaration's lane decision, if a fallback took it and it was
    scored again (risk.LaneRescore); one query, for the review page."""
    decision = getattr(declaration, "lane_decision", None)
    if decision is None:
        return None
    from risk.models import LaneRescore

    return LaneRescore.objects.filter(lane_decision_id=decision.pk).first()


def lane_decision_fallback(declaration) -> dict | None:
    """How the declaration's lane decision fell short of the full engine, for its officers:
    `kind`, `left_out` (what was left out, in words), `planned` (an administrator's
    planned outage rather than a fault); None when the full engine decided. Reads the
    decision the caller selected with the declaration (no query)."""
    decision = getattr(declaration, "lane_decision", None)
    if decision is None or not decision.fallback:
        return None
    return {
        "kind": decision.fallback,
        "left_out": FALLBACK_LEFT_OUT.get(decision.fallback, decision.get_fallback_display()),
        "planned": any(r.get("planned") for r in decision.reasons if r.get("kind") == "fallback"),
        "decided_at": decision.decided_at,
    }


def lane_reasons(declaration, *, keep=None, words=None) -> list[str]:
    """Why the declaration's lane is what it is now: the latest lane change first (who
    changed it, from what, and why), then the reasons of the decision it changed
    (those `keep` accepts, if given, each in `words(reason)` if given)."""
    changes = [
        f"lane {o.from_lane} → {o.to_lane}, changed by {o.changed_by.username} on "
        f"{timezone.localtime(o.changed_at):%Y-%m-%d %H:%M}: {o.reason}"
        for o in LaneOverride.objects.filter(declaration_id=declaration.pk)
        .select_related("changed_by")
        .order_by("-changed_at", "-pk")
    ]
    decision = getattr(declaration, "lane_decision", None)
    if decision is None:
        return changes
    texts = [
        words(reason) if words else reason["text"]
        for reason in decision.reasons
        if keep is None or keep(reason)
    ]
    if changes:
        texts = [f"first decision, {decision.lane} lane: {text}" for text in texts]
    return changes + texts


def risk_reasons_for_review(review, slice_lines) -> list[str]:
    """Why the declaration's lane is what it is now, as this review's agency may read it.

    Customs reads every reason. Another agency reads the declaration-wide ones
    and those about items of its slice: a rule that fired on another agency's
    goods would otherwise tell it what those goods are.
    """
    if review.agency.is_customs:
        return lane_reasons(review.declaration)
    lines = set(slice_lines)
    return lane_reasons(
        review.declaration,
        keep=lambda reason: (
            reason.get("kind") in DECLARATION_WIDE_REASONS
            or bool(lines & set(reason.get("items") or []))
        ),
        words=_slice_words,
    )


def _slice_words(reason: dict) -> str:
    """A declaration-wide reason as another agency reads it: the lane it led to, not the
    total score, the thresholds or the random selection rates, which are customs'
    targeting."""
    kind = reason.get("kind")
    if kind == "lane":
        return reason["text"].split(":", 1)[0]
    if kind == "random":
        return f"selected at random, lane {reason.get('force_lane', '')}".strip()
    return reason["text"]


# --- Permits ---------------------------------------------------------------


def permit_list(*, user, q: str = "", status: str = "") -> QuerySet[Permit]:
    """Agency staff: the permits their agency issued. Traders: those issued to their
    company, which its declarations may cite. Anyone else: none."""
    queryset = Permit.objects.select_related("agency", "holder", "issued_by", "review")
    if user.is_authenticated and user.is_agency_staff:
        queryset = queryset.filter(agency_id=user.agency_id)
    elif user.is_authenticated and user.is_trader:
        queryset = queryset.filter(holder_id=user.company_id)
    else:
        return queryset.none()
    # NUL is in no stored text, and PostgreSQL refuses it in a query.
    q = q.replace("\x00", "").strip()[:100]
    if q:
        queryset = queryset.filter(
            Q(number__icontains=q)
            | Q(permit_type__icontains=q)
            | Q(holder__name__icontains=q)
            | Q(holder__tax_id__iexact=q)
            | Q(hs_prefixes__contains=[q])
        )
    if status in Permit.Status.values:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-issued_at", "-pk")


def get_permit_for_user(*, user, pk) -> Permit:
    """One permit of the user's agency, or issued to the user's company; else 404."""
    return get_object_or_404(permit_list(user=user), pk=pk)


def permit_cleared_reviews(*, reviews, items_of: dict[int, list], on: date) -> set[int]:
    """The reviews whose agency's slice is all covered by permits that check out.

    For the clearance process, when reviews open: an agency need not look at a
    slice when every item of it cites a permit of that agency which the
    lodgement check would accept on `on` (the declarant's, covering the goods,
    valid, not revoked), and no jurisdiction rule covering those items says
    `always_review`. Customs is never cleared by permits. Reads nothing but
    three queries, whatever the number of reviews (the risk worker applies
    lanes to batches): the jurisdiction, the items' citations, the permits.
    `items_of` maps each review's declaration id to its items, as in
    agencies.services.reviews_open_many.
    """
    reviews = [r for r in reviews if not r.agency.is_customs]
    if not reviews:
        return set()
    items = [item for r in reviews for item in items_of[r.declaration_id]]
    rules = list(
        JurisdictionRule.objects.for_hs_codes({item.hs_code for item in items}).filter(
            agency_id__in={r.agency_id for r in reviews}
        )
    )
    citations: dict[tuple[int, int], str] = {}
    codes: dict[int, str] = {}
    for item_id, agency_id, code, reference in ItemPermit.objects.filter(
        item__in=[item.pk for item in items], agency_id__in={r.agency_id for r in reviews}
    ).values_list("item_id", "agency_id", "agency__code", "reference"):
        citations[(item_id, agency_id)] = reference
        codes[agency_id] = code
    permits = permits_by_citation(
        (codes[agency_id], reference) for (_, agency_id), reference in citations.items()
    )
    cleared = set()
    for review in reviews:
        declaration = review.declaration
        covering = [r for r in rules if r.agency_id == review.agency_id]
        slice_ = [
            item
            for item in items_of[review.declaration_id]
            if any(rule.covers(item, declaration) for rule in covering)
        ]
        if not slice_ or any(
            rule.always_review and rule.covers(item, declaration)
            for rule in covering
            for item in slice_
        ):
            continue
        if all(
            _permit_checks_out(
                permits.get(
                    (codes.get(review.agency_id), citations.get((item.pk, review.agency_id)))
                ),
                item,
                company_id=declaration.company_id,
                on=on,
            )
            for item in slice_
        ):
            cleared.add(review.pk)
    return cleared


def _permit_checks_out(permit, item, *, company_id: int, on: date) -> bool:
    return permit is not None and not permit.refusal(item, company_id=company_id, on=on)


def slice_cleared_by_permits(*, review, items: list, on: date) -> bool:
    """permit_cleared_reviews for one review and its declaration's items."""
    cleared = permit_cleared_reviews(
        reviews=[review], items_of={review.declaration_id: items}, on=on
    )
    return review.pk in cleared


def sees_lane_proposals(user) -> bool:
    """Customs staff: lane work is customs', and targeting is confidential."""
    return bool(
        user.is_authenticated and user.is_agency_staff and user.agency and user.agency.is_customs
    )


def lane_proposal_list(*, user) -> QuerySet[LaneChangeProposal]:
    """Proposals to lower a lane, for customs supervisors (who decide them), on the
    declarations of the offices they oversee; each with the customs review it is
    worked from. Anyone else: 404."""
    if not (sees_lane_proposals(user) and user.role == "supervisor"):
        raise Http404
    customs_review = Review.objects.worked_by(user).filter(
        declaration_id=OuterRef("declaration_id")
    )
    return (
        LaneChangeProposal.objects.select_related("declaration", "proposed_by", "decided_by")
        .annotate(review_id=Subquery(customs_review.values("pk")[:1]))
        .filter(Exists(customs_review))
    )


def get_lane_proposal_for_user(*, user, pk) -> LaneChangeProposal:
    return get_object_or_404(lane_proposal_list(user=user), pk=pk)


def pending_lane_proposal(*, user, declaration) -> LaneChangeProposal | None:
    """The lowering of the lane waiting on a declaration, for customs staff; else none."""
    if not sees_lane_proposals(user):
        return None
    return (
        LaneChangeProposal.objects.select_related("proposed_by")
        .filter(declaration=declaration, status=LaneChangeProposal.Status.PROPOSED)
        .first()
    )

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from core.models import Proposal
from core.states import Stateful
from declarations.models import Declaration

hs_prefix_validator = RegexValidator(
    r"^\d{2}(\d{2}){0,4}$", "An HS prefix is 2, 4, 6, 8 or 10 digits (chapter, heading, ...)."
)
country_code_list_validator = RegexValidator(r"^[A-Z]{2}$", "A country is an ISO 3166 code: CN.")
procedure_code_list_validator = RegexValidator(r"^\d{4}$", "A procedure code is 4 digits.")

# What a rule applies to when it does not say: imports. An agency's conditions on
# goods entering the market (notifications, import licences, quarantine on entry)
# are not asked of goods leaving it or of goods crossing under customs seal; an
# agency that controls exports or transit (strategic goods, cultural property,
# arms) names those types on its rule.
IMPORTS = ["IM"]


def imports_only() -> list[str]:
    return list(IMPORTS)


# Queue priority of a lane, red first; stored on the review (see LANE_RANK_TRIGGER).
LANE_RANK = {"red": 0, "yellow": 1, "green": 2, "": 3}


class Agency(models.Model):
    """A government agency that regulates some goods; customs reviews everything."""

    code = models.SlugField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    is_customs = models.BooleanField(default=False)
    # Reviews of this agency are granted to this group (django-guardian).
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="agency")

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["-is_customs", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_customs"], condition=Q(is_customs=True), name="one_customs_agency"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class JurisdictionRuleQuerySet(models.QuerySet):
    def for_hs_codes(self, hs_codes):
        """The rules whose prefix begins one of these codes: the only ones that can
        cover them, read without the rest of the jurisdiction table."""
        return self.filter(hs_prefix__in=hs_prefixes_of(hs_codes))


class JurisdictionRule(models.Model):
    """Goods under an HS prefix need this agency's review (and its permit)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="jurisdiction")
    hs_prefix = models.CharField(max_length=10, validators=[hs_prefix_validator])
    permit_type = models.CharField(
        max_length=100, blank=True, help_text="Permit or certificate the agency requires."
    )
    description = models.CharField(max_length=200, blank=True)
    # Optional narrowing: empty means any origin / any procedure.
    origin_countries = ArrayField(
        models.CharField(max_length=2, validators=[country_code_list_validator]),
        blank=True,
        default=list,
        help_text="Only goods from these countries (ISO codes, comma-separated); empty: any.",
    )
    procedure_codes = ArrayField(
        models.CharField(max_length=4, validators=[procedure_code_list_validator]),
        blank=True,
        default=list,
        help_text="Only declarations under these procedures (4 digits); empty: any.",
    )
    declaration_types = ArrayField(
        models.CharField(max_length=2, choices=Declaration.Type),
        default=imports_only,
        help_text="The declarations the rule applies to: imports, exports, transit.",
    )
    always_review = models.BooleanField(
        default=False,
        help_text="the agency looks at these goods even when a valid permit is cited",
    )

    objects = JurisdictionRuleQuerySet.as_manager()

    class Meta:
        ordering = ["agency", "hs_prefix"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "hs_prefix"], name="unique_agency_hs_prefix"),
            # Unlike origins and procedures, no types is not "any": a rule says which.
            models.CheckConstraint(
                name="jurisdiction_names_declaration_types", condition=~Q(declaration_types=[])
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency.code}: HS {self.hs_prefix}"

    def covers(self, item, declaration) -> bool:
        """Whether the rule applies to this item of this declaration (its type and
        procedure)."""
        return (
            declaration.type in self.declaration_types
            and item.hs_code.startswith(self.hs_prefix)
            and (not self.origin_countries or item.origin_country in self.origin_countries)
            and (not self.procedure_codes or declaration.procedure in self.procedure_codes)
        )


def hs_prefixes_of(hs_codes) -> list[str]:
    return sorted({code[:n] for code in hs_codes for n in range(2, len(code) + 1, 2)})


class ReviewQuerySet(models.QuerySet):
    def worked_by(self, user):
        """The reviews an agency's officer or supervisor works: their agency's, in the
        queues of the offices they are posted at. Nobody else's, and none for staff
        posted nowhere. The offices are constants in the query (User.office_codes),
        so one office's queue is one range of the queue indexes."""
        if not (user.is_authenticated and user.is_agency_staff and user.office_codes):
            return self.none()
        return self.filter(agency_id=user.agency_id, office__in=user.office_codes)


class Review(Stateful, models.Model):
    """One agency's review of its slice of a declaration."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        QUERIED = "queried", "Queried"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        # The declaration left review without this agency's decision: cancelled
        # or amended by the trader, or rejected by another agency.
        CLOSED = "closed", "Closed"

    TRANSITIONS = {
        Status.OPEN: frozenset(
            {Status.IN_PROGRESS, Status.QUERIED, Status.APPROVED, Status.REJECTED, Status.CLOSED}
        ),
        Status.IN_PROGRESS: frozenset(
            {Status.QUERIED, Status.APPROVED, Status.REJECTED, Status.CLOSED}
        ),
        # A query waits for the trader: the answer, a rejection or the end of the
        # declaration move it on, an approval does not.
        Status.QUERIED: frozenset({Status.IN_PROGRESS, Status.REJECTED, Status.CLOSED}),
        # Only an approval the platform gave, when its basis goes (a green lane
        # raised), and then the agency's officers take the review up again.
        Status.APPROVED: frozenset({Status.OPEN}),
        Status.REJECTED: frozenset(),
        Status.CLOSED: frozenset(),
    }
    # Waiting for the agency (or for the trader's answer): the queue's work.
    ACTIVE = frozenset({Status.OPEN, Status.IN_PROGRESS, Status.QUERIED})

    declaration = models.ForeignKey(
        "declarations.Declaration", on_delete=models.CASCADE, related_name="reviews"
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="reviews")
    items = models.ManyToManyField("declarations.Item", related_name="reviews")
    status = models.CharField(max_length=16, choices=Status, default=Status.OPEN)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_reviews",
    )
    opened_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decided_reviews",
    )
    conditions = models.TextField(blank=True, help_text="Conditions attached to an approval.")
    # Set when the platform approved the slice with no officer: why it could
    # (the green lane for customs, the permits cited for another agency).
    automatic_basis = models.CharField(max_length=300, blank=True)
    reason = models.TextField(blank=True, help_text="Why the review was rejected or closed.")
    # Permits the agency's jurisdiction required when the review opened, kept so
    # that later jurisdiction changes leave open reviews as they were.
    permits_required = ArrayField(models.CharField(max_length=100), blank=True, default=list)
    # A copy of the declaration's lane as a rank (red 0 ... none 3), kept in step
    # by a database trigger whatever code path changes the lane, so the queue is
    # sorted from one index instead of a join over every open review.
    lane_rank = models.PositiveSmallIntegerField(default=LANE_RANK[""])
    # Copies fixed when the review opens (a slice and a declarant never change),
    # so the queue filters by trader and HS prefix from indexes on the review.
    company = models.ForeignKey(
        "accounts.Company", null=True, on_delete=models.PROTECT, related_name="+"
    )
    hs_prefixes = ArrayField(
        models.CharField(max_length=10),
        blank=True,
        default=list,
        help_text="Every 2, 4, 6, 8 and 10-digit prefix of the slice's HS codes.",
    )
    # The customs office whose queue the review is in: the declaration's control
    # office (Declaration.control_office) when the review opens. A copy, so that
    # every queue index leads with (agency, office) and an officer's queue is one
    # range of it. A UN/LOCODE, as the declaration names it.
    office = models.CharField(max_length=8, blank=True)
    # A relief consignment of an emergency that gives relief priority: first in the
    # queue, whatever its lane. A copy fixed when the review opens, for the index.
    relief = models.BooleanField(default=False)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["declaration", "agency"], name="one_review_per_agency"),
            models.CheckConstraint(
                name="decided_review_has_decider",
                condition=~Q(status__in=["approved", "rejected"])
                | Q(decided_at__isnull=False, decided_by__isnull=False)
                | Q(status="approved", decided_at__isnull=False, decided_by__isnull=True)
                & ~Q(automatic_basis=""),
            ),
            models.CheckConstraint(
                name="rejected_review_has_reason",
                condition=~Q(status="rejected") | ~Q(reason=""),
            ),
        ]
        indexes = [
            # The officer's queue: an office's reviews of an agency by status, oldest first.
            models.Index(
                fields=["agency", "office", "status", "opened_at"], name="review_office_queue_idx"
            ),
            # The default queue order (red first, then oldest) straight from an index.
            # status and assigned_to included so the queue's counts read the index alone.
            models.Index(
                fields=["agency", "office", "-relief", "lane_rank", "opened_at", "id"],
                include=["status", "assigned_to"],
                name="review_office_priority_idx",
                condition=Q(status__in=["open", "in_progress", "queried"]),
            ),
            models.Index(
                fields=["agency", "office", "company", "-relief", "lane_rank", "opened_at", "id"],
                name="review_office_trader_idx",
                condition=Q(status__in=["open", "in_progress", "queried"]),
            ),
            GinIndex(fields=["hs_prefixes"], name="review_hs_prefixes_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.agency.code} review of {self.declaration_id}"

    @property
    def is_decided(self) -> bool:
        return self.status in (self.Status.APPROVED, self.Status.REJECTED)

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


# Direct foreign-key permission tables (one row per object and group), so
# guardian never joins through the generic table.
class ReviewUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Review, on_delete=models.CASCADE)


class ReviewGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Review, on_delete=models.CASCADE)


class Query(models.Model):
    """A question an officer puts to the trader; the declaration waits for the answer."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="queries")
    question = models.TextField()
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    asked_at = models.DateTimeField()
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "queries"
        ordering = ["asked_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="answer_is_complete",
                condition=Q(answered_at__isnull=True, answered_by__isnull=True, answer="")
                | (Q(answered_at__isnull=False, answered_by__isnull=False) & ~Q(answer="")),
            ),
        ]
        indexes = [
            models.Index(
                fields=["review"], condition=Q(answered_at__isnull=True), name="query_open_idx"
            )
        ]

    def __str__(self) -> str:
        return f"query {self.pk} on review {self.review_id}"

    @property
    def is_open(self) -> bool:
        return self.answered_at is None


class Inspection(Stateful, models.Model):
    """Customs' lane work and its outcome; the risk engine learns from these rows.

    The lane orders one (yellow: a documentary check, red: a physical
    inspection); the officer records what it found, which makes it done. An
    officer may also record a check nobody ordered. A lane change cancels an
    ordered check the new lane does not need.
    """

    class Status(models.TextChoices):
        ORDERED = "ordered", "To do"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Not needed"

    TRANSITIONS = {
        Status.ORDERED: frozenset({Status.DONE, Status.CANCELLED}),
        Status.DONE: frozenset(),
        Status.CANCELLED: frozenset(),
    }

    class Kind(models.TextChoices):
        DOCUMENTARY = "documentary", "Documentary check"
        PHYSICAL = "physical", "Physical inspection"

    class Finding(models.TextChoices):
        NO_DISCREPANCY = "no_discrepancy", "No discrepancy"
        MISDECLARED_VALUE = "misdeclared_value", "Misdeclared value"
        MISDECLARED_QUANTITY = "misdeclared_quantity", "Misdeclared quantity"
        MISDECLARED_ORIGIN = "misdeclared_origin", "Misdeclared origin"
        MISCLASSIFICATION = "misclassification", "Misclassification"
        PROHIBITED_GOODS = "prohibited_goods", "Prohibited goods"
        UNDECLARED_GOODS = "undeclared_goods", "Undeclared goods"

    # Findings that stop the goods: the declaration is detained until a
    # supervisor decides.
    DETAINING = frozenset({Finding.PROHIBITED_GOODS, Finding.UNDECLARED_GOODS})

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="inspections")
    kind = models.CharField(max_length=16, choices=Kind)
    status = models.CharField(max_length=16, choices=Status, default=Status.ORDERED)
    ordered_at = models.DateTimeField(null=True, blank=True)
    finding = models.CharField(max_length=24, choices=Finding, blank=True)
    revenue_difference = models.DecimalField(
        max_digits=18,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Duties and taxes recovered, in national currency.",
    )
    notes = models.TextField(blank=True)
    # The items the finding concerns: labelled as offences for the risk model,
    # the other items inspected as clean.
    items = models.ManyToManyField("declarations.Item", blank=True, related_name="findings")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                name="revenue_difference_not_negative", condition=Q(revenue_difference__gte=0)
            ),
            models.CheckConstraint(
                name="done_inspection_has_finding",
                condition=~Q(status="done")
                | (~Q(finding="") & Q(recorded_by__isnull=False, recorded_at__isnull=False)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of review {self.review_id}: {self.status}"


class PermitQuerySet(models.QuerySet):
    def cited(self, pairs):
        """The permits that (agency code, number) pairs may name, in one query: a
        superset of them, matched exactly by the caller (see permits_by_citation)."""
        pairs = list(pairs)
        if not pairs:
            return self.none()
        return self.filter(
            agency__code__in={code for code, _ in pairs},
            number__in={normalise_permit_number(number) for _, number in pairs},
        ).select_related("agency")


def normalise_permit_number(number: str) -> str:
    # Numbers are issued upper-case; a trader who types one in lower case means the same.
    return number.strip().upper()


class Permit(Stateful, models.Model):
    """A permit, licence or certificate an agency issued to a company for some goods.

    Issued ahead of any declaration (a food import permit for a year, say), or
    by an officer while reviewing one (`review`); declarations cite its number
    on their items, and lodgement checks it (declarations.validation).
    """

    class Status(models.TextChoices):
        VALID = "valid", "Valid"
        REVOKED = "revoked", "Revoked"

    TRANSITIONS = {
        Status.VALID: frozenset({Status.REVOKED}),
        Status.REVOKED: frozenset(),
    }

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="permits")
    number = models.CharField(max_length=40)
    permit_type = models.CharField(max_length=100)
    holder = models.ForeignKey(
        "accounts.Company",
        on_delete=models.PROTECT,
        related_name="permits",
        help_text="The company the permit was issued to; only its declarations may cite it.",
    )
    hs_prefixes = ArrayField(
        models.CharField(max_length=10, validators=[hs_prefix_validator]),
        help_text="Goods covered: HS chapters, headings or subheadings (comma-separated).",
    )
    origin_countries = ArrayField(
        models.CharField(max_length=2, validators=[country_code_list_validator]),
        blank=True,
        default=list,
        help_text="Only goods from these countries (ISO codes, comma-separated); empty: any.",
    )
    valid_from = models.DateField()
    valid_until = models.DateField()
    review = models.ForeignKey(
        Review,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="permits",
        help_text="The review it was issued while reviewing, if any.",
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status, default=Status.VALID)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.TextField(blank=True)

    objects = PermitQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "number"], name="unique_agency_permit_number"
            ),
            models.CheckConstraint(
                name="permit_validity_in_order", condition=Q(valid_until__gte=F("valid_from"))
            ),
            models.CheckConstraint(name="permit_covers_goods", condition=~Q(hs_prefixes=[])),
            models.CheckConstraint(
                name="revoked_permit_has_reason",
                condition=Q(status="valid", revoked_at__isnull=True)
                | (
                    Q(status="revoked", revoked_at__isnull=False, revoked_by__isnull=False)
                    & ~Q(revoke_reason="")
                ),
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "-issued_at"], name="permit_agency_idx"),
            models.Index(fields=["holder", "-issued_at"], name="permit_holder_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    def covers(self, item) -> bool:
        return any(item.hs_code.startswith(prefix) for prefix in self.hs_prefixes) and (
            not self.origin_countries or item.origin_country in self.origin_countries
        )

    def refusal(self, item, *, company_id: int, on: date) -> str:
        """Why this permit does not allow the item of a declaration by the company,
        lodged on `on`, in words after the permit's number; "" when it does."""
        # Another company's permit says nothing more about itself.
        if self.holder_id != company_id:
            return "was issued to another company"
        if self.status == self.Status.REVOKED:
            return f"was revoked on {self.revoked_at:%Y-%m-%d}"
        if not any(item.hs_code.startswith(prefix) for prefix in self.hs_prefixes):
            return f"does not cover HS {item.hs_code} (it covers {', '.join(self.hs_prefixes)})"
        if self.origin_countries and item.origin_country not in self.origin_countries:
            return (
                f"does not cover goods from {item.origin_country} "
                f"(only from {', '.join(self.origin_countries)})"
            )
        if on > self.valid_until:
            return f"expired on {self.valid_until:%Y-%m-%d}"
        if on < self.valid_from:
            return f"is not valid before {self.valid_from:%Y-%m-%d}"
        return ""


def permits_by_citation(pairs) -> dict[tuple[str, str], Permit]:
    """The permits named by (agency code, number) pairs, keyed by them as cited."""
    pairs = list(pairs)
    found = {(p.agency.code, p.number): p for p in Permit.objects.cited(pairs)}
    cited = {}
    for code, number in pairs:
        permit = found.get((code, normalise_permit_number(number)))
        if permit is not None:
            cited[(code, number)] = permit
    return cited


class LaneOverride(models.Model):
    """A supervisor's change of a declaration's lane, with the reason (four eyes)."""

    declaration = models.ForeignKey(
        "declarations.Declaration", on_delete=models.PROTECT, related_name="lane_overrides"
    )
    from_lane = models.CharField(max_length=8)
    to_lane = models.CharField(max_length=8)
    reason = models.TextField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.declaration_id}: {self.from_lane} -> {self.to_lane}"


# How hard each lane looks: a change to a lower rank lowers scrutiny.
LANE_SCRUTINY = {"green": 0, "yellow": 1, "red": 2}


def lowers_scrutiny(from_lane: str, to_lane: str) -> bool:
    return LANE_SCRUTINY.get(to_lane, 0) < LANE_SCRUTINY.get(from_lane, 0)


class LaneChangeProposal(Stateful, Proposal):
    """A customs supervisor's proposal to lower a declaration's lane.

    Lowering scrutiny needs a second customs supervisor: the lane changes only
    when one approves (a LaneOverride then records the change). The proposal
    lapses when the declaration leaves review or its lane changes otherwise.
    The declarant never sees it.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"
        LAPSED = "lapsed", "Lapsed"

    TRANSITIONS = {
        Status.PROPOSED: frozenset({Status.APPROVED, Status.REFUSED, Status.LAPSED}),
        Status.APPROVED: frozenset(),
        Status.REFUSED: frozenset(),
        Status.LAPSED: frozenset(),
    }

    declaration = models.ForeignKey(
        "declarations.Declaration", on_delete=models.PROTECT, related_name="lane_proposals"
    )
    status = models.CharField(max_length=8, choices=Status, default=Status.PROPOSED)
    from_lane = models.CharField(max_length=8)
    to_lane = models.CharField(max_length=8)

    class Meta:
        ordering = ["proposed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["declaration"],
                condition=Q(status="proposed"),
                name="one_pending_lane_proposal",
            ),
            models.CheckConstraint(
                name="lane_proposal_lowers_scrutiny",
                condition=Q(from_lane="red", to_lane__in=["yellow", "green"])
                | Q(from_lane="yellow", to_lane="green"),
            ),
            models.CheckConstraint(
                name="decided_lane_proposal_has_decider",
                condition=~Q(status__in=["approved", "refused"])
                | Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
        ]
        indexes = [
            models.Index(
                fields=["proposed_at"],
                condition=Q(status="proposed"),
                name="lane_proposal_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id}: {self.from_lane} -> {self.to_lane} ({self.status})"

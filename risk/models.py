from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from agencies.models import hs_prefix_validator
from core.models import Proposal
from core.states import Stateful
from declarations.models import Lane

PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


class FallbackLane(models.TextChoices):
    """The lanes a declaration may get when its rules cannot be evaluated: never green."""

    YELLOW = Lane.YELLOW.value, Lane.YELLOW.label
    RED = Lane.RED.value, Lane.RED.label


class Fallback(models.TextChoices):
    """How a lane decision was taken short of the full path, while a fault lasted
    or an administrator's planned outage (PlannedFallback) was on."""

    RULES_ONLY = "rules_only", "Rules alone (the model failed)"
    DEFAULT_LANE = "default_lane", "Fallback lane (the rules failed)"


class RiskSettings(models.Model):
    """Platform-wide thresholds, random-selection rates and capacity shares (one row)."""

    yellow_from = models.PositiveIntegerField(
        default=30, help_text="Score from which a declaration goes yellow."
    )
    red_from = models.PositiveIntegerField(
        default=60, help_text="Score from which a declaration goes red."
    )
    # Random selection keeps outcomes unbiased: a model that only ever sees
    # what it selected stops learning about the rest.
    random_yellow_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=PERCENT,
        help_text="Percent of declarations sent at least to yellow at random.",
    )
    random_red_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.50"),
        validators=PERCENT,
        help_text="Percent of declarations sent to red at random.",
    )
    # What officers can handle: replay compares its lane mix with these.
    expected_yellow_share = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("15.00"), validators=PERCENT
    )
    expected_red_share = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("5.00"), validators=PERCENT
    )
    model_enabled = models.BooleanField(default=True)
    model_weight = models.PositiveIntegerField(
        default=100,
        validators=[MaxValueValidator(1000)],
        help_text="Points the model adds at probability 1 (scaled linearly).",
    )
    # A systemic fault of the rules (a live rule no declaration can be evaluated
    # against) routes here, at least, until it is fixed: never green.
    fallback_lane = models.CharField(
        max_length=8,
        choices=FallbackLane,
        default=FallbackLane.RED,
        help_text="Lane, at least, while the live rules cannot be evaluated.",
    )
    # The fallback an administrator switched on by hand for a planned outage
    # (PlannedFallback, which keeps who, when and why): kept here, on the row every
    # scoring batch reads anyway, so that it costs a batch no query. Empty: none.
    planned_fallback = models.CharField(
        max_length=16, choices=Fallback, blank=True, default="", db_default=""
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "risk settings"
        constraints = [
            models.CheckConstraint(
                name="yellow_below_red", condition=Q(yellow_from__lt=models.F("red_from"))
            ),
            models.CheckConstraint(name="risk_settings_singleton", condition=Q(pk=1)),
            models.CheckConstraint(
                name="fallback_lane_never_green",
                condition=Q(fallback_lane__in=FallbackLane.values),
            ),
            models.CheckConstraint(
                name="expected_shares_at_most_100",
                condition=Q(
                    expected_yellow_share__lte=Decimal("100") - models.F("expected_red_share")
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"yellow from {self.yellow_from}, red from {self.red_from}"

    @classmethod
    def current(cls) -> "RiskSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class RuleSet(Stateful, models.Model):
    """A numbered version of the selectivity rules.

    Drafts are edited and replayed; one analyst submits a draft, a second one
    approves it, which makes it live and retires the previous one. A retired
    set stays as it was, so every decision can name the exact rules it used.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING = "pending", "Pending approval"
        LIVE = "live", "Live"
        RETIRED = "retired", "Retired"

    # A published set never changes again: rolling back is a new draft copied
    # from the old version, published in turn. A pending set is frozen too, so
    # the second analyst approves exactly what they read; sending it back to
    # draft is how it changes again.
    TRANSITIONS = {
        Status.DRAFT: frozenset({Status.PENDING}),
        Status.PENDING: frozenset({Status.LIVE, Status.DRAFT}),
        Status.LIVE: frozenset({Status.RETIRED}),
        Status.RETIRED: frozenset(),
    }

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=8, choices=Status, default=Status.DRAFT)
    note = models.CharField(max_length=300, blank=True)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Everyone who changed its rules: none of them may be the one who approves it.
    editors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sent_back_reason = models.CharField(max_length=1000, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="live"), name="one_live_rule_set"
            ),
        ]

    def __str__(self) -> str:
        return f"rule set v{self.version} ({self.status})"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


def live_rule_set_id() -> int:
    """The live rule set, created empty on first use (a fresh platform has one)."""
    live = RuleSet.objects.filter(status=RuleSet.Status.LIVE).values_list("pk", flat=True).first()
    if live:
        return live
    return RuleSet.objects.get_or_create(
        version=1, defaults={"status": RuleSet.Status.LIVE, "note": "initial rules"}
    )[0].pk


class RiskSettingsProposal(Stateful, Proposal):
    """New thresholds and rates one analyst proposes; they apply once a second approves.

    `values` holds every setting as it would be (decimals as strings), so what
    is approved is exactly what was read, whatever the proposal left alone.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    TRANSITIONS = {
        Status.PROPOSED: frozenset({Status.APPROVED, Status.REJECTED}),
        Status.APPROVED: frozenset(),
        Status.REJECTED: frozenset(),
    }

    status = models.CharField(max_length=8, choices=Status, default=Status.PROPOSED)
    values = models.JSONField()

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            # One at a time: a second proposal would be judged against settings
            # the first may be about to change.
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="proposed"),
                name="one_pending_settings_proposal",
            ),
            models.CheckConstraint(
                name="decided_settings_proposal_has_decider",
                condition=Q(status="proposed")
                | Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"risk settings proposal {self.pk} ({self.status})"


class ConfigAuditEntry(models.Model):
    """One step of a change to the risk configuration, naming both people of the two.

    Append-only: the database refuses UPDATE and DELETE (migration
    0005_config_audit_append_only), as it does for declarations' audit trail.
    """

    class Action(models.TextChoices):
        RULE_SET_SUBMITTED = "rule_set_submitted", "Rule set submitted"
        RULE_SET_APPROVED = "rule_set_approved", "Rule set approved and live"
        RULE_SET_SENT_BACK = "rule_set_sent_back", "Rule set sent back to draft"
        SETTINGS_PROPOSED = "settings_proposed", "Settings change proposed"
        SETTINGS_APPROVED = "settings_approved", "Settings change approved and applied"
        SETTINGS_REJECTED = "settings_rejected", "Settings change rejected"
        FALLBACK_PROPOSED = "fallback_proposed", "Planned fallback proposed"
        FALLBACK_ON = "fallback_on", "Planned fallback switched on"
        FALLBACK_REFUSED = "fallback_refused", "Planned fallback refused"
        FALLBACK_OFF = "fallback_off", "Planned fallback switched off"
        RESCORE_REQUESTED = "rescore_requested", "Fallback decisions re-scored"

    at = models.DateTimeField()
    action = models.CharField(max_length=24, choices=Action)
    subject = models.CharField(max_length=100)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "configuration audit entries"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.subject}"


class SelectivityRule(models.Model):
    """Criteria on a declaration and its items; when they hold, the rule fires.

    hs_prefix, origin_country and min_item_value are the common item criteria;
    `conditions` holds any other criterion of risk.criteria.REGISTRY as
    [{"field": ..., "op": ..., "value": ...}]. All criteria must hold.
    """

    rule_set = models.ForeignKey(
        RuleSet, on_delete=models.CASCADE, related_name="rules", default=live_rule_set_id
    )
    name = models.CharField(max_length=200)
    hs_prefix = models.CharField(max_length=10, blank=True, validators=[hs_prefix_validator])
    origin_country = models.CharField(max_length=2, blank=True)
    min_item_value = models.DecimalField(
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    conditions = models.JSONField(default=list, blank=True)
    score = models.IntegerField(
        default=0, validators=[MinValueValidator(-100), MaxValueValidator(100)]
    )
    force_lane = models.CharField(max_length=8, choices=Lane, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="Shown to the officer.")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                name="rule_has_a_criterion",
                condition=~Q(
                    hs_prefix="", origin_country="", min_item_value__isnull=True, conditions=[]
                ),
            ),
            models.CheckConstraint(
                name="rule_has_an_action",
                condition=~Q(score=0, force_lane=""),
            ),
            models.CheckConstraint(
                name="rule_validity_ordered",
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_from__lt=models.F("valid_to")),
            ),
        ]

    def __str__(self) -> str:
        return f"rule {self.pk}: {self.name}"


class LaneDecision(models.Model):
    """The one lane decision of a declaration, with the reasons behind it."""

    declaration = models.OneToOneField(
        "declarations.Declaration", on_delete=models.PROTECT, related_name="lane_decision"
    )
    lane = models.CharField(max_length=8, choices=Lane)
    score = models.IntegerField()
    reasons = models.JSONField(default=list)
    rule_set_version = models.CharField(max_length=16)
    model_version = models.CharField(max_length=32, blank=True)
    model_probability = models.FloatField(null=True, blank=True)
    randomly_selected = models.CharField(max_length=8, choices=Lane, blank=True)
    # Set when a systemic fault left scoring short of its full path (see ScoringFault).
    fallback = models.CharField(
        max_length=16, choices=Fallback, blank=True, default="", db_default=""
    )
    # Who chose the lane by hand (a held declaration routed by an officer or analyst).
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Milliseconds per step (rules, random, model, reviews, total).
    timings = models.JSONField(default=dict, blank=True)
    decided_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()

    class Meta:
        indexes = [
            # Scoring lag over the last hour (the surge health page).
            models.Index(fields=["decided_at"], name="lane_decision_decided_idx"),
            # The decisions a fallback took, to re-score once the engine is back.
            models.Index(
                fields=["declaration"],
                condition=~Q(fallback=""),
                name="lane_decision_fallback_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id}: {self.lane} ({self.score})"


class PlannedFallback(Stateful, Proposal):
    """An administrator's planned outage of the risk engine: scoring takes a fallback on
    purpose, from when it is switched on until it is switched off.

    `rules_only` leaves the model out: it lowers scrutiny, as turning the model
    off in the settings does, so a second administrator approves it first.
    `default_lane` routes every declaration to the settings' fallback lane (yellow
    or red, never green) without the rules or the model: it only raises scrutiny,
    and applies at once. Every decision taken meanwhile says so (LaneDecision.fallback)
    and can be re-scored when the engine is back (LaneRescore).
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for a second administrator"
        ON = "on", "On"
        REFUSED = "refused", "Refused"
        OFF = "off", "Switched off"

    TRANSITIONS = {
        Status.PROPOSED: frozenset({Status.ON, Status.REFUSED}),
        Status.ON: frozenset({Status.OFF}),
        Status.REFUSED: frozenset(),
        Status.OFF: frozenset(),
    }
    # Waiting or in force: one at a time.
    ACTIVE = frozenset({Status.PROPOSED, Status.ON})

    mode = models.CharField(max_length=16, choices=Fallback)
    status = models.CharField(max_length=8, choices=Status, default=Status.PROPOSED)
    switched_on_at = models.DateTimeField(null=True, blank=True)
    switched_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    switched_off_at = models.DateTimeField(null=True, blank=True)
    switch_off_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status__in=["proposed", "on"]),
                name="one_active_planned_fallback",
            ),
            models.CheckConstraint(
                name="planned_fallback_on_has_time",
                condition=~Q(status__in=["on", "off"]) | Q(switched_on_at__isnull=False),
            ),
            models.CheckConstraint(
                name="planned_fallback_off_has_who",
                condition=~Q(status="off")
                | Q(switched_off_by__isnull=False, switched_off_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"planned fallback {self.pk}: {self.mode} ({self.status})"

    @property
    def mode_text(self) -> str:
        """The mode as an outage plans it (Fallback's labels name the fault it stands in
        for)."""
        return {
            Fallback.RULES_ONLY: "Rules only (the model switched off)",
            Fallback.DEFAULT_LANE: "Fallback lane (the rules and the model switched off)",
        }.get(self.mode, self.mode)


class LaneRescore(models.Model):
    """A fallback's lane decision scored again by the full engine once it was back: what
    the decision was (`before`), what the engine says now (`after`), and what came of
    it (`outcome`). One per decision: a decision is re-scored once, whoever runs the job
    and however often.

    The decision row itself stays the declaration's one decision; where the outcome
    applies the new one, the row takes its lane, score and reasons, and `before`
    keeps the old ones (the declaration's audit trail has both too).
    """

    class Outcome(models.TextChoices):
        RAISED = "raised", "Lane raised to the engine's"
        UPDATED = "updated", "Same lane; the engine's reasons recorded"
        PROPOSED = "proposed", "Lower lane proposed to a second supervisor"
        KEPT = "kept", "Kept: review work had started"
        TOO_LATE = "too_late", "Not applied: the lane can no longer change"

    # The outcomes that replaced the decision's lane, score and reasons.
    APPLIED = frozenset({Outcome.RAISED, Outcome.UPDATED})

    lane_decision = models.OneToOneField(
        LaneDecision, on_delete=models.PROTECT, related_name="rescore"
    )
    job = models.ForeignKey("RiskJob", on_delete=models.PROTECT, related_name="rescores")
    outcome = models.CharField(max_length=8, choices=Outcome)
    before = models.JSONField()
    after = models.JSONField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"re-score of {self.lane_decision_id}: {self.outcome}"

    @property
    def applied(self) -> bool:
        return self.outcome in self.APPLIED


class ScoringFailure(models.Model):
    """How often scoring a declaration has failed; bounds retries across redeliveries."""

    declaration = models.OneToOneField(
        "declarations.Declaration", on_delete=models.CASCADE, related_name="+"
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.declaration_id}: {self.attempts} failures"


class ScoringFault(models.Model):
    """An episode of a systemic scoring fault: the live model will not load or predict,
    or a live rule cannot be evaluated for any declaration.

    Open from the first batch that meets it until a batch scores fully again;
    one open episode of each kind at a time (the partial unique index is what
    makes "tell the administrators once" hold across workers).
    """

    class Kind(models.TextChoices):
        MODEL = "model", "Model"
        RULES = "rules", "Rules"

    kind = models.CharField(max_length=8, choices=Kind)
    error = models.TextField()
    # What failed: the model version, or the rule set version and its failing rules.
    detail = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # Declarations decided by a fallback during the episode.
    fallbacks = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(closed_at__isnull=True),
                name="one_open_scoring_fault_per_kind",
            ),
        ]

    def __str__(self) -> str:
        state = "open" if self.closed_at is None else "closed"
        return f"{self.kind} fault {self.pk} ({state})"


class TrainingRecord(models.Model):
    """One goods item with its inspection outcome, in risk.ml.records.ItemRecord form.

    Rows come from imported KCS files and from platform declarations whose
    inspection recorded a finding; (source, source_ref) makes both imports
    idempotent.
    """

    class Source(models.TextChoices):
        KCS = "kcs", "KCS file"
        PLATFORM = "platform", "Platform inspection"

    source = models.CharField(max_length=8, choices=Source)
    source_ref = models.CharField(max_length=64)
    declaration = models.ForeignKey(
        "declarations.Declaration",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    declaration_key = models.CharField(max_length=32)
    date = models.DateField()
    office = models.CharField(max_length=16, blank=True)
    process_type = models.CharField(max_length=8, blank=True)
    import_type = models.CharField(max_length=8, blank=True)
    import_use = models.CharField(max_length=8, blank=True)
    payment_type = models.CharField(max_length=8, blank=True)
    transport_mode = models.CharField(max_length=8, blank=True)
    declarant_id = models.CharField(max_length=32, blank=True)
    importer_id = models.CharField(max_length=32, blank=True)
    seller_id = models.CharField(max_length=32, blank=True)
    courier_id = models.CharField(max_length=32, blank=True)
    hs6 = models.CharField(max_length=6)
    departure_country = models.CharField(max_length=2, blank=True)
    origin_country = models.CharField(max_length=2, blank=True)
    tax_rate = models.FloatField(default=0)
    tax_type = models.CharField(max_length=8, blank=True)
    origin_indicator = models.CharField(max_length=4, blank=True)
    net_mass_kg = models.FloatField(null=True, blank=True)
    value = models.FloatField()
    fraud = models.PositiveSmallIntegerField(null=True, blank=True)
    critical = models.PositiveSmallIntegerField(null=True, blank=True)
    revenue = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_ref"], name="unique_training_ref"),
        ]
        indexes = [
            # Training and replay read by period.
            models.Index(fields=["date"], name="training_record_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.source_ref}"


class ReferencePrice(models.Model):
    """Median declared value per kg of an HS6 subheading from one origin, from history."""

    hs6 = models.CharField(max_length=6)
    origin_country = models.CharField(max_length=2)
    value_per_kg = models.FloatField()
    samples = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hs6", "origin_country"], name="unique_reference_price"
            ),
        ]

    def __str__(self) -> str:
        return f"HS {self.hs6} from {self.origin_country}: {self.value_per_kg:.2f}/kg"


class ModelVersion(Stateful, models.Model):
    """A trained risk model, its artifact and how it did on a later time window."""

    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        LIVE = "live", "Live"
        RETIRED = "retired", "Retired"
        REJECTED = "rejected", "Rejected"

    TRANSITIONS = {
        Status.CANDIDATE: frozenset({Status.LIVE, Status.REJECTED}),
        Status.LIVE: frozenset({Status.RETIRED}),
        Status.RETIRED: frozenset(),
        Status.REJECTED: frozenset(),
    }

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.CANDIDATE)
    artifact = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    # Rows and dates it was trained on, and the later window it was judged on.
    training = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)
    live_metrics = models.JSONField(
        default=dict, blank=True, help_text="The live model's metrics on the same window."
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="live"), name="one_live_model"
            ),
        ]

    def __str__(self) -> str:
        return f"model v{self.version} ({self.status})"

    @property
    def label(self) -> str:
        return f"m{self.version}"


class RiskJob(Stateful, models.Model):
    """A long analyst job (retraining, replay) run by a worker, with its progress."""

    class Kind(models.TextChoices):
        RETRAIN = "retrain", "Retrain"
        REPLAY = "replay", "Replay"
        # The decisions a fallback took, scored again (clearance.continuity).
        RESCORE = "rescore", "Re-score fallback decisions"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    TRANSITIONS = {
        Status.QUEUED: frozenset({Status.RUNNING}),
        Status.RUNNING: frozenset({Status.DONE, Status.FAILED}),
        Status.DONE: frozenset(),
        Status.FAILED: frozenset(),
    }

    kind = models.CharField(max_length=8, choices=Kind)
    status = models.CharField(max_length=8, choices=Status, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    message = models.CharField(max_length=300, blank=True)
    result = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return not self.TRANSITIONS[self.status]

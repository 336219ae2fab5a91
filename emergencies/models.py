"""Emergencies: what the administration declares when a disaster strikes, and who
may receive relief under it.

An emergency names its period, the offices of entry it covers, the goods it
lists (HS prefixes) and the relief measures that apply. A consignment is a
relief consignment when, during the emergency, an approved humanitarian
consignee imports only listed goods through a covered office (selectors.relief_for).
Declaring, extending and ending an emergency each take two administrators
(EmergencyProposal: four eyes, since every measure lowers scrutiny or forgoes
revenue); the proposals are the emergency's audited history.

Revised Kyoto Convention, Specific Annex J, Chapter 5 (relief consignments);
WCO Guidelines on disaster management and supply chain continuity.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from agencies.models import hs_prefix_validator
from core.models import Proposal
from core.states import Stateful


class EmergencyQuerySet(models.QuerySet):
    def in_force(self, at=None):
        """Approved emergencies whose period holds `at` (now when not given)."""
        at = at or timezone.now()
        return self.filter(status=Emergency.Status.ACTIVE, starts_at__lte=at, ends_at__gt=at)


class Emergency(Stateful, models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for approval"
        ACTIVE = "active", "Declared"
        ENDED = "ended", "Ended"
        REFUSED = "refused", "Refused"

    TRANSITIONS = {
        Status.PROPOSED: frozenset({Status.ACTIVE, Status.REFUSED}),
        Status.ACTIVE: frozenset({Status.ENDED}),
        Status.ENDED: frozenset(),
        Status.REFUSED: frozenset(),
    }

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status, default=Status.PROPOSED)
    starts_at = models.DateTimeField()
    # Extended by an approved proposal; brought forward when the emergency is ended.
    ends_at = models.DateTimeField()
    # The affected area: the offices of entry through which relief comes.
    offices = models.ManyToManyField("reference.Office", related_name="emergencies")
    # The listed goods: HS chapters, headings or subheadings (medicines 3004, tents 6306...).
    hs_prefixes = ArrayField(
        models.CharField(max_length=10, validators=[hs_prefix_validator]),
        help_text="Listed goods: HS prefixes of 2 to 10 digits.",
    )
    # The relief measures (each one chosen when the emergency is declared).
    priority = models.BooleanField(
        default=True, help_text="Relief consignments go to the top of every agency's queue."
    )
    lower_lane = models.BooleanField(
        default=True,
        help_text="The lane risk gives is lowered by one (a rule forcing red still holds).",
    )
    duty_relief = models.BooleanField(
        default=False, help_text="No import duty or VAT on relief consignments."
    )
    documents_may_follow = models.BooleanField(
        default=True,
        help_text="A provisional declaration may be lodged and its documents follow.",
    )
    documents_within_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = EmergencyQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="emergency_ends_after_start", condition=Q(ends_at__gt=models.F("starts_at"))
            ),
            models.CheckConstraint(name="emergency_lists_goods", condition=~Q(hs_prefixes=[])),
        ]
        indexes = [
            models.Index(
                fields=["starts_at", "ends_at"],
                condition=Q(status="active"),
                name="emergency_active_period_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_in_force(self, at=None) -> bool:
        at = at or timezone.now()
        return self.status == self.Status.ACTIVE and self.starts_at <= at < self.ends_at

    def lists(self, hs_code: str) -> bool:
        return any(hs_code.startswith(prefix) for prefix in self.hs_prefixes)

    @property
    def measures(self) -> list[str]:
        """The relief measures in force, as a trader reads them."""
        measures = []
        if self.priority:
            measures.append("priority in every agency's queue")
        if self.lower_lane:
            measures.append("lighter controls (a lower lane) unless a security rule applies")
        if self.duty_relief:
            measures.append("no import duty or VAT")
        if self.documents_may_follow:
            measures.append(
                f"documents may follow within {self.documents_within_days} days "
                "(provisional declaration)"
            )
        return measures


class EmergencyProposal(Stateful, Proposal):
    """Declaring, extending or ending an emergency: one administrator proposes, a
    second approves or refuses."""

    class Kind(models.TextChoices):
        DECLARE = "declare", "Declare"
        EXTEND = "extend", "Extend"
        END = "end", "End"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"

    TRANSITIONS = {
        Status.PROPOSED: frozenset({Status.APPROVED, Status.REFUSED}),
        Status.APPROVED: frozenset(),
        Status.REFUSED: frozenset(),
    }

    emergency = models.ForeignKey(Emergency, on_delete=models.PROTECT, related_name="proposals")
    kind = models.CharField(max_length=8, choices=Kind)
    status = models.CharField(max_length=8, choices=Status, default=Status.PROPOSED)
    # The end the emergency gets once approved (declare: as proposed; extend: later;
    # end: when it ends, now at the latest).
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["proposed_at", "id"]
        constraints = [
            # One at a time: a second would be judged against a period the first may change.
            models.UniqueConstraint(
                fields=["emergency"],
                condition=Q(status="proposed"),
                name="one_pending_emergency_proposal",
            ),
            models.CheckConstraint(
                name="decided_emergency_proposal_has_decider",
                condition=Q(status="proposed")
                | Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.emergency}: {self.status}"


class HumanitarianConsignee(Stateful, models.Model):
    """A humanitarian organisation registered in advance to receive relief
    consignments: a company on the platform, approved by an administrator."""

    class Kind(models.TextChoices):
        UN = "un", "United Nations agency"
        RED_CROSS = "red_cross", "Red Cross or Red Crescent"
        NGO = "ngo", "Non-governmental organisation"
        GOVERNMENT = "government", "Government relief agency"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"
        SUSPENDED = "suspended", "Suspended"

    TRANSITIONS = {
        Status.REQUESTED: frozenset({Status.APPROVED, Status.REFUSED}),
        Status.APPROVED: frozenset({Status.SUSPENDED}),
        Status.SUSPENDED: frozenset({Status.APPROVED}),
        Status.REFUSED: frozenset(),
    }

    company = models.OneToOneField(
        "accounts.Company", on_delete=models.PROTECT, related_name="humanitarian"
    )
    kind = models.CharField(max_length=12, choices=Kind)
    # What the organisation does, and its registration where it has one.
    mission = models.TextField()
    status = models.CharField(max_length=12, choices=Status, default=Status.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["company__name"]
        constraints = [
            models.CheckConstraint(
                name="decided_consignee_has_decider",
                condition=Q(status="requested")
                | Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company} ({self.get_kind_display()})"

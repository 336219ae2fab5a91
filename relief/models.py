"""What relief measures add to a relief consignment's clearance (issue 13).

A provisional declaration: a relief consignment lodged during an emergency whose
measures let documents follow (Emergency.documents_may_follow) is lodged without
what lodgement otherwise demands of documents; ProvisionalDeclaration keeps the
deadline and OwedDocument each document owed, ticked off as the declarant
supplies it. Reminders go out before the deadline and the declaration is
flagged once it passes (relief.services, run by beat).

A joint inspection: when several agencies must look at the same relief
consignment, one inspection is booked for all of them and its findings are
recorded once, on each participating agency's review (clearance.relief).

Revised Kyoto Convention, Specific Annex J, Chapter 5, standards 3 and 5
(provisional or incomplete declarations, documents later) and 12 (inspections
in cooperation with other agencies).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from agencies.models import Inspection
from core.states import Stateful


class ProvisionalDeclaration(Stateful, models.Model):
    """A relief consignment lodged with documents to follow, and by when."""

    class Status(models.TextChoices):
        OWED = "owed", "Owed"
        OVERDUE = "overdue", "Overdue"
        COMPLETE = "complete", "Complete"
        # The declaration ended without them (cancelled, rejected, seized) or was
        # replaced by an amendment, which owes its own.
        WITHDRAWN = "withdrawn", "No longer owed"

    TRANSITIONS = {
        Status.OWED: frozenset({Status.OVERDUE, Status.COMPLETE, Status.WITHDRAWN}),
        Status.OVERDUE: frozenset({Status.COMPLETE, Status.WITHDRAWN}),
        Status.COMPLETE: frozenset(),
        Status.WITHDRAWN: frozenset(),
    }
    OPEN = frozenset({Status.OWED, Status.OVERDUE})

    declaration = models.OneToOneField(
        "declarations.Declaration", on_delete=models.PROTECT, related_name="provisional"
    )
    emergency = models.ForeignKey(
        "emergencies.Emergency", on_delete=models.PROTECT, related_name="provisional_declarations"
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.OWED)
    opened_at = models.DateTimeField()
    # Lodgement plus the emergency's documents_within_days; an amendment keeps it.
    due_at = models.DateTimeField()
    # The last reminder sent, in days before the deadline (3, then 1...): each once.
    reminded_days = models.PositiveSmallIntegerField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="provisional_overdue_flagged",
                condition=~Q(status="overdue") | Q(overdue_at__isnull=False),
            ),
            models.CheckConstraint(
                name="provisional_complete_dated",
                condition=~Q(status="complete") | Q(completed_at__isnull=False),
            ),
        ]
        indexes = [
            # The beat job's sweep: documents still owed, by deadline.
            models.Index(
                fields=["due_at"], condition=Q(status="owed"), name="provisional_owed_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id}: {self.get_status_display()} by {self.due_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class OwedDocument(models.Model):
    """One document a provisional declaration lodged without (declarations.validation.
    documents_missing), and what the declarant supplied for it."""

    # The kinds of declarations.Document that an upload of each is stored as.
    class Kind(models.TextChoices):
        INVOICE = "invoice", "Commercial invoice"
        TRANSPORT = "transport_document", "Transport document"
        CERTIFICATE_OF_ORIGIN = "certificate_of_origin", "Certificate of origin"
        PERMIT = "permit", "Permit"

    provisional = models.ForeignKey(
        ProvisionalDeclaration, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(max_length=24, choices=Kind)
    # The item it is for (a permit, a certificate of origin); none for the whole declaration.
    item = models.ForeignKey(
        "declarations.Item", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A permit's issuing agency, and the permit its jurisdiction requires.
    agency = models.ForeignKey(
        "agencies.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    permit_type = models.CharField(max_length=100, blank=True)
    # What is owed, as the declarant and the officers read it.
    description = models.CharField(max_length=300)
    # Supplied: its number (the permit's, the invoice's...) and the file, if uploaded.
    reference = models.CharField(max_length=64, blank=True)
    document = models.ForeignKey(
        "declarations.Document",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    supplied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supplied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["provisional", "id"]
        constraints = [
            models.CheckConstraint(
                name="owed_document_supplied_whole",
                condition=Q(supplied_at__isnull=True, supplied_by__isnull=True, reference="")
                | (Q(supplied_at__isnull=False, supplied_by__isnull=False) & ~Q(reference="")),
            ),
            models.CheckConstraint(
                name="owed_permit_names_agency",
                condition=~Q(kind="permit") | Q(agency__isnull=False, item__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def is_supplied(self) -> bool:
        return self.supplied_at is not None


class JointInspection(Stateful, models.Model):
    """One physical inspection of a relief consignment by several agencies at once."""

    class Status(models.TextChoices):
        OFFERED = "offered", "Offered: to book"
        BOOKED = "booked", "Booked"
        DONE = "done", "Recorded"
        CANCELLED = "cancelled", "Cancelled"

    TRANSITIONS = {
        Status.OFFERED: frozenset({Status.BOOKED, Status.CANCELLED}),
        # Booked again: another time or place, other officers.
        Status.BOOKED: frozenset({Status.BOOKED, Status.DONE, Status.CANCELLED}),
        Status.DONE: frozenset(),
        Status.CANCELLED: frozenset(),
    }
    LIVE = frozenset({Status.OFFERED, Status.BOOKED})

    declaration = models.ForeignKey(
        "declarations.Declaration", on_delete=models.PROTECT, related_name="joint_inspections"
    )
    # The declaration's control office, whose staff take part (UN/LOCODE).
    office = models.CharField(max_length=8)
    status = models.CharField(max_length=10, choices=Status, default=Status.OFFERED)
    offered_at = models.DateTimeField()
    scheduled_at = models.DateTimeField(null=True, blank=True)
    place = models.CharField(max_length=200, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    booked_at = models.DateTimeField(null=True, blank=True)
    # What the inspection found, once, for every agency taking part.
    finding = models.CharField(max_length=24, choices=Inspection.Finding, blank=True)
    revenue_difference = models.DecimalField(
        max_digits=18,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    notes = models.TextField(blank=True)
    items = models.ManyToManyField("declarations.Item", blank=True, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancel_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-offered_at", "-id"]
        constraints = [
            # One at a time: the agencies meet the goods once.
            models.UniqueConstraint(
                fields=["declaration"],
                condition=Q(status__in=["offered", "booked"]),
                name="one_live_joint_inspection",
            ),
            models.CheckConstraint(
                name="booked_joint_inspection_has_time_and_place",
                condition=Q(status__in=["offered", "cancelled"])
                | (Q(scheduled_at__isnull=False, booked_by__isnull=False) & ~Q(place="")),
            ),
            models.CheckConstraint(
                name="recorded_joint_inspection_has_finding",
                condition=~Q(status="done")
                | (~Q(finding="") & Q(recorded_by__isnull=False, recorded_at__isnull=False)),
            ),
            models.CheckConstraint(
                name="joint_revenue_difference_not_negative",
                condition=Q(revenue_difference__gte=0),
            ),
        ]
        indexes = [
            models.Index(fields=["office", "status"], name="joint_inspection_office_idx"),
        ]

    def __str__(self) -> str:
        return f"Joint inspection of {self.declaration_id}: {self.status}"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE


class JointInspectionAgency(models.Model):
    """An agency taking part in a joint inspection: its review of the declaration, the
    officers it sends, and the inspection recorded on its review."""

    joint_inspection = models.ForeignKey(
        JointInspection, on_delete=models.CASCADE, related_name="participants"
    )
    review = models.ForeignKey("agencies.Review", on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    officers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    inspection = models.OneToOneField(
        "agencies.Inspection",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="joint_part",
    )

    class Meta:
        ordering = ["joint_inspection", "-agency__is_customs", "agency__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["joint_inspection", "agency"], name="one_part_per_agency"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} in {self.joint_inspection_id}"

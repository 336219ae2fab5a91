from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from core.validators import validate_country_code, validate_currency_code

hs_code_validator = RegexValidator(
    r"^\d{6}(\d{2}){0,2}$", "An HS code is 6 digits (HS 2022) plus up to 4 national digits."
)


class Lane(models.TextChoices):
    GREEN = "green", "Green"
    YELLOW = "yellow", "Yellow"
    RED = "red", "Red"


class Declaration(models.Model):
    class Type(models.TextChoices):
        IMPORT = "IM", "Import"
        EXPORT = "EX", "Export"
        TRANSIT = "TR", "Transit"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        UNDER_REVIEW = "under_review", "Under review"
        QUERIED = "queried", "Queried"
        ASSESSED = "assessed", "Assessed"
        PAID = "paid", "Paid"
        RELEASED = "released", "Released"
        HELD = "held", "Held"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    class TransportMode(models.TextChoices):
        # UN/ECE Recommendation 19 codes
        SEA = "1", "Maritime"
        RAIL = "2", "Rail"
        ROAD = "3", "Road"
        AIR = "4", "Air"
        POST = "5", "Postal"
        FIXED = "7", "Fixed installation"
        INLAND_WATER = "8", "Inland waterway"

    company = models.ForeignKey(
        "accounts.Company", on_delete=models.PROTECT, related_name="declarations"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    type = models.CharField(max_length=2, choices=Type, default=Type.IMPORT)
    procedure = models.CharField(
        max_length=4,
        default="4000",
        validators=[RegexValidator(r"^\d{4}$", "A procedure code is 4 digits.")],
    )
    country_of_export = models.CharField(max_length=2, validators=[validate_country_code])
    country_of_destination = models.CharField(max_length=2, validators=[validate_country_code])
    office_of_entry = models.CharField(max_length=16)
    transport_mode = models.CharField(max_length=1, choices=TransportMode)
    transport_document = models.CharField(max_length=64, help_text="B/L or AWB number")
    invoice_number = models.CharField(max_length=64)
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    invoice_total = models.DecimalField(
        max_digits=18, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )

    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT)
    lane = models.CharField(max_length=8, choices=Lane, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="invoice_total_positive", condition=Q(invoice_total__gt=0)),
            models.CheckConstraint(
                name="lane_only_after_submission",
                condition=Q(lane="") | ~Q(status__in=["draft", "submitted"]),
            ),
        ]
        indexes = [
            models.Index(fields=["company", "-created_at"], name="declaration_company_idx"),
            # The risk sweeper looks for submitted declarations still without a lane.
            models.Index(
                fields=["submitted_at"],
                condition=Q(status="submitted"),
                name="declaration_unscored_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"{self.type}{self.created_at:%y}-{self.pk:08d}" if self.pk else "(unsaved)"


class Item(models.Model):
    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="items")
    line_no = models.PositiveIntegerField()
    hs_code = models.CharField("HS code", max_length=10, validators=[hs_code_validator])
    description = models.CharField(max_length=300)
    origin_country = models.CharField(max_length=2, validators=[validate_country_code])
    quantity = models.DecimalField(
        max_digits=16, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    unit = models.CharField(
        max_length=3,
        validators=[
            RegexValidator(r"^[A-Z0-9]{2,3}$", "A unit is a UN/ECE Rec 20 code such as KGM.")
        ],
        help_text="UN/ECE Recommendation 20 unit code",
    )
    net_mass_kg = models.DecimalField(
        max_digits=16, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    value = models.DecimalField(
        "invoice value",
        max_digits=18,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )

    class Meta:
        ordering = ["declaration", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "line_no"], name="unique_item_line"),
            models.CheckConstraint(name="item_quantity_positive", condition=Q(quantity__gt=0)),
            models.CheckConstraint(name="item_mass_positive", condition=Q(net_mass_kg__gt=0)),
            models.CheckConstraint(name="item_value_positive", condition=Q(value__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id}/{self.line_no} HS {self.hs_code}"


class DeclarationEvent(models.Model):
    """Append-only, hash-chained audit trail of one declaration.

    Each entry stores the hash of the previous entry of the same declaration,
    so the chain is extended under the declaration's row lock and filing never
    serialises on a global lock. A database trigger refuses UPDATE and DELETE.
    """

    declaration = models.ForeignKey(Declaration, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["declaration", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "seq"], name="unique_event_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id}#{self.seq} {self.action}"


class DeclarationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Declaration, on_delete=models.CASCADE)


class DeclarationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Declaration, on_delete=models.CASCADE)

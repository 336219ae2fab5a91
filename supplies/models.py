"""Relief supplies during an emergency: what is coming, and what is needed.

Pre-notification (ASYREC): a sending agency, a donor or the humanitarian
consignee tells customs, before the goods arrive, what relief consignment is on
its way (goods, quantities, transport, office of entry, consignee), so that the
office and the agencies see it coming. The declaration that follows is matched
to it by consignee and transport document (services.prenotification_match).

Critical supplies: the priority needs of an emergency (HS prefix, target
quantity), kept up to date by administrators, each change in an append-only
register (SupplyRegisterEntry); partner administrations' pledges against them.
What was received is read from the released relief consignments themselves
(selectors.supplies_register), never copied here.
"""

import re
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from agencies.models import hs_prefix_validator
from core.states import Stateful
from core.validators import validate_country_code
from declarations.models import Declaration, hs_code_validator

unit_validator = RegexValidator(
    r"^[A-Z0-9]{2,3}$", "A unit is a UN/ECE Recommendation 20 code such as KGM."
)
QUANTITY = {"max_digits": 16, "decimal_places": 3}
POSITIVE = [MinValueValidator(Decimal("0.001"))]


def transport_document_key(number: str) -> str:
    """A transport document number as matching reads it: letters and digits only,
    upper case (`180-1234 5675` and `1801234 5675` are one air waybill)."""
    return re.sub(r"[^0-9A-Z]", "", (number or "").upper())


class PreNotification(Stateful, models.Model):
    """A relief consignment announced before it arrives."""

    class Status(models.TextChoices):
        NOTIFIED = "notified", "On its way"
        DECLARED = "declared", "Arrived and declared"
        CANCELLED = "cancelled", "Cancelled"

    # Declared is final: a declaration cancelled or replaced later hands its match
    # to the next one lodged for the same transport document (a relink, not a move).
    TRANSITIONS = {
        Status.NOTIFIED: frozenset({Status.DECLARED, Status.CANCELLED}),
        Status.DECLARED: frozenset(),
        Status.CANCELLED: frozenset(),
    }

    emergency = models.ForeignKey(
        "emergencies.Emergency", on_delete=models.PROTECT, related_name="prenotifications"
    )
    consignee = models.ForeignKey(
        "emergencies.HumanitarianConsignee", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.NOTIFIED)
    # The sending agency or donor, and where the goods are sent from.
    sender_name = models.CharField(max_length=200)
    sender_country = models.CharField(max_length=2, validators=[validate_country_code])
    transport_mode = models.CharField(max_length=1, choices=Declaration.TransportMode)
    transport_document = models.CharField(max_length=64, help_text="B/L or AWB number")
    transport_document_key = models.CharField(max_length=64, editable=False)
    expected_arrival = models.DateTimeField()
    office = models.ForeignKey(
        "reference.Office",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="office of entry",
    )
    notes = models.TextField(blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The trader's company that filed it (none when an administrator filed for a donor).
    filed_for = models.ForeignKey(
        "accounts.Company", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField(default=timezone.now)
    # The declaration that followed (its newest version), and how it was recognised.
    declaration = models.OneToOneField(
        Declaration,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="prenotification",
    )
    matched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "pre-notification"
        ordering = ["expected_arrival", "id"]
        constraints = [
            # The match is by consignee and transport document: one open announcement
            # per pair, so a declaration never has two to choose from.
            models.UniqueConstraint(
                fields=["consignee", "transport_document_key"],
                condition=~Q(status="cancelled"),
                name="one_prenotification_per_transport_document",
            ),
            models.CheckConstraint(
                name="declared_prenotification_names_declaration",
                condition=~Q(status="declared") | Q(declaration__isnull=False),
            ),
        ]
        indexes = [
            # An office's incoming list: what is on its way, soonest first.
            models.Index(
                fields=["office", "status", "expected_arrival"], name="prenotification_office_idx"
            ),
            # Every import lodged looks for the announcement of its transport document.
            models.Index(fields=["transport_document_key"], name="prenotification_document_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"PN-{self.pk:06d}" if self.pk else "(unsaved)"

    @property
    def is_overdue(self) -> bool:
        """Still on its way past the arrival announced."""
        return self.status == self.Status.NOTIFIED and self.expected_arrival < timezone.now()


class PreNotificationLine(models.Model):
    prenotification = models.ForeignKey(
        PreNotification, on_delete=models.CASCADE, related_name="lines"
    )
    line_no = models.PositiveSmallIntegerField()
    hs_code = models.CharField("HS code", max_length=10, validators=[hs_code_validator])
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(**QUANTITY, validators=POSITIVE)
    unit = models.CharField(max_length=3, validators=[unit_validator])

    class Meta:
        ordering = ["prenotification", "line_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["prenotification", "line_no"], name="unique_prenotification_line"
            ),
            models.CheckConstraint(
                name="prenotification_quantity_positive", condition=Q(quantity__gt=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prenotification_id}/{self.line_no} HS {self.hs_code}"


class PreNotificationEvent(models.Model):
    """Each move of a pre-notification (and each relink to a newer declaration)."""

    prenotification = models.ForeignKey(
        PreNotification, on_delete=models.CASCADE, related_name="events"
    )
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    at = models.DateTimeField(default=timezone.now)
    # None: the system, matching a declaration as it was lodged.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.prenotification_id}: {self.from_status} → {self.to_status}"

    @property
    def from_label(self) -> str:
        return PreNotification.Status(self.from_status).label if self.from_status else ""

    @property
    def to_label(self) -> str:
        return PreNotification.Status(self.to_status).label


class SupplyNeed(models.Model):
    """A priority need of an emergency: goods under an HS prefix, in a unit, up to a
    target quantity. Released relief consignments count against it."""

    emergency = models.ForeignKey(
        "emergencies.Emergency", on_delete=models.PROTECT, related_name="supply_needs"
    )
    hs_prefix = models.CharField(max_length=10, validators=[hs_prefix_validator])
    label = models.CharField(max_length=120)
    target_quantity = models.DecimalField(**QUANTITY, validators=POSITIVE)
    unit = models.CharField(max_length=3, validators=[unit_validator])
    # Removed when no longer a priority; kept, so the register still explains itself.
    active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["hs_prefix", "unit", "id"]
        constraints = [
            # Received goods count against the longest prefix in their unit: two needs
            # for one prefix and unit would split them arbitrarily.
            models.UniqueConstraint(
                fields=["emergency", "hs_prefix", "unit"],
                condition=Q(active=True),
                name="one_active_need_per_prefix_and_unit",
            ),
            models.CheckConstraint(name="need_target_positive", condition=Q(target_quantity__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.label} (HS {self.hs_prefix}, {self.target_quantity:g} {self.unit})"


class SupplyPledge(Stateful, models.Model):
    """What a partner administration pledged against a need, and whether it came."""

    class Status(models.TextChoices):
        PLEDGED = "pledged", "Pledged"
        DELIVERED = "delivered", "Delivered"
        WITHDRAWN = "withdrawn", "Withdrawn"

    TRANSITIONS = {
        Status.PLEDGED: frozenset({Status.DELIVERED, Status.WITHDRAWN}),
        Status.DELIVERED: frozenset(),
        Status.WITHDRAWN: frozenset(),
    }

    need = models.ForeignKey(SupplyNeed, on_delete=models.PROTECT, related_name="pledges")
    partner_country = models.CharField(max_length=2, validators=[validate_country_code])
    partner_administration = models.CharField(max_length=200)
    # In the need's unit.
    quantity = models.DecimalField(**QUANTITY, validators=POSITIVE)
    expected_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status, default=Status.PLEDGED)
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "pledge"
        ordering = ["expected_on", "id"]
        constraints = [
            models.CheckConstraint(name="pledge_quantity_positive", condition=Q(quantity__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.partner_administration}: {self.quantity:g} {self.need.unit}"


class SupplyRegisterEntry(models.Model):
    """Who changed an emergency's needs or pledges, when, from what to what.
    Append-only: a database trigger refuses UPDATE and DELETE."""

    class Action(models.TextChoices):
        NEED_ADDED = "need_added", "Need added"
        NEED_CHANGED = "need_changed", "Need changed"
        NEED_REMOVED = "need_removed", "Need removed"
        PLEDGE_RECORDED = "pledge_recorded", "Pledge recorded"
        PLEDGE_DELIVERED = "pledge_delivered", "Pledge delivered"
        PLEDGE_WITHDRAWN = "pledge_withdrawn", "Pledge withdrawn"

    emergency = models.ForeignKey(
        "emergencies.Emergency", on_delete=models.PROTECT, related_name="+"
    )
    need = models.ForeignKey(SupplyNeed, on_delete=models.PROTECT, related_name="+")
    pledge = models.ForeignKey(
        SupplyPledge, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "supply register entries"
        indexes = [models.Index(fields=["emergency", "-at"], name="supply_register_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor_id} at {self.at:%Y-%m-%d %H:%M}"

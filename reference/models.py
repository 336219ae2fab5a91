"""Reference data: nomenclature, units, offices, exchange rates, tariff.

Loaded from maintained sources by `manage.py load_reference_data` and kept
up to date by administrators in the admin.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.validators import validate_country_code, validate_currency_code

PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000"))]


class HsCode(models.Model):
    """HS 2022 nomenclature: chapters (2 digits), headings (4), subheadings (6)."""

    code = models.CharField(max_length=6, primary_key=True)
    level = models.PositiveSmallIntegerField()
    description = models.TextField()

    class Meta:
        verbose_name = "HS code"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.description[:60]}"


class Unit(models.Model):
    """UN/ECE Recommendation 20 unit of measure."""

    code = models.CharField(max_length=3, primary_key=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class Office(models.Model):
    class Kind(models.TextChoices):
        SEAPORT = "seaport", "Seaport"
        AIRPORT = "airport", "Airport"
        LAND = "land", "Land border"
        INLAND = "inland", "Inland office"

    code = models.CharField(
        max_length=8,
        primary_key=True,
        validators=[RegexValidator(r"^[A-Z]{2}[A-Z0-9]{3,6}$", "An office code is a UN/LOCODE.")],
    )
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, validators=[validate_country_code])
    kind = models.CharField(max_length=8, choices=Kind)
    active = models.BooleanField(default=True)
    # Where the office is (WGS 84): the movement map draws the offices, and a
    # sealed movement's route runs through its offices' positions.
    latitude = models.DecimalField(
        max_digits=8,
        decimal_places=5,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("-90")), MaxValueValidator(Decimal("90"))],
    )
    longitude = models.DecimalField(
        max_digits=8,
        decimal_places=5,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("-180")), MaxValueValidator(Decimal("180"))],
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class OfficeClosureQuerySet(models.QuerySet):
    def in_force(self, at=None):
        """Closures that hold at `at` (now): begun and not reopened."""
        return self.filter(reopened_at__isnull=True, closed_from__lte=at or timezone.now())

    def not_reopened(self):
        """Closures in force or announced for later."""
        return self.filter(reopened_at__isnull=True)


class OfficeClosure(models.Model):
    """An office closed for a while (damage, flooding, a power cut): who closed it, from
    when and why, and who reopened it, when and why.

    Not `Office.active`, which says whether the office is one of the
    administration's at all: a closed office keeps its staff and its history, and
    opens again. While a closure is in force no lodgement may name the office, and
    the declarations waiting there are diverted to another office
    (clearance.continuity). `closed_from` may lie ahead (a typhoon forecast) or
    behind (the flood came at dawn, it is recorded at nine). The row is the record:
    reopening completes it, nothing else changes it.
    """

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="closures")
    reason = models.TextField()
    closed_from = models.DateTimeField()
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reopen_reason = models.TextField(blank=True)

    objects = OfficeClosureQuerySet.as_manager()

    class Meta:
        ordering = ["-closed_from", "-id"]
        constraints = [
            # One closure at a time: a second would say nothing the first does not.
            models.UniqueConstraint(
                fields=["office"],
                condition=Q(reopened_at__isnull=True),
                name="one_open_closure_per_office",
            ),
            models.CheckConstraint(name="office_closure_has_reason", condition=~Q(reason="")),
            models.CheckConstraint(
                name="office_reopening_complete",
                condition=Q(reopened_at__isnull=True, reopened_by__isnull=True, reopen_reason="")
                | (Q(reopened_at__isnull=False, reopened_by__isnull=False) & ~Q(reopen_reason="")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.office_id} closed from {self.closed_from:%Y-%m-%d %H:%M}"

    def in_force(self, at=None) -> bool:
        return self.reopened_at is None and self.closed_from <= (at or timezone.now())


class ExchangeRate(models.Model):
    """Units of national currency for one unit of `currency`, from `valid_from`."""

    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    rate = models.DecimalField(
        max_digits=18, decimal_places=6, validators=[MinValueValidator(Decimal("0.000001"))]
    )
    valid_from = models.DateField()

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="unique_rate_per_day"),
            models.CheckConstraint(name="exchange_rate_positive", condition=models.Q(rate__gt=0)),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} from {self.valid_from}"


class Agreement(models.Model):
    """A preferential trade agreement and the origin countries it covers."""

    code = models.SlugField(max_length=16, primary_key=True)
    name = models.CharField(max_length=200)
    partner_countries = models.JSONField(
        default=list, help_text="ISO 3166 alpha-2 codes of the origins that qualify."
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def covers(self, country: str) -> bool:
        return country in self.partner_countries


class TariffRate(models.Model):
    """Duty rate for an HS prefix: the MFN rate, or a preferential one under an agreement."""

    hs_prefix = models.CharField(
        max_length=10,
        validators=[RegexValidator(r"^\d{2}(\d{2}){0,4}$", "An HS prefix is 2 to 10 digits.")],
    )
    agreement = models.ForeignKey(
        Agreement, null=True, blank=True, on_delete=models.CASCADE, related_name="rates"
    )
    rate = models.DecimalField("duty rate (%)", max_digits=7, decimal_places=3, validators=PERCENT)
    # Export duty where the national tariff levies one (on the MFN row only):
    # exports pay this and nothing else.
    export_rate = models.DecimalField(
        "export duty rate (%)",
        max_digits=7,
        decimal_places=3,
        null=True,
        blank=True,
        validators=PERCENT,
    )

    class Meta:
        ordering = ["hs_prefix", "agreement"]
        constraints = [
            models.UniqueConstraint(
                fields=["hs_prefix"],
                condition=models.Q(agreement__isnull=True),
                name="one_mfn_rate_per_prefix",
            ),
            models.UniqueConstraint(
                fields=["hs_prefix", "agreement"], name="one_preferential_rate_per_prefix"
            ),
            models.CheckConstraint(
                name="export_rate_on_mfn_row_only",
                condition=models.Q(agreement__isnull=True) | models.Q(export_rate__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"HS {self.hs_prefix}: {self.rate}% ({self.agreement_id or 'MFN'})"


class VatRate(models.Model):
    rate = models.DecimalField("VAT rate (%)", max_digits=6, decimal_places=3, validators=PERCENT)
    valid_from = models.DateField(unique=True)

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = "VAT rate"

    def __str__(self) -> str:
        return f"VAT {self.rate}% from {self.valid_from}"

"""Reference data: nomenclature, units, offices, exchange rates, tariff.

Loaded from maintained sources by `manage.py load_reference_data` and kept
up to date by administrators in the admin.
"""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

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

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from agencies.models import hs_prefix_validator
from declarations.models import Lane


class RiskSettings(models.Model):
    """Platform-wide thresholds mapping a risk score to a lane (one row)."""

    yellow_from = models.PositiveIntegerField(
        default=30, help_text="Score from which a declaration goes yellow."
    )
    red_from = models.PositiveIntegerField(
        default=60, help_text="Score from which a declaration goes red."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "risk settings"
        constraints = [
            models.CheckConstraint(
                name="yellow_below_red", condition=Q(yellow_from__lt=models.F("red_from"))
            ),
            models.CheckConstraint(name="risk_settings_singleton", condition=Q(pk=1)),
        ]

    def __str__(self) -> str:
        return f"yellow from {self.yellow_from}, red from {self.red_from}"

    @classmethod
    def current(cls) -> "RiskSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class SelectivityRule(models.Model):
    """A criterion on a declaration's items; when an item matches, the rule fires."""

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
    score = models.IntegerField(
        default=0, validators=[MinValueValidator(-100), MaxValueValidator(100)]
    )
    force_lane = models.CharField(max_length=8, choices=Lane, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="Shown to the officer.")
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                name="rule_has_a_criterion",
                condition=~Q(hs_prefix="", origin_country="", min_item_value__isnull=True),
            ),
            models.CheckConstraint(
                name="rule_has_an_action",
                condition=~Q(score=0, force_lane=""),
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
    decided_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.declaration_id}: {self.lane} ({self.score})"

"""E-seals and cargo sensors on transit movements: the devices, every message they
send, the alerts those raise and how closely each movement is watched.

A movement is a transit declaration (declarations.Declaration of type TR) that
its office of departure released under seal: its `seal_numbers` are what the
devices' messages name.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

# One level of an MQTT topic: no "/", "+" or "#", nothing a broker treats specially.
device_identifier_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
    "A device id is 1 to 64 letters, digits, dots, dashes or underscores.",
)


class Device(models.Model):
    """A device registered by customs. Over MQTT it is named by its topic (the
    broker authenticates it); over HTTP by its own credential, of which only a
    SHA-256 digest is kept (the key is shown once, when issued)."""

    class Kind(models.TextChoices):
        SEAL = "seal", "Electronic seal"
        SENSOR = "sensor", "Cargo sensor"
        TRACKER = "tracker", "Position tracker"

    identifier = models.CharField(
        max_length=64, unique=True, validators=[device_identifier_validator]
    )
    kind = models.CharField(max_length=8, choices=Kind)
    description = models.CharField(max_length=200, blank=True)
    # An inactive device's messages are kept but never acted on.
    active = models.BooleanField(default=True)
    credential_digest = models.CharField(max_length=64, unique=True)
    # The key's first characters, to tell which one a device holds.
    credential_prefix = models.CharField(max_length=8)
    registered_at = models.DateTimeField(default=timezone.now)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["identifier"]

    def __str__(self) -> str:
        return f"{self.identifier} ({self.get_kind_display().lower()})"


class DeviceEvent(models.Model):
    """One message of a device, as received: every message is stored, readable or
    not, known device and seal or not, and never twice (a device's message id is
    unique; a repeat only counts in `receipts`)."""

    class Channel(models.TextChoices):
        MQTT = "mqtt", "MQTT"
        HTTP = "http", "HTTP"

    class SealStatus(models.TextChoices):
        CLOSED = "closed", "Closed"
        OPENED = "opened", "Opened"
        TAMPERED = "tampered", "Tampered"

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Evaluated on its movement"
        AFTER_ARRIVAL = "after_arrival", "On its movement's track, after the arrival"
        UNKNOWN_SEAL = "unknown_seal", "No movement under this seal (yet)"
        UNKNOWN_DEVICE = "unknown_device", "Device not registered, or inactive"
        MALFORMED = "malformed", "Unreadable"

    device = models.ForeignKey(
        Device,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        # A device's events are found by its identifier (device_event_once leads
        # with it), and devices are never deleted: one index less to write on every
        # event.
        db_index=False,
    )
    # As the message named it (its topic, or the credential it came with), even
    # when no device of that name is registered.
    device_identifier = models.CharField(max_length=64)
    message_id = models.CharField(max_length=128)
    channel = models.CharField(max_length=4, choices=Channel)
    # The device's clock: the order of a movement's events. Null when unreadable.
    recorded_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    seal = models.CharField(max_length=32, blank=True)
    seal_status = models.CharField(max_length=8, choices=SealStatus, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    temperature = models.FloatField("temperature (°C)", null=True, blank=True)
    speed = models.FloatField("speed (km/h)", null=True, blank=True)
    # The message itself: the parsed JSON object, or {"raw": text} when unreadable.
    payload = models.JSONField(default=dict)
    movement = models.ForeignKey(
        "declarations.Declaration",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="device_events",
        # device_event_track_idx (movement, recorded_at) serves the lookups by
        # movement: one index less to write on every event.
        db_index=False,
    )
    outcome = models.CharField(max_length=16, choices=Outcome)
    problem = models.CharField(max_length=300, blank=True)
    # How many times the message arrived (at-least-once delivery repeats some).
    receipts = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["device_identifier", "message_id"], name="device_event_once"
            ),
            models.CheckConstraint(
                name="device_event_position_whole",
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
            ),
        ]
        indexes = [
            # A movement's track in device time; the stop rule reads the positions it
            # judges off it too (nearly every event of a movement is one), and the one
            # before the new ones by a backward scan.
            models.Index(fields=["movement", "recorded_at"], name="device_event_track_idx"),
            # Events waiting for a movement under their seal (device_events_rematch).
            models.Index(
                fields=["seal"],
                condition=Q(outcome="unknown_seal"),
                name="device_event_unmatched_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_identifier}/{self.message_id} ({self.outcome})"

    @property
    def has_position(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class MovementAlert(models.Model):
    """A condition a movement's devices reported: raised once per movement and kind
    (the first event that showed it), told to its offices, and obliging the office
    of destination to inspect the goods. Customs staff only: never the trader."""

    class Kind(models.TextChoices):
        SEAL_OPENED = "seal_opened", "Seal opened"
        SEAL_TAMPERED = "seal_tampered", "Seal tampered with"
        OFF_ROUTE = "off_route", "Off the route"
        LONG_STOP = "long_stop", "Stopped too long"
        TEMPERATURE = "temperature", "Temperature out of range"

    movement = models.ForeignKey(
        "declarations.Declaration", on_delete=models.PROTECT, related_name="movement_alerts"
    )
    kind = models.CharField(max_length=16, choices=Kind)
    event = models.ForeignKey(DeviceEvent, on_delete=models.PROTECT, related_name="alerts")
    raised_at = models.DateTimeField()
    # For officers: what was seen, where and when ("12.4 km off the route").
    detail = models.CharField(max_length=300)

    class Meta:
        ordering = ["raised_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["movement", "kind"], name="one_alert_per_movement_kind")
        ]

    def __str__(self) -> str:
        return f"{self.movement_id}: {self.get_kind_display()}"


class MonitoringProfile(models.Model):
    """How closely customs watches one movement; without a row, the settings'
    defaults (SEAL_CORRIDOR_KM, SEAL_MAX_STOP_MINUTES) and no temperature range."""

    movement = models.OneToOneField(
        "declarations.Declaration",
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="monitoring_profile",
    )
    # Only for goods that need it (chilled, frozen): both bounds or neither.
    temperature_min = models.FloatField(
        "lowest temperature (°C)",
        null=True,
        blank=True,
        validators=[MinValueValidator(-100), MaxValueValidator(100)],
    )
    temperature_max = models.FloatField(
        "highest temperature (°C)",
        null=True,
        blank=True,
        validators=[MinValueValidator(-100), MaxValueValidator(100)],
    )
    corridor_km = models.FloatField(
        "corridor either side of the route (km)",
        validators=[MinValueValidator(0.5), MaxValueValidator(500)],
    )
    max_stop_minutes = models.PositiveIntegerField(
        "longest stop allowed (minutes)",
        validators=[MinValueValidator(5), MaxValueValidator(7 * 24 * 60)],
    )
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="temperature_range_whole_and_ordered",
                condition=Q(temperature_min__isnull=True, temperature_max__isnull=True)
                | Q(
                    temperature_min__isnull=False,
                    temperature_max__isnull=False,
                    temperature_min__lte=F("temperature_max"),
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"monitoring of {self.movement_id}"

    @property
    def watches_temperature(self) -> bool:
        return self.temperature_min is not None

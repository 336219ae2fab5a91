import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Notification(models.Model):
    """Something a user should know about: a decision, a query, a release, new work."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    verb = models.CharField(max_length=32)
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox_idx"),
            # The header badge counts unread rows on every page.
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.text}"


class OutboxMessage(models.Model):
    """A message to another system (an e-mail to a user's mailbox, later a partner's
    API), written in the transaction of the step it tells of and delivered from here.

    The row, not the broker, is the source of truth: a task queued after commit
    delivers it at once, and the beat job `sweep_outbox` delivers whatever is
    still pending, so a worker killed or a message lost between commit and send
    delays a delivery but never loses it. A delivery claims the row with a guarded
    update that takes a lease; a lease that expires (its worker died) is taken
    again, and two workers never hold it at once.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "e-mail"

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    channel = models.CharField(max_length=16, choices=Channel.choices)
    # Stable for the life of the row: the e-mail's Message-ID (a partner's
    # idempotency key), so a delivery repeated after a crash is the same message.
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # What the channel needs, complete at writing time (address, subject, body).
    payload = models.JSONField()
    notification = models.ForeignKey(
        Notification,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="outbox_messages",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    # Pending rows are not tried before this (backoff after a failure).
    next_attempt_at = models.DateTimeField()
    # Held by a delivery until then; a later delivery takes over a lapsed lease.
    leased_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweep and the backlog read only what is not sent; sent rows pile up.
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=~Q(status="sent"),
                name="outbox_unsent_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="sent", sent_at__isnull=False)
                | (~Q(status="sent") & Q(sent_at__isnull=True)),
                name="outbox_sent_at_iff_sent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.key} ({self.status})"

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyRecord(models.Model):
    """The first response to a request sent with an Idempotency-Key header.

    A retry with the same key gets this response back instead of repeating
    the work; the unique constraint makes concurrent retries wait for the
    first one and then read its response.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="unique_idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class Proposal(models.Model):
    """What one person proposes and a second approves or refuses (four eyes): who
    proposed it, when and why, and who decided, when and with what note. The
    concrete proposals add what is proposed, their statuses and constraints."""

    reason = models.TextField()
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()
    # Who approved or refused it; none while it waits (or when it lapsed on its own).
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        abstract = True


def proposals_with_status(proposals, wanted: str):
    """The proposals a list asks for with ?status=: one status of the model's, "all",
    or none for a status it does not have."""
    if wanted == "all":
        return proposals
    if wanted not in proposals.model.Status.values:
        return proposals.none()
    return proposals.filter(status=wanted)

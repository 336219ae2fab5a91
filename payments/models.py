from django.db import models

from declarations.models import MONEY, Payment


class PaymentNotification(models.Model):
    """A bank's notification that a payment order was paid, as received.

    The bank's notification id is unique: a notification sent again (a retry,
    or a replay by someone who captured it) is refused and changes nothing.
    Only notifications that confirmed a payment are kept; refused ones leave
    no row, as they leave no other change.
    """

    notification_id = models.CharField(max_length=64, unique=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="notifications")
    bank_reference = models.CharField(max_length=64)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    paid_at = models.DateTimeField()
    received_at = models.DateTimeField()
    # The signed body as it arrived, for the treasury's reconciliation.
    body = models.JSONField()

    class Meta:
        ordering = ["received_at"]

    def __str__(self) -> str:
        return f"{self.notification_id}: {self.payment.reference}"

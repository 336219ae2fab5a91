"""Every write of the payments app: the bank notifications received."""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from declarations.models import Payment
from payments.models import PaymentNotification


def ensure_not_replayed(notification_id: str) -> None:
    if PaymentNotification.objects.filter(notification_id=notification_id).exists():
        raise ValidationError(
            {"notification_id": "This notification was already received; nothing was changed."}
        )


@transaction.atomic
def payment_notification_record(
    *,
    payment: Payment,
    notification_id: str,
    bank_reference: str,
    amount: Decimal,
    currency: str,
    paid_at: datetime,
    body: dict,
) -> PaymentNotification:
    """Keep the notification that confirmed a payment, in the confirmation's transaction."""
    notification = PaymentNotification(
        notification_id=notification_id,
        payment=payment,
        bank_reference=bank_reference,
        amount=amount,
        currency=currency,
        paid_at=paid_at,
        received_at=timezone.now(),
        body=body,
    )
    notification.full_clean(validate_unique=False)
    try:
        # A savepoint: the same id arriving twice at once is refused, not a 500.
        with transaction.atomic():
            notification.save()
    except IntegrityError:
        ensure_not_replayed(notification_id)
        raise
    return notification

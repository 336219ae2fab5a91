from celery import shared_task
from django.db import OperationalError

from notifications.services import notification_email_send


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def send_notification_email(notification_id: int) -> None:
    notification_email_send(notification_id=notification_id)

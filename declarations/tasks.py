import logging
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from declarations.anchors import audit_anchor_publish
from declarations.models import InvoiceReading
from declarations.services import invoice_reading_perform, invoice_reading_record

logger = logging.getLogger(__name__)


@shared_task
def publish_audit_anchor() -> str:
    """Beat's daily anchor of the audit chains; running it twice only anchors twice."""
    return audit_anchor_publish().digest


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    # The database or the document storage passing out: try again. Each attempt is
    # counted, so a reading that never succeeds ends as failed.
    autoretry_for=(OperationalError, OSError),
    retry_backoff=True,
    max_retries=5,
    # The reader stops itself between pages past its budget; this catches one page
    # that never ends.
    soft_time_limit=settings.INVOICE_READ_BUDGET_SECONDS + 30,
    time_limit=settings.INVOICE_READ_BUDGET_SECONDS + 60,
)
def read_invoice(reading_id: int) -> str:
    try:
        reading = invoice_reading_perform(reading_id=reading_id)
    except SoftTimeLimitExceeded:
        reading = invoice_reading_record(
            reading_id=reading_id,
            status=InvoiceReading.Status.FAILED,
            notes=["Reading took too long."],
        )
    return reading.status if reading else "already read"


@shared_task
def sweep_unread_invoices() -> int:
    """Queue again the invoices uploaded a while ago and still not read: a message lost
    with a broker restart, or never sent because Redis was down."""
    cutoff = timezone.now() - timedelta(seconds=settings.INVOICE_READ_SWEEP_AFTER_SECONDS)
    stuck = list(
        InvoiceReading.objects.filter(
            status=InvoiceReading.Status.PENDING, created_at__lt=cutoff
        ).values_list("pk", flat=True)[:1000]
    )
    for reading_id in stuck:
        read_invoice.delay(reading_id)
    if stuck:
        logger.warning("re-queued %d invoices still not read", len(stuck))
    return len(stuck)

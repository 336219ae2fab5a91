import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from declarations.models import Declaration
from risk.services import declaration_assess_risk

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def score_declaration(declaration_id: int) -> None:
    declaration_assess_risk(declaration_id=declaration_id)


@shared_task
def sweep_unscored_declarations() -> int:
    """Queue again every declaration submitted a while ago that still has no lane.

    The database, not the broker, is the source of truth: this catches a
    message lost with a broker restart or never sent because Redis was down.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.RISK_SWEEP_AFTER_SECONDS)
    stuck = list(
        Declaration.objects.filter(
            status=Declaration.Status.SUBMITTED, submitted_at__lt=cutoff
        ).values_list("pk", flat=True)[:1000]
    )
    for declaration_id in stuck:
        score_declaration.delay(declaration_id)
    if stuck:
        logger.warning("re-queued %d declarations without a lane", len(stuck))
    return len(stuck)

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from clearance.exports import OVERDUE_BATCH, exports_flag_overdue
from clearance.services import declaration_scoring_failed, declarations_assess_risk
from clearance.transit import transit_movements_flag_overdue
from declarations.models import Declaration
from risk.services import declaration_scoring_pending_retry

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def score_declaration(self, declaration_id: int) -> None:
    # Under load, one message scores a batch: its declaration and others still
    # waiting, with one model call; their own messages then find them decided.
    try:
        decisions = declarations_assess_risk(
            declaration_ids=[declaration_id], more=settings.RISK_BATCH_SIZE - 1
        )
    except OperationalError:
        raise
    except Exception as exc:
        # A bug or bad data, not a passing outage: count it in the database and
        # retry a few times; past the limit the declaration is held for an officer.
        logger.exception("scoring declaration %s failed", declaration_id)
        held = declaration_scoring_failed(
            declaration_id=declaration_id, error=f"{type(exc).__name__}: {exc}"
        )
        if not held:
            raise self.retry(exc=exc, countdown=settings.RISK_RETRY_SECONDS) from exc
        return
    decided = any(d.declaration_id == declaration_id for d in decisions)
    if not decided and declaration_scoring_pending_retry(declaration_id=declaration_id):
        raise self.retry(countdown=settings.RISK_RETRY_SECONDS)


@shared_task
def sweep_unscored_declarations() -> int:
    """Queue again every declaration submitted a while ago that still has no lane.

    The database, not the broker, is the source of truth: this catches a
    message lost with a broker restart or never sent because Redis was down.
    Held declarations (scoring failed too often) are not submitted any more,
    so they are never queued again.
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


@shared_task
def flag_overdue_exports() -> int:
    """Flag the exports whose exit is overdue, a batch per transaction until none is
    left. Safe to run twice at once or again: each export is flagged once."""
    flagged = 0
    while True:
        batch = exports_flag_overdue(limit=OVERDUE_BATCH)
        flagged += len(batch)
        if len(batch) < OVERDUE_BATCH:
            break
    if flagged:
        logger.info("flagged %d exports whose exit is overdue", flagged)
    return flagged


@shared_task
def flag_overdue_transit_movements() -> int:
    """Flag transit movements past their deadline without an arrival (each once)."""
    flagged = transit_movements_flag_overdue()
    if flagged:
        logger.warning("flagged %d overdue transit movements", len(flagged))
    return len(flagged)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def rescore_fallback_decisions(job_id: int) -> dict | None:
    """Score again the decisions a fallback took (an administrator's job). Safe to run
    twice, or again after a worker died halfway: each decision is re-scored once,
    whichever run gets to it, and a running job is taken up where it stands."""
    from clearance.continuity import lane_decisions_rescore

    return lane_decisions_rescore(job_id=job_id)

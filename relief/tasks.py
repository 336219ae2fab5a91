import logging

from celery import shared_task

from relief.services import (
    SWEEP_BATCH,
    provisional_documents_flag_overdue,
    provisional_documents_remind,
    provisional_documents_withdraw_ended,
)

logger = logging.getLogger(__name__)


def _in_batches(step) -> int:
    done = 0
    while True:
        batch = step(limit=SWEEP_BATCH)
        done += len(batch)
        if len(batch) < SWEEP_BATCH:
            return done


@shared_task
def sweep_documents_owed() -> dict:
    """Provisional relief declarations: remind declarants before their documents are due,
    flag those past the deadline, and close what declarations that ended owed. Safe to
    run twice at once or again: each reminder and each flag happens once."""
    counts = {
        "withdrawn": _in_batches(provisional_documents_withdraw_ended),
        "reminded": _in_batches(provisional_documents_remind),
        "overdue": _in_batches(provisional_documents_flag_overdue),
    }
    if counts["reminded"] or counts["overdue"]:
        logger.info("documents owed: %(reminded)d reminded, %(overdue)d overdue", counts)
    return counts

import logging

from celery import shared_task
from celery.signals import worker_init

logger = logging.getLogger(__name__)


@worker_init.connect
def preload_risk_model(**kwargs) -> None:
    """Load the model libraries and the live model once, in the worker's main process.

    Pool processes are forked from it and share those pages instead of each
    loading its own copy; a child still reloads when the live version changes.
    """
    try:
        import risk.ml.model  # noqa: F401
        from risk.model_store import live_model

        live_model()
    except Exception:
        logger.warning("risk model not preloaded; pool processes load it on first use")
    finally:
        from django.db import connections

        # Forked pool processes must not share the parent's database connection.
        connections.close_all()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_risk_job(job_id: int) -> None:
    from risk.jobs import risk_job_run

    risk_job_run(job_id=job_id)


@shared_task
def retrain_risk_model() -> int | None:
    """The scheduled retraining: a job like the analyst's, without an analyst."""
    from risk.jobs import risk_job_create
    from risk.models import RiskJob

    if RiskJob.objects.filter(
        kind=RiskJob.Kind.RETRAIN, status__in=[RiskJob.Status.QUEUED, RiskJob.Status.RUNNING]
    ).exists():
        return None
    job = risk_job_create(kind=RiskJob.Kind.RETRAIN, params={}, actor=None)
    return job.pk

"""Analyst jobs run by a worker: retraining and replay, with progress the page polls."""

import logging
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from risk.models import ModelVersion, RiskJob, RuleSet

logger = logging.getLogger(__name__)


def _clean_replay_params(params: dict) -> dict:
    errors = {}
    try:
        rule_set = RuleSet.objects.get(pk=params.get("rule_set"))
    except (RuleSet.DoesNotExist, ValueError, TypeError):
        errors["rule_set"] = "Choose a rule set."
        rule_set = None
    model = params.get("model_version")
    if model not in (None, "") and not ModelVersion.objects.filter(pk=model).exists():
        errors["model_version"] = "No such model version."
    dates = {}
    for name in ("date_from", "date_to"):
        try:
            dates[name] = date.fromisoformat(str(params.get(name)))
        except ValueError:
            errors[name] = "A date as YYYY-MM-DD."
    if len(dates) == 2 and dates["date_from"] > dates["date_to"]:
        errors["date_to"] = "The period ends before it starts."
    if errors:
        raise ValidationError(errors)
    return {
        "rule_set": rule_set.pk,
        "model_version": int(model) if model not in (None, "") else None,
        "date_from": str(dates["date_from"]),
        "date_to": str(dates["date_to"]),
        "seed": int(params.get("seed") or 0),
    }


@transaction.atomic
def risk_job_create(*, kind: str, params: dict, actor) -> RiskJob:
    """Queue a retraining or a replay; the worker picks it up once this commits."""
    if actor is not None and not (actor.is_analyst or actor.is_platform_admin):
        raise PermissionDenied
    if kind == RiskJob.Kind.REPLAY:
        params = _clean_replay_params(params)
    elif kind == RiskJob.Kind.RETRAIN:
        params = {}
    else:
        raise ValidationError({"kind": f"{kind!r} is not a job kind."})
    job = RiskJob(kind=kind, params=params, requested_by=actor)
    job.full_clean()
    job.save()
    from risk.tasks import run_risk_job

    transaction.on_commit(lambda: run_risk_job.delay(job.pk), robust=True)
    return job


def _progress(job_id: int):
    def report(percent: int, message: str) -> None:
        RiskJob.objects.filter(pk=job_id).update(progress=min(percent, 99), message=message[:300])

    return report


def risk_job_transition(*, job_id: int, from_status: str, to_status: str, **changes) -> bool:
    """The only way a job changes status: a guarded update from `from_status`, checked
    against RiskJob.TRANSITIONS, so of two workers (a redelivered message) one wins."""
    if to_status not in RiskJob.TRANSITIONS[from_status]:
        raise ValueError(f"a {from_status} job cannot become {to_status}")
    return bool(
        RiskJob.objects.filter(pk=job_id, status=from_status).update(status=to_status, **changes)
    )


def risk_job_run(*, job_id: int) -> None:
    """Run a queued job once: claiming it is a guarded update, so a redelivery does nothing."""
    Status = RiskJob.Status
    if not risk_job_transition(
        job_id=job_id, from_status=Status.QUEUED, to_status=Status.RUNNING, message="started"
    ):
        return
    job = RiskJob.objects.get(pk=job_id)
    progress = _progress(job_id)
    try:
        if job.kind == RiskJob.Kind.RETRAIN:
            from risk.training import model_train

            version = model_train(progress=progress, rounds=job.params.get("rounds"))
            result = {
                "model_version": version.pk,
                "label": version.label,
                "status": version.status,
                "note": version.note,
            }
        else:
            from risk.replay import replay

            params = job.params
            result = replay(
                rule_set=RuleSet.objects.get(pk=params["rule_set"]),
                model_version=(
                    ModelVersion.objects.get(pk=params["model_version"])
                    if params["model_version"]
                    else None
                ),
                date_from=date.fromisoformat(params["date_from"]),
                date_to=date.fromisoformat(params["date_to"]),
                seed=params["seed"],
                progress=progress,
            )
    except Exception as exc:
        logger.exception("risk job %s failed", job_id)
        risk_job_transition(
            job_id=job_id, from_status=Status.RUNNING, to_status=Status.FAILED,
            message=str(exc)[:300], finished_at=timezone.now(),
        )  # fmt: skip
        return
    risk_job_transition(
        job_id=job_id, from_status=Status.RUNNING, to_status=Status.DONE,
        progress=100, message="done", result=result, finished_at=timezone.now(),
    )  # fmt: skip

"""Retraining and replay run on a real worker; the page follows their progress."""

import pytest

from risk.models import ModelVersion, RiskJob, RuleSet
from risk.services import rule_create, rule_set_draft_create
from risk.training import kcs_import
from tests.conftest import wait_for
from tests.risk.test_training import kcs_sample  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def finished(job_id: int) -> RiskJob | None:
    job = RiskJob.objects.get(pk=job_id)
    return job if job.status in (RiskJob.Status.DONE, RiskJob.Status.FAILED) else None


def test_retrain_then_replay_from_the_browser_and_the_api(
    cast,
    login,
    api,
    celery_worker,
    kcs_sample,  # noqa: F811
):
    kcs_import(paths=[kcs_sample])
    client = login(cast.analyst)
    response = client.post("/risk/models/retrain/")
    job_id = int(response.url.rstrip("/").split("/")[-1])
    polled = client.get(f"/risk/jobs/{job_id}/", HTTP_HX_REQUEST="true")
    assert 'id="job"' in polled.content.decode()
    job = wait_for(lambda: finished(job_id), timeout=120)
    assert job.status == RiskJob.Status.DONE, job.message
    version = ModelVersion.objects.get(pk=job.result["model_version"])
    assert version.status == ModelVersion.Status.LIVE
    assert "m1" in client.get("/risk/models/").content.decode()

    rule_set = rule_set_draft_create(actor=cast.analyst)
    rule_create(actor=cast.analyst, rule_set=rule_set, name="Furniture", hs_prefix="94", score=60)
    created = api.as_user(cast.analyst).post(
        "/api/v1/risk/replays/",
        {
            "rule_set": rule_set.pk,
            "model_version": version.pk,
            "date_from": "2020-01-01",
            "date_to": "2020-12-31",
        },
        format="json",
    )
    assert created.status_code == 202, created.json()
    replay_id = created.json()["id"]
    job = wait_for(lambda: finished(replay_id), timeout=120)
    assert job.status == RiskJob.Status.DONE, job.message
    assert job.progress == 100
    assert job.result["rule_set"] == f"v{rule_set.version}"
    page = client.get(f"/risk/jobs/{replay_id}/").content.decode()
    assert page.count("<svg") == 2
    assert "Lane mix" in page
    # Polling stops once the job is done: the partial no longer asks to be fetched again.
    assert (
        "hx-trigger"
        not in client.get(f"/risk/jobs/{replay_id}/", HTTP_HX_REQUEST="true").content.decode()
    )
    assert RuleSet.objects.get(pk=rule_set.pk).status == RuleSet.Status.DRAFT


def test_an_invalid_replay_is_refused_with_field_names(cast, api):
    response = api.as_user(cast.analyst).post(
        "/api/v1/risk/replays/",
        {"rule_set": 999999, "date_from": "2020-03-01", "date_to": "2020-01-01"},
        format="json",
    )
    assert response.status_code == 400
    assert {"rule_set", "date_to"} <= set(response.json()["fields"])
    assert not RiskJob.objects.exists()

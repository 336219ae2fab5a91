"""Re-scoring crosses the broker: the administrator asks over the API, a real worker scores
the fallback's decisions again once the model loads, and the job reports how it went."""

import hashlib

import pytest

from risk.models import LaneDecision, LaneRescore, ModelVersion, RiskJob
from tests.conftest import wait_for
from tests.factories import api_payload

# The worker process caches content types by id: serialized_rollback restores them.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def live_model(forget_loaded_model) -> ModelVersion:
    from risk.ml.model import RiskModel
    from tests.risk.test_ml import synthetic

    blob = RiskModel(seed=0, rounds=10).train(synthetic(400, seed=1)).to_bytes()
    return ModelVersion.objects.create(
        version=1, status=ModelVersion.Status.LIVE, artifact=blob,
        sha256=hashlib.sha256(blob).hexdigest(), size_bytes=len(blob),
    )  # fmt: skip


def test_a_worker_re_scores_what_the_missing_model_left_to_the_rules(
    cast, api, celery_worker, live_model, no_random_selection
):
    good = bytes(live_model.artifact)
    ModelVersion.objects.filter(pk=live_model.pk).update(artifact=b"not the model")
    trader = api.as_user(cast.trader_a)
    ids = []
    for n in range(3):
        body = {**api_payload(invoice_number=f"INV-RESCORE-{n}"), "lodge": True}
        response = trader.post("/api/v1/declarations/", body, format="json")
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])

    def decided():
        found = list(LaneDecision.objects.filter(declaration_id__in=ids))
        return found if len(found) == len(ids) else None

    assert {d.fallback for d in wait_for(decided, timeout=90)} == {"rules_only"}

    # An analyst promotes a sound copy: the worker loads the new live version at once.
    ModelVersion.objects.filter(pk=live_model.pk).update(status=ModelVersion.Status.RETIRED)
    ModelVersion.objects.create(
        version=2, status=ModelVersion.Status.LIVE, artifact=good, sha256=live_model.sha256,
        size_bytes=len(good),
    )  # fmt: skip
    admin = api.as_user(cast.admin)
    state = admin.get("/api/v1/continuity/scoring/").json()
    assert state["to_rescore"] == 3
    response = admin.post("/api/v1/continuity/scoring/rescore/")
    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]

    def finished():
        job = admin.get(f"/api/v1/continuity/scoring/rescore/{job_id}/").json()
        return job if job["status"] in ("done", "failed") else None

    job = wait_for(finished, timeout=90)
    assert job["status"] == "done", job
    outcomes = job["result"]["outcomes"]
    # Nobody worked them yet: each took the full engine's decision (the same or a
    # stricter lane), or a lowering waits for a second supervisor.
    assert sum(outcomes.values()) + job["result"]["still_falling_back"] == 3
    for rescore in LaneRescore.objects.select_related("lane_decision"):
        assert rescore.outcome in ("raised", "updated", "proposed")
        if rescore.applied:
            assert rescore.lane_decision.model_version == "m2"
            assert rescore.lane_decision.fallback == ""
    assert RiskJob.objects.get(pk=job_id).kind == "rescore"

"""A systemic scoring fault is told from a bad declaration: nothing is held for it.

The live model that will not load routes by the rules alone; a live rule that
cannot be evaluated routes at least to the configured fallback lane (never
green). Each decision records its fallback, administrators and analysts are
told once per fault and once when it is over, and scoring resumes by itself.
A rule that fails on one declaration's data only still holds that one alone.
"""

import hashlib
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from declarations.models import Declaration
from notifications.models import Notification
from risk.models import (
    LaneDecision,
    ModelVersion,
    RiskSettings,
    ScoringFailure,
    ScoringFault,
    SelectivityRule,
)
from risk.services import rule_create, rule_delete, rule_set_draft_create
from tests.conftest import wait_for
from tests.factories import api_payload, rule_set_publish, second_analyst

TIMEOUT = 90

transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def live_model(forget_loaded_model) -> ModelVersion:
    """A small model trained on synthetic records, live."""
    from risk.ml.model import RiskModel
    from tests.risk.test_ml import synthetic

    blob = RiskModel(seed=0, rounds=10).train(synthetic(400, seed=1)).to_bytes()
    return ModelVersion.objects.create(
        version=1,
        status=ModelVersion.Status.LIVE,
        artifact=blob,
        sha256=hashlib.sha256(blob).hexdigest(),
        size_bytes=len(blob),
    )


def no_random_selection() -> None:
    RiskSettings.objects.update_or_create(
        pk=1, defaults={"random_yellow_rate": Decimal("0"), "random_red_rate": Decimal("0")}
    )


def publish_rules(analyst, **rule) -> SelectivityRule:
    """A live rule set of one rule, published with a second analyst's approval."""
    draft = rule_set_draft_create(actor=analyst)
    for old in draft.rules.all():
        rule_delete(actor=analyst, rule=old)
    created = rule_create(actor=analyst, rule_set=draft, name="phones", **rule)
    rule_set_publish(actor=analyst, rule_set=draft)
    return created


_invoices = iter(range(1, 100_000))


def lodge(api, trader, n: int, **header) -> list[int]:
    """Lodge declarations through the API, as a trader's software does."""
    client = api.as_user(trader)
    ids = []
    for _ in range(n):
        body = api_payload(invoice_number=f"INV-SYS-{next(_invoices)}", **header)
        response = client.post("/api/v1/declarations/", {**body, "lodge": True}, format="json")
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])
    return ids


def decided(ids) -> list[LaneDecision]:
    found = list(LaneDecision.objects.filter(declaration_id__in=ids))
    return found if len(found) == len(ids) else []


def told(user, verb: str) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, verb=verb).values_list("text", flat=True)
    )


def assert_none_held(ids) -> None:
    assert not Declaration.objects.filter(pk__in=ids, status=Declaration.Status.HELD).exists()
    assert not ScoringFailure.objects.filter(declaration_id__in=ids).exists()


@transactional
def test_a_model_that_will_not_load_routes_by_the_rules_alone_until_it_is_fixed(
    cast, api, celery_worker, live_model
):
    no_random_selection()
    publish_rules(cast.analyst, hs_prefix="85", score=40)  # phones: yellow from 30
    good = bytes(live_model.artifact)
    ModelVersion.objects.filter(pk=live_model.pk).update(artifact=b"not the model")

    ids = lodge(api, cast.trader_a, 20)
    decisions = wait_for(lambda: decided(ids), timeout=TIMEOUT)

    assert_none_held(ids)
    for decision in decisions:
        assert decision.lane == "yellow"
        assert decision.fallback == "rules_only"
        assert decision.model_version == ""
        kinds = [reason["kind"] for reason in decision.reasons]
        assert "rule" in kinds and "fallback" in kinds and "model" not in kinds
        fallback = next(r for r in decision.reasons if r["kind"] == "fallback")
        assert f"model {live_model.label} will not load" in fallback["text"]
        assert "SHA-256" in fallback["text"]
    episode = ScoringFault.objects.get()
    assert episode.kind == "model" and episode.closed_at is None
    assert episode.fallbacks == 20
    for watcher in (cast.admin, cast.analyst):
        assert len(told(watcher, "scoring fault")) == 1
    assert told(cast.admin, "scoring fault")[0].startswith("Risk scoring fault (model)")
    assert not told(cast.trader_a, "scoring fault")
    assert not told(cast.supervisor, "scoring fault")

    # An analyst promotes a sound copy: the next declarations are scored with it.
    ModelVersion.objects.filter(pk=live_model.pk).update(status=ModelVersion.Status.RETIRED)
    repaired = ModelVersion.objects.create(
        version=live_model.version + 1,
        status=ModelVersion.Status.LIVE,
        artifact=good,
        sha256=live_model.sha256,
        size_bytes=len(good),
        note="the same model, stored again",
    )
    later = lodge(api, cast.trader_a, 3)
    for decision in wait_for(lambda: decided(later), timeout=TIMEOUT):
        assert decision.fallback == ""
        assert decision.model_version == repaired.label
        assert any(reason["kind"] == "model" for reason in decision.reasons)
    wait_for(lambda: ScoringFault.objects.filter(closed_at__isnull=False).exists())
    assert ScoringFault.objects.count() == 1
    for watcher in (cast.admin, cast.analyst):
        assert len(told(watcher, "scoring fault")) == 1
        assert len(told(watcher, "scoring recovered")) == 1
    assert "20 declarations were decided by a fallback" in told(cast.admin, "scoring recovered")[0]


@pytest.mark.django_db
def test_a_model_restored_in_place_is_read_again_after_the_retry_delay(cast, settings, live_model):
    from clearance.services import declaration_assess_risk
    from tests.risk.conftest import submitted

    settings.RISK_MODEL_RETRY_SECONDS = 3600
    good = bytes(live_model.artifact)
    ModelVersion.objects.filter(pk=live_model.pk).update(artifact=b"not the model")
    first = declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk)
    assert first.fallback == "rules_only"

    ModelVersion.objects.filter(pk=live_model.pk).update(artifact=good)
    # Within the delay the worker does not read tens of MB again for every batch.
    assert declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk).fallback == (
        "rules_only"
    )
    settings.RISK_MODEL_RETRY_SECONDS = 0
    resumed = declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk)
    assert resumed.fallback == "" and resumed.model_version == live_model.label
    assert ScoringFault.objects.get().closed_at is not None
    assert len(told(cast.admin, "scoring recovered")) == 1


BROKEN_RULES = {
    # A criterion the code no longer has: the rule does not even compile.
    "unknown criterion": [{"field": "importer_credit_score", "op": "gt", "value": 5}],
    # A stored value the operator cannot compare with: it raises on every declaration.
    "bad stored value": [{"field": "net_mass_kg", "op": "gt", "value": [0]}],
}


@transactional
@pytest.mark.parametrize("broken", BROKEN_RULES)
def test_a_live_rule_that_cannot_be_evaluated_routes_to_the_fallback_lane_until_withdrawn(
    cast, api, login, celery_worker, broken
):
    no_random_selection()
    rule = publish_rules(cast.analyst, hs_prefix="85", score=10)  # green on its own
    SelectivityRule.objects.filter(pk=rule.pk).update(conditions=BROKEN_RULES[broken])

    ids = lodge(api, cast.trader_a, 20)
    decisions = wait_for(lambda: decided(ids), timeout=TIMEOUT)

    assert_none_held(ids)
    for decision in decisions:
        assert decision.lane == "red"  # the default fallback lane: never green
        assert decision.fallback == "default_lane"
        fallback = next(r for r in decision.reasons if r["kind"] == "fallback")
        assert fallback["rules"] == [rule.pk]
        assert f"rule {rule.pk}:" in fallback["text"]
    episode = ScoringFault.objects.get()
    assert (episode.kind, episode.fallbacks, episode.closed_at) == ("rules", 20, None)
    assert episode.detail["rules"] == [rule.pk]
    for watcher in (cast.admin, cast.analyst):
        assert len(told(watcher, "scoring fault")) == 1
    assert "at least the red lane" in told(cast.admin, "scoring fault")[0]

    # Staff read the fallback on the decision; the declarant reads the lane and nothing else.
    declaration_id = ids[0]
    staff = api.as_user(cast.analyst).get(f"/api/v1/declarations/{declaration_id}/").json()
    assert staff["lane_decision"]["fallback"] == "default_lane"
    page = login(cast.analyst).get(f"/declarations/{declaration_id}/").content.decode()
    assert 'data-testid="fallback"' in page and "cannot be evaluated" in page
    trader_api = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{declaration_id}/")
    trader_page = login(cast.trader_a).get(f"/declarations/{declaration_id}/")
    assert trader_api.json()["lane"] == "red"
    for answer in (trader_api.content.decode(), trader_page.content.decode()):
        assert "fallback" not in answer.lower()
        assert "cannot be evaluated" not in answer
        assert f"rule {rule.pk}" not in answer
        assert "importer_credit_score" not in answer and "TypeError" not in answer
    assert not told(cast.trader_a, "scoring fault")

    # The analysts withdraw the rule: a new rule set without it goes live.
    draft = rule_set_draft_create(actor=cast.analyst)
    for copy in draft.rules.all():
        rule_delete(actor=cast.analyst, rule=copy)
    rule_create(actor=cast.analyst, rule_set=draft, name="phones", hs_prefix="85", score=10)
    rule_set_publish(actor=cast.analyst, rule_set=draft)
    later = lodge(api, cast.trader_a, 3)
    for decision in wait_for(lambda: decided(later), timeout=TIMEOUT):
        assert (decision.lane, decision.fallback) == ("green", "")
    wait_for(lambda: ScoringFault.objects.filter(closed_at__isnull=False).exists())
    for watcher in (cast.admin, cast.analyst):
        assert len(told(watcher, "scoring fault")) == 1
        assert len(told(watcher, "scoring recovered")) == 1


@transactional
def test_a_rule_failing_on_one_declaration_only_holds_that_one_alone(cast, api, celery_worker):
    no_random_selection()
    rule = publish_rules(cast.analyst, hs_prefix="85", score=10)
    # It fails only on a declaration that names a consignor: one declaration's data.
    SelectivityRule.objects.filter(pk=rule.pk).update(
        conditions=[{"field": "consignor_name", "op": "gt", "value": [0]}]
    )
    good = lodge(api, cast.trader_a, 4)
    [bad] = lodge(api, cast.trader_a, 1, consignor_name="Shenzhen Logistics")
    good += lodge(api, cast.trader_a, 2)

    for decision in wait_for(lambda: decided(good), timeout=TIMEOUT):
        assert (decision.lane, decision.fallback) == ("green", ""), decision.reasons
    wait_for(
        lambda: Declaration.objects.get(pk=bad).status == Declaration.Status.HELD, timeout=TIMEOUT
    )
    assert not LaneDecision.objects.filter(declaration_id=bad).exists()
    assert ScoringFailure.objects.get(declaration_id=bad).attempts == 3
    assert "TypeError" in ScoringFailure.objects.get(declaration_id=bad).last_error
    assert not ScoringFault.objects.exists()
    assert not told(cast.admin, "scoring fault")
    assert len(told(cast.analyst, "held")) == 1


@pytest.mark.django_db
def test_the_fallback_lane_is_never_green(cast, api):
    analyst = api.as_user(cast.analyst)
    response = analyst.post(
        "/api/v1/risk/settings/proposals/",
        {"fallback_lane": "green", "reason": "fewer red lanes"},
        format="json",
    )
    assert response.status_code == 400
    assert "fallback_lane" in response.json()["fields"]
    assert RiskSettings.current().fallback_lane == "red"

    from risk.services import risk_settings_propose

    with pytest.raises(ValidationError) as refused:
        risk_settings_propose(actor=cast.analyst, reason="fewer red lanes", fallback_lane="green")
    assert "fallback_lane" in refused.value.message_dict

    with pytest.raises(IntegrityError), transaction.atomic():
        RiskSettings.objects.filter(pk=RiskSettings.current().pk).update(fallback_lane="green")

    # Yellow is allowed, with a second analyst's approval like every setting.
    proposed = analyst.post(
        "/api/v1/risk/settings/proposals/",
        {"fallback_lane": "yellow", "reason": "documentary checks suffice"},
        format="json",
    )
    assert proposed.status_code == 201, proposed.json()
    assert RiskSettings.current().fallback_lane == "red"
    approved = api.as_user(second_analyst(cast.analyst)).post(
        f"/api/v1/risk/settings/proposals/{proposed.json()['id']}/approve/"
    )
    assert approved.status_code == 200
    assert approved.json()["fallback_lane"] == "yellow"

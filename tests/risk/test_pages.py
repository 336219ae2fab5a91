"""Analyst pages and the risk API: analysts only, one code path with the services."""

import pytest

from risk.models import RiskJob, RuleSet, SelectivityRule
from risk.services import rule_set_draft_create
from tests.factories import second_analyst

pytestmark = pytest.mark.django_db

PAGES = ["/risk/", "/risk/settings/", "/risk/models/", "/risk/audit/"]
APIS = [
    "/api/v1/risk/criteria/",
    "/api/v1/risk/rule-sets/",
    "/api/v1/risk/settings/",
    "/api/v1/risk/models/",
    "/api/v1/risk/settings/proposals/",
    "/api/v1/risk/audit/",
]


def test_only_analysts_see_risk_pages_and_api(cast, login, api):
    draft = rule_set_draft_create(actor=cast.analyst)
    for user in (cast.trader_a, cast.customs_officer, cast.supervisor, cast.food_officer):
        client = login(user)
        for url in [*PAGES, f"/risk/rule-sets/{draft.pk}/"]:
            assert client.get(url).status_code == 404, (user.username, url)
        assert client.post("/risk/rule-sets/new/").status_code == 404
        assert client.post("/risk/models/retrain/").status_code == 404
        token = api.as_user(user)
        for url in [*APIS, f"/api/v1/risk/rule-sets/{draft.pk}/"]:
            assert token.get(url).status_code == 404, (user.username, url)
        assert token.post("/api/v1/risk/rule-sets/", {}, format="json").status_code == 404
        proposed = token.post(
            "/api/v1/risk/settings/proposals/", {"yellow_from": 1, "reason": "x"}, format="json"
        )
        assert proposed.status_code == 404
    assert RuleSet.objects.count() == 2
    assert not RiskJob.objects.exists()
    analyst = login(cast.analyst)
    for url in [*PAGES, f"/risk/rule-sets/{draft.pk}/"]:
        assert analyst.get(url).status_code == 200, url


def test_analyst_writes_a_rule_in_the_browser_and_sees_errors_by_field(cast, login):
    client = login(cast.analyst)
    created = client.post("/risk/rule-sets/new/")
    draft = RuleSet.objects.get(status=RuleSet.Status.DRAFT)
    assert created.url == f"/risk/rule-sets/{draft.pk}/"

    url = f"/risk/rule-sets/{draft.pk}/rules/new/"
    bad = client.post(
        url, {"name": "Cheap phones", "score": "40", "conditions_text": "price_ratio below 0.3"}
    )
    assert bad.status_code == 200
    assert "conditions[0].op: value per kg against the reference price" in bad.content.decode()
    assert not draft.rules.exists()

    good = client.post(
        url,
        {
            "name": "Cheap phones",
            "hs_prefix": "8517",
            "score": "40",
            "note": "Compare with the reference price.",
            "conditions_text": "price_ratio lt 0.3\naeo_status in none,aeo_c",
            "active": "on",
        },
    )
    assert good.status_code == 302
    rule = draft.rules.get()
    assert rule.conditions == [
        {"field": "price_ratio", "op": "lt", "value": 0.3},
        {"field": "aeo_status", "op": "in", "value": ["none", "aeo_c"]},
    ]
    page = client.get(f"/risk/rules/{rule.pk}/")
    assert "price_ratio lt 0.3" in page.content.decode()

    client.post(f"/risk/rule-sets/{draft.pk}/submit/")
    draft.refresh_from_db()
    assert draft.status == RuleSet.Status.PENDING
    login(second_analyst(cast.analyst)).post(f"/risk/rule-sets/{draft.pk}/approve/")
    draft.refresh_from_db()
    assert draft.status == RuleSet.Status.LIVE
    client = login(cast.analyst)
    # A live rule cannot be edited from the page either.
    client.post(f"/risk/rules/{rule.pk}/", {"name": "x", "hs_prefix": "85", "score": "1"})
    rule.refresh_from_db()
    assert rule.name == "Cheap phones"


def test_rule_api_refuses_invalid_rules_with_field_names(cast, api):
    client = api.as_user(cast.analyst)
    draft = client.post("/api/v1/risk/rule-sets/", {"note": "try"}, format="json")
    assert draft.status_code == 201
    rule_set = draft.json()["id"]
    bad = client.post(
        f"/api/v1/risk/rule-sets/{rule_set}/rules/",
        {
            "name": "bad",
            "score": 10,
            "conditions": [{"field": "hs_code", "op": "startswith", "value": "8x"}],
        },
        format="json",
    )
    assert bad.status_code == 400
    assert "conditions[0].value" in bad.json()["fields"]
    good = client.post(
        f"/api/v1/risk/rule-sets/{rule_set}/rules/",
        {
            "name": "AEO fast lane",
            "force_lane": "green",
            "conditions": [{"field": "aeo_status", "op": "eq", "value": "aeo_f"}],
        },
        format="json",
    )
    assert good.status_code == 201, good.json()
    submitted = client.post(f"/api/v1/risk/rule-sets/{rule_set}/submit/")
    assert submitted.json()["status"] == "pending"
    approved = api.as_user(second_analyst(cast.analyst)).post(
        f"/api/v1/risk/rule-sets/{rule_set}/approve/"
    )
    assert approved.json()["status"] == "live"
    assert approved.json()["approved_by"] == "analyst_2"
    client = api.as_user(cast.analyst)
    refused = client.patch(f"/api/v1/risk/rules/{good.json()['id']}/", {"score": 5}, format="json")
    assert refused.status_code == 400
    assert "rule_set" in refused.json()["fields"]
    assert SelectivityRule.objects.get(pk=good.json()["id"]).score == 0
    criteria = {c["name"] for c in client.get("/api/v1/risk/criteria/").json()}
    assert {"hs_code", "price_ratio", "aeo_status", "incoterm", "importer_tax_id"} <= criteria


def test_settings_api_validates(cast, api):
    client = api.as_user(cast.analyst)
    refused = client.post(
        "/api/v1/risk/settings/proposals/",
        {"yellow_from": 80, "red_from": 60, "reason": "tighter"},
        format="json",
    )
    assert refused.status_code == 400
    assert "yellow_from" in refused.json()["fields"]
    proposed = client.post(
        "/api/v1/risk/settings/proposals/",
        {"random_yellow_rate": "2.5", "reason": "more random checks"},
        format="json",
    )
    assert proposed.status_code == 201, proposed.json()
    assert proposed.json()["values"]["random_yellow_rate"] == "2.50"
    assert client.get("/api/v1/risk/settings/").json()["random_yellow_rate"] == "1.00"
    own = client.post(f"/api/v1/risk/settings/proposals/{proposed.json()['id']}/approve/")
    assert own.status_code == 409
    done = api.as_user(second_analyst(cast.analyst)).post(
        f"/api/v1/risk/settings/proposals/{proposed.json()['id']}/approve/"
    )
    assert done.json()["random_yellow_rate"] == "2.50"

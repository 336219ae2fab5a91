"""Targeting is confidential: the declarant reads the lane and what to do next, never why.

One declaration goes through everything that leaves a trace of targeting: a
rule with a note fires, random selection sends it to red, a supervisor
changes the lane with a written reason, customs records an inspection with
notes, asks a question and approves. The trader's detail, list, history,
queries and notifications (API and pages) hold none of it; the officers who
work the declaration still read all of it.
"""

import json
from decimal import Decimal

import pytest

from agencies.models import Review
from clearance.services import (
    declaration_assess_risk,
    declaration_scoring_failed,
    inspection_record,
    query_answer,
    review_approve,
    review_query,
)
from notifications.models import Notification
from risk.services import rule_create, rule_set_draft_create
from tests.factories import lane_lower, risk_settings_change, rule_set_publish
from tests.risk.conftest import submitted

pytestmark = pytest.mark.django_db

RULE_NAME = "Handsets from the watch list"
RULE_NOTE = "Partner alert 2026-117 on this exporter"
OVERRIDE_REASON = "Informant says the container is clean"
INSPECTION_NOTE = "Seal 4471 intact, counted 100 cartons"
# What must never reach the declarant, in any words.
SECRETS = [RULE_NAME, RULE_NOTE, OVERRIDE_REASON, INSPECTION_NOTE]
SECRET_WORDS = ["score", "random", "rule", "model", "probability", "reason"]
TARGETING_KEYS = {
    "lane_decision", "score", "reasons", "risk_reasons", "rule_set_version", "model_version",
    "model_probability", "randomly_selected", "lane_changes", "notes", "reason", "finding",
    "revenue_difference", "data",
}  # fmt: skip


def keys_of(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


@pytest.fixture
def worked(cast):
    """A declaration selected by a rule and at random, its lane changed, inspected,
    queried and approved."""
    rules = rule_set_draft_create(actor=cast.analyst)
    rule_create(
        actor=cast.analyst, rule_set=rules, name=RULE_NAME, hs_prefix="8517", score=40,
        note=RULE_NOTE,
    )  # fmt: skip
    rule_set_publish(actor=cast.analyst, rule_set=rules)
    risk_settings_change(
        actor=cast.analyst, random_red_rate=Decimal("100"), random_yellow_rate=Decimal("0")
    )
    declaration = submitted(cast.trader_a)
    decision = declaration_assess_risk(declaration_id=declaration.pk)
    assert decision.lane == "red"
    assert {r["kind"] for r in decision.reasons} >= {"rule", "random"}
    lane_lower(
        declaration_id=declaration.pk, lane="yellow", actor=cast.supervisor,
        reason=OVERRIDE_REASON,
    )  # fmt: skip
    customs = Review.objects.get(declaration=declaration, agency=cast.customs)
    inspection_record(
        review_id=customs.pk, actor=cast.customs_officer, kind="documentary",
        finding="no_discrepancy", notes=INSPECTION_NOTE,
    )  # fmt: skip
    query = review_query(
        review_id=customs.pk, actor=cast.customs_officer, question="Send the packing list."
    )
    query_answer(query_id=query.pk, actor=cast.trader_a, answer="Attached.")
    review_approve(review_id=customs.pk, actor=cast.customs_officer)
    declaration.refresh_from_db()
    assert declaration.status == "assessed"
    return declaration


def assert_nothing_of_targeting(text: str, *, words=SECRET_WORDS) -> None:
    for secret in SECRETS:
        assert secret not in text
    for word in words:
        assert word not in text.lower(), word


def test_the_declarants_api_holds_no_targeting(cast, api, worked):
    client = api.as_user(cast.trader_a)
    bodies = {
        "detail": client.get(f"/api/v1/declarations/{worked.pk}/").json(),
        "list": client.get("/api/v1/declarations/").json(),
        "queries": client.get("/api/v1/queries/").json(),
        "notifications": client.get("/api/v1/notifications/").json(),
    }
    for name, body in bodies.items():
        assert not keys_of(body) & TARGETING_KEYS, name
        assert_nothing_of_targeting(json.dumps(body))
    detail = bodies["detail"]
    assert detail["lane"] == "yellow"
    assert detail["next_step"].startswith("Pay the duties")
    history = [entry["text"] for entry in detail["history"]]
    # The history says what happened, in words: the lanes, the check, the question.
    assert any(text.startswith("Red lane: customs will examine the goods") for text in history)
    assert any(text.startswith("Lane changed. Yellow lane") for text in history)
    assert "Documentary check done." in history
    assert "Customs asks: Send the packing list." in history
    assert {entry["by"] for entry in detail["history"]} <= {
        "Customs", "Single Window", cast.trader_a.username,
    }  # fmt: skip
    told = [n["text"] for n in bodies["notifications"]["results"]]
    assert any("Red lane" in text for text in told)
    assert any("Lane changed" in text for text in told)


def test_the_declarant_reads_agencies_not_officers_names(cast, api, login, worked):
    """Who asked and who decided is an agency to the declarant; officers' user names
    (a handle on a person) stay inside the administration."""
    officers = {cast.customs_officer.username, "supervisor_2"}
    client = api.as_user(cast.trader_a)
    queries = client.get("/api/v1/queries/").json()["results"]
    assert [(q["asked_by"], q["answered_by"]) for q in queries] == [
        ("Customs", cast.trader_a.get_full_name() or cast.trader_a.username)
    ]
    one = client.get(f"/api/v1/queries/{queries[0]['id']}/").json()
    assert one["asked_by"] == "Customs"
    bodies = [
        json.dumps(queries),
        json.dumps(client.get(f"/api/v1/declarations/{worked.pk}/").json()),
        login(cast.trader_a).get(f"/declarations/{worked.pk}/").content.decode(),
    ]
    for body in bodies:
        for username in officers:
            assert username not in body
    # The officer who asked still reads a colleague's name.
    staff = api.as_user(cast.customs_officer).get("/api/v1/queries/").json()["results"]
    assert staff[0]["asked_by"] == cast.customs_officer.username


def test_the_declarants_pages_hold_no_targeting(cast, login, worked):
    browser = login(cast.trader_a)
    for url in (f"/declarations/{worked.pk}/", "/declarations/", "/notifications/"):
        page = browser.get(url)
        assert page.status_code == 200
        # The page's own form asks the declarant for a reason to cancel.
        assert_nothing_of_targeting(page.content.decode(), words=set(SECRET_WORDS) - {"reason"})
    page = browser.get(f"/declarations/{worked.pk}/").content.decode()
    assert "Pay the duties and taxes due" in page
    assert "Lane changed. Yellow lane" in page


def test_officers_still_read_why_for_their_slice(cast, api, login, worked):
    customs = Review.objects.get(declaration=worked, agency=cast.customs)
    body = api.as_user(cast.customs_officer).get(f"/api/v1/reviews/{customs.pk}/").json()
    reasons = " ".join(body["risk_reasons"])
    assert OVERRIDE_REASON in body["risk_reasons"][0]
    assert "lane red → yellow" in body["risk_reasons"][0]
    assert RULE_NOTE in reasons and "selected at random" in reasons
    done = [i for i in body["inspections"] if i["status"] == "done"]
    assert [(i["kind"], i["notes"]) for i in done] == [("documentary", INSPECTION_NOTE)]
    page = login(cast.customs_officer).get(f"/reviews/{customs.pk}/").content.decode()
    assert OVERRIDE_REASON in page and RULE_NOTE in page and INSPECTION_NOTE in page
    official = api.as_user(cast.analyst).get(f"/api/v1/declarations/{worked.pk}/").json()
    assert official["lane_decision"]["score"] >= 40
    assert official["lane_changes"][0]["reason"] == (
        f"{OVERRIDE_REASON} (proposed by supervisor, approved by supervisor_2)"
    )


def test_a_hold_tells_who_routes_it_and_not_the_declarant_why(cast, api):
    declaration = submitted(cast.trader_a)
    for _ in range(3):
        held = declaration_scoring_failed(
            declaration_id=declaration.pk, error="KeyError: 'price_ratio' in rule 12"
        )
    assert held
    body = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{declaration.pk}/").json()
    assert body["status"] == "held"
    assert body["next_step"] == "Held by customs: you will be told how it proceeds."
    assert "price_ratio" not in json.dumps(body) and "scoring" not in json.dumps(body)
    routers = set(
        Notification.objects.filter(text__endswith="route it by hand").values_list(
            "recipient__username", flat=True
        )
    )
    assert routers == {"analyst", "supervisor"}
    told = Notification.objects.get(recipient=cast.trader_a, verb="held")
    assert "scoring" not in told.text

"""The continuity desk over the API: the same services as its pages, refused to the wrong
role with 404 and to bad input with the field named."""

from datetime import timedelta

import pytest
from django.utils import timezone

from declarations.models import Declaration
from reference.services import office_close
from risk.models import PlannedFallback
from tests.agencies.conftest import PHONES
from tests.factories import api_payload

pytestmark = pytest.mark.django_db


def test_an_administrator_closes_lists_and_diverts_over_the_api(cast, reviewed, api):
    first = reviewed(lane="red", hs_codes=(PHONES,))
    second = reviewed(lane="red", hs_codes=(PHONES,))
    admin = api.as_user(cast.admin)
    response = admin.post(
        "/api/v1/continuity/offices/KRPUS/close/", {"reason": "Quay flooded"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["in_force"] is True and response.json()["closed_by"] == "admin"
    offices = {row["code"]: row for row in admin.get("/api/v1/continuity/offices/").json()}
    assert offices["KRPUS"]["closed"] is True and offices["KRPUS"]["waiting"] == 2
    assert offices["KRINC"]["closed"] is False and offices["KRINC"]["closure"] is None

    desk = admin.get("/api/v1/continuity/offices/KRPUS/").json()
    assert desk["waiting_count"] == 2
    assert {d["id"] for d in desk["waiting"]} == {first.pk, second.pk}
    assert "KRINC" in {t["code"] for t in desk["targets"]}
    assert "KRICN" not in {t["code"] for t in desk["targets"]}  # an airport

    # Lodging at the closed office: refused on the field.
    trader = api.as_user(cast.trader_a)
    refused = trader.post(
        "/api/v1/declarations/", {**api_payload(invoice_number="INV-API-X"), "lodge": True},
        format="json",
    )  # fmt: skip
    assert refused.status_code == 400 and list(refused.json()["fields"]) == ["office_of_entry"]

    admin = api.as_user(cast.admin)  # one client: its token is the last user's
    bad = admin.post(
        "/api/v1/continuity/offices/KRPUS/divert/",
        {"to_office": "KRICN", "reason": "flood"}, format="json",
    )  # fmt: skip
    assert bad.status_code == 400 and list(bad.json()["fields"]) == ["to_office"]
    response = admin.post(
        "/api/v1/continuity/offices/KRPUS/divert/",
        {"to_office": "KRINC", "reason": "flood", "declarations": [first.pk]}, format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["diverted"] == 1
    assert body["declarations"][0] == {
        "declaration": first.pk, "reference": first.reference, "field": "office_of_entry",
        "from_office": "KRPUS", "to_office": "KRINC", "reviews": ["customs"],
    }  # fmt: skip
    assert Declaration.objects.get(pk=second.pk).office_of_entry == "KRPUS"
    response = admin.post(
        "/api/v1/continuity/offices/KRPUS/reopen/", {"reason": "dry again"}, format="json"
    )
    assert response.status_code == 200 and response.json()["reopen_reason"] == "dry again"
    again = admin.post("/api/v1/continuity/offices/KRPUS/reopen/", {"reason": "x"}, format="json")
    assert again.status_code == 409


def test_a_closure_far_in_the_past_or_future_is_refused_on_its_field(cast, api):
    admin = api.as_user(cast.admin)
    for days in (-60, 60):
        when = (timezone.now() + timedelta(days=days)).isoformat()
        response = admin.post(
            "/api/v1/continuity/offices/KRPUS/close/",
            {"reason": "x", "closed_from": when}, format="json",
        )  # fmt: skip
        assert response.status_code == 400 and list(response.json()["fields"]) == ["closed_from"]


def test_a_customs_supervisor_reads_and_diverts_their_offices_only(cast, reviewed, api):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    office_close(office_code="KRPUS", reason="flood", actor=cast.admin)
    supervisor = api.as_user(cast.supervisor)
    assert [r["code"] for r in supervisor.get("/api/v1/continuity/offices/").json()] == ["KRPUS"]
    assert supervisor.get("/api/v1/continuity/offices/KRUSN/").status_code == 404
    close = supervisor.post(
        "/api/v1/continuity/offices/KRPUS/close/", {"reason": "x"}, format="json"
    )
    assert close.status_code == 404
    response = supervisor.post(
        "/api/v1/continuity/offices/KRPUS/divert/",
        {"to_office": "KRUWN", "reason": "to the depot"}, format="json",
    )  # fmt: skip
    assert response.status_code == 200
    assert Declaration.objects.get(pk=declaration.pk).office_of_entry == "KRUWN"


@pytest.mark.parametrize("who", ["trader_a", "customs_officer", "food_officer", "analyst"])
def test_the_desk_is_404_to_other_roles(cast, api, who):
    client = api.as_user(getattr(cast, who))
    for path in (
        "/api/v1/continuity/offices/",
        "/api/v1/continuity/offices/KRPUS/",
        "/api/v1/continuity/scoring/",
    ):
        assert client.get(path).status_code == 404, path
    for path in (
        "/api/v1/continuity/offices/KRPUS/close/",
        "/api/v1/continuity/scoring/fallback/",
        "/api/v1/continuity/scoring/fallback/off/",
        "/api/v1/continuity/scoring/rescore/",
    ):
        assert client.post(path, {"reason": "x", "mode": "default_lane"}).status_code == 404, path


def test_the_planned_fallback_and_the_re_scoring_over_the_api(cast, api):
    admin = api.as_user(cast.admin)
    state = admin.get("/api/v1/continuity/scoring/").json()
    assert state["planned"] is None and state["degraded"] is False and state["to_rescore"] == 0
    bad = admin.post(
        "/api/v1/continuity/scoring/fallback/", {"mode": "green", "reason": "x"}, format="json"
    )
    assert bad.status_code == 400 and list(bad.json()["fields"]) == ["mode"]
    on = admin.post(
        "/api/v1/continuity/scoring/fallback/",
        {"mode": "default_lane", "reason": "upgrade"}, format="json",
    )  # fmt: skip
    assert on.status_code == 201 and on.json()["status"] == "on"
    state = admin.get("/api/v1/continuity/scoring/").json()
    assert state["planned_on"] is True and state["degraded"] is True
    refused = admin.post("/api/v1/continuity/scoring/rescore/")
    assert refused.status_code == 409 and "switch it off first" in refused.json()["detail"]
    off = admin.post("/api/v1/continuity/scoring/fallback/off/", {}, format="json")
    assert off.status_code == 200 and off.json()["status"] == "off"
    proposed = admin.post(
        "/api/v1/continuity/scoring/fallback/",
        {"mode": "rules_only", "reason": "model host"}, format="json",
    ).json()  # fmt: skip
    assert proposed["status"] == "proposed"
    own = admin.post(f"/api/v1/continuity/scoring/fallback/{proposed['id']}/approve/")
    assert own.status_code == 409 and "Four eyes" in own.json()["detail"]
    withdrawn = admin.post(
        f"/api/v1/continuity/scoring/fallback/{proposed['id']}/refuse/",
        {"reason": "not needed"}, format="json",
    )  # fmt: skip
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "refused"
    assert PlannedFallback.objects.filter(status="refused").count() == 1

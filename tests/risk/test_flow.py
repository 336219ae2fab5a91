"""Submit to lane through the real broker and a real worker process."""

import pytest

from agencies.models import Review
from clearance.tasks import score_declaration
from declarations.models import Declaration
from risk.models import LaneDecision, SelectivityRule
from tests.conftest import wait_for, wait_until_drained
from tests.factories import api_payload, item_data, permit_citations

# The worker process caches content types by id: serialized_rollback restores
# them with their original ids after each test's flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def lane_of(declaration_id: int) -> str:
    return Declaration.objects.values_list("lane", flat=True).get(pk=declaration_id)


def test_submitted_declaration_gets_one_lane_and_the_right_reviews(cast, api, celery_worker):
    SelectivityRule.objects.create(name="Meat alert", hs_prefix="0201", score=70)
    client = api.as_user(cast.trader_a)
    items = [
        item_data(hs_code="020130", description="Beef, boneless", origin_country="AU"),
        item_data(hs_code="080510", description="Oranges", origin_country="ZA"),
        item_data(hs_code="851713", description="Phones"),
    ]
    for item in items:
        item["permits"] = permit_citations(item, holder=cast.company_a)
    payload = api_payload(items=items)
    created = client.post("/api/v1/declarations/", payload, format="json")
    assert created.status_code == 201, created.json()
    declaration_id = created.json()["id"]

    submitted = client.post(f"/api/v1/declarations/{declaration_id}/submit/")
    assert submitted.status_code == 202
    assert submitted.json()["status"] == "submitted"

    wait_for(lambda: lane_of(declaration_id))
    body = client.get(f"/api/v1/declarations/{declaration_id}/").json()
    assert body["status"] == "under_review"
    assert body["lane"] == "red"
    # The declarant reads the lane and what to do, never why.
    assert "lane_decision" not in body
    assert body["next_step"].startswith("Red lane: customs will examine the goods")
    official = api.as_user(cast.analyst).get(f"/api/v1/declarations/{declaration_id}/").json()
    assert official["lane_decision"]["score"] == 70
    assert "rule" in official["lane_decision"]["reasons"][0]["text"]
    assert LaneDecision.objects.filter(declaration_id=declaration_id).count() == 1

    slices = {
        review.agency.code: sorted(review.items.values_list("line_no", flat=True))
        for review in Review.objects.filter(declaration_id=declaration_id)
    }
    # Customs sees everything; food sees the beef (02) and oranges (0805);
    # plant quarantine sees the oranges (08) only.
    assert slices == {"customs": [1, 2, 3], "food": [1, 2], "plant": [2]}


def test_a_redelivered_scoring_message_changes_nothing(cast, api, celery_worker):
    client = api.as_user(cast.trader_a)
    declaration_id = client.post("/api/v1/declarations/", api_payload(), format="json").json()["id"]
    client.post(f"/api/v1/declarations/{declaration_id}/submit/")
    wait_for(lambda: lane_of(declaration_id))
    events_before = Declaration.objects.get(pk=declaration_id).events.count()

    for _ in range(3):
        score_declaration.delay(declaration_id)
    wait_until_drained(celery_worker)

    assert LaneDecision.objects.filter(declaration_id=declaration_id).count() == 1
    assert Review.objects.filter(declaration_id=declaration_id).count() == 1
    assert Declaration.objects.get(pk=declaration_id).events.count() == events_before


def test_officer_queue_lists_only_their_agencys_reviews(cast, api, login, celery_worker):
    client = api.as_user(cast.trader_a)
    beef_item = item_data(hs_code="020130")
    beef_item["permits"] = permit_citations(beef_item, holder=cast.company_a)
    beef = client.post(
        "/api/v1/declarations/",
        api_payload(items=[beef_item], invoice_number="INV-BEEF"),
        format="json",
    ).json()["id"]
    phones = client.post("/api/v1/declarations/", api_payload(), format="json").json()["id"]
    for declaration_id in (beef, phones):
        client.post(f"/api/v1/declarations/{declaration_id}/submit/")
    wait_for(lambda: lane_of(beef) and lane_of(phones))

    food_queue = api.as_user(cast.food_officer).get("/api/v1/reviews/").json()
    assert [r["declaration"] for r in food_queue["results"]] == [beef]
    customs_queue = api.as_user(cast.customs_officer).get("/api/v1/reviews/").json()
    # Customs looks only at what its lane says to check: green clears without it.
    checked = [d for d in (beef, phones) if lane_of(d) != "green"]
    assert sorted(r["declaration"] for r in customs_queue["results"]) == sorted(checked)
    assert api.as_user(cast.plant_officer).get("/api/v1/reviews/").json()["count"] == 0

    page = login(cast.food_officer).get("/queue/")
    assert page.status_code == 200
    references = [r.declaration.reference for r in page.context["page"]]
    assert references == [Declaration.objects.get(pk=beef).reference]

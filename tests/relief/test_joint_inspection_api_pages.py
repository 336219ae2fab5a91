"""Joint inspections through the API and the pages: listed for the agencies taking
part at their office, booked and recorded once; 404 for everyone else."""

from datetime import timedelta

import pytest
from django.utils import timezone

from relief.models import JointInspection
from tests.factories import UserFactory
from tests.relief.conftest import offered, relief_oranges

pytestmark = pytest.mark.django_db


def later(hours: int = 3) -> str:
    return (timezone.now() + timedelta(hours=hours)).isoformat()


def test_booked_and_recorded_over_the_api(cast, api, typhoon, ngo):
    declaration = relief_oranges(cast, ngo)
    joint = offered(declaration)
    food = api.as_user(cast.food_officer)

    listed = food.get("/api/v1/joint-inspections/").json()
    assert [j["id"] for j in listed["results"]] == [joint.pk]
    row = listed["results"][0]
    assert (row["status"], row["reference"], row["office"]) == (
        "offered", declaration.reference, "KRPUS",
    )  # fmt: skip
    assert [p["agency"] for p in row["participants"]] == ["food", "plant"]

    base = f"/api/v1/joint-inspections/{joint.pk}/"
    refused = food.post(
        f"{base}book/",
        {"scheduled_at": later(-1), "place": "Yard B", "agencies": ["food", "plant"]},
        format="json",
    )
    assert refused.status_code == 400
    assert list(refused.json()["fields"]) == ["scheduled_at"]
    booked = food.post(
        f"{base}book/",
        {"scheduled_at": later(), "place": "Yard B", "agencies": ["food", "plant"],
         "officers": ["food_officer", "plant_officer"]},
        format="json",
    )  # fmt: skip
    assert booked.status_code == 200, booked.json()
    assert booked.json()["status"] == "booked"
    assert [p["officers"] for p in booked.json()["participants"]] == [
        ["food_officer"], ["plant_officer"],
    ]  # fmt: skip

    plant = api.as_user(cast.plant_officer)
    recorded = plant.post(
        f"{base}record/", {"finding": "no_discrepancy", "notes": "Sound fruit"}, format="json"
    )
    assert recorded.status_code == 201, recorded.json()
    body = recorded.json()
    assert (body["status"], body["finding"], body["recorded_by"]) == (
        "done", "no_discrepancy", "plant_officer",
    )  # fmt: skip
    assert all(p["inspection"] for p in body["participants"])
    again = food.post(f"{base}record/", {"finding": "no_discrepancy"}, format="json")
    assert again.status_code == 409
    assert "recorded already by plant_officer" in again.json()["detail"]
    # Live ones by default; every one on asking.
    assert food.get("/api/v1/joint-inspections/").json()["results"] == []
    assert len(food.get("/api/v1/joint-inspections/?status=all").json()["results"]) == 1
    # The declarant reads the booking in the history, never the notes.
    history = api.as_user(ngo).get(f"/api/v1/declarations/{declaration.pk}/").json()["history"]
    assert any("Joint inspection of the goods by" in h["text"] for h in history)
    assert not any("Sound fruit" in h["text"] for h in history)


def test_cancelled_over_the_api_with_a_reason(cast, api, typhoon, ngo):
    joint = offered(relief_oranges(cast, ngo))
    url = f"/api/v1/joint-inspections/{joint.pk}/cancel/"
    client = api.as_user(cast.food_officer)
    assert client.post(url, {}, format="json").status_code == 400
    assert client.post(url, {"reason": "Inspected apart"}, format="json").status_code == 200
    assert JointInspection.objects.get(pk=joint.pk).status == "cancelled"


def test_nobody_else_sees_or_acts_on_it(cast, api, login, typhoon, ngo):
    joint = offered(relief_oranges(cast, ngo))
    elsewhere = UserFactory(
        username="food_icn", role="officer", agency=cast.food, offices=["KRICN"]
    )
    base = f"/api/v1/joint-inspections/{joint.pk}/"
    for user in (ngo, cast.trader_a, cast.analyst, cast.admin, elsewhere):
        client = api.as_user(user)
        assert client.get(base).status_code == 404, user
        for action in ("book", "record", "cancel"):
            assert client.post(f"{base}{action}/", {}, format="json").status_code == 404
        browser = login(user)
        assert browser.get(f"/relief/joint-inspections/{joint.pk}/").status_code == 404
        assert browser.get("/relief/joint-inspections/").status_code == (
            200 if user.is_agency_staff else 404
        )
        browser.logout()
    assert api.as_user(elsewhere).get("/api/v1/joint-inspections/").json()["results"] == []
    # Customs at the office sees it (it may join); the agencies taking part do.
    for user in (cast.customs_officer, cast.food_officer, cast.plant_officer):
        assert api.as_user(user).get(base).status_code == 200


def test_booked_and_recorded_on_the_pages(cast, login, typhoon, ngo):
    declaration = relief_oranges(cast, ngo)
    joint = offered(declaration)
    food_review = declaration.reviews.get(agency=cast.food)
    browser = login(cast.food_officer)

    review_page = browser.get(f"/reviews/{food_review.pk}/").content.decode()
    assert "Joint inspection" in review_page and "Book it" in review_page
    listing = browser.get("/relief/joint-inspections/").content.decode()
    assert declaration.reference in listing
    page = browser.get(f"/relief/joint-inspections/{joint.pk}/").content.decode()
    assert "Offered: to book" in page and 'name="agencies"' in page

    when = (timezone.localtime() + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
    response = browser.post(
        f"/relief/joint-inspections/{joint.pk}/book/",
        {"scheduled_at": when, "place": "Pier 7", "agencies": ["food", "plant"],
         "officers": ["plant_officer"]},
    )  # fmt: skip
    assert response.status_code == 302
    joint.refresh_from_db()
    assert (joint.status, joint.place) == ("booked", "Pier 7")
    page = browser.get(f"/relief/joint-inspections/{joint.pk}/").content.decode()
    assert "Record once for all" in page and "Pier 7" in page

    # A refusal reads on the page, naming the field.
    browser.post(f"/relief/joint-inspections/{joint.pk}/record/",
                 {"finding": "misdeclared_quantity", "items": ""})  # fmt: skip
    page = browser.get(f"/relief/joint-inspections/{joint.pk}/").content.decode()
    assert "items: Name the items the finding concerns." in page

    browser.post(
        f"/relief/joint-inspections/{joint.pk}/record/",
        {"finding": "no_discrepancy", "items": "", "notes": "All sound"},
    )
    joint.refresh_from_db()
    assert joint.status == "done" and joint.recorded_by == cast.food_officer
    plant_review = declaration.reviews.get(agency=cast.plant)
    page = login(cast.plant_officer).get(f"/reviews/{plant_review.pk}/").content.decode()
    assert "Recorded by food_officer: No discrepancy." in page

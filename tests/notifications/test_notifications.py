"""Traders hear of decisions, queries and releases; officers of new work."""

import pytest
from django.db import transaction

from clearance.services import review_approve, review_query
from notifications.models import Notification
from notifications.services import notifications_mark_read, notify, recipients_at_offices
from reference.models import Office
from tests.agencies.conftest import review_of

pytestmark = pytest.mark.django_db


def test_opening_reviews_tells_each_agency_of_new_work(
    cast, reviewed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        declaration = reviewed()
    officers = Notification.objects.filter(verb="review_opened")
    assert set(officers.values_list("recipient__username", flat=True)) == {
        "customs_officer",
        "supervisor",
        "food_officer",
        "plant_officer",
    }
    food = officers.get(recipient=cast.food_officer)
    assert food.url == f"/reviews/{review_of(declaration, cast.food).pk}/"


def test_nothing_is_told_of_a_decision_that_was_rolled_back(cast, reviewed):
    declaration = reviewed()
    with pytest.raises(RuntimeError), transaction.atomic():
        review_approve(review_id=review_of(declaration, cast.food).pk, actor=cast.food_officer)
        assert Notification.objects.filter(verb="review_approved").exists()
        raise RuntimeError("the request failed after the approval")
    assert not Notification.objects.filter(verb="review_approved").exists()
    review_approve(review_id=review_of(declaration, cast.food).pk, actor=cast.food_officer)
    assert Notification.objects.get(verb="review_approved").recipient == cast.trader_a


def test_the_trader_reads_and_marks_notifications_through_the_api(
    cast, api, reviewed, django_capture_on_commit_callbacks
):
    declaration = reviewed()
    # The permits the declaration cites were issued, and told of, before it was
    # filed; the trader has read those.
    permits_issued = Notification.objects.filter(recipient=cast.trader_a, verb="permit_issued")
    notifications_mark_read(
        user=cast.trader_a, ids=list(permits_issued.values_list("pk", flat=True))
    )
    with django_capture_on_commit_callbacks(execute=True):
        review_query(
            review_id=review_of(declaration, cast.food).pk,
            actor=cast.food_officer,
            question="Which plant?",
        )
    client = api.as_user(cast.trader_a)
    body = client.get("/api/v1/notifications/").json()
    # The lane, with what to do next, then the query.
    assert body["unread"] == 2
    assert body["results"][0]["text"].endswith("Which plant?")
    assert "Green lane" in body["results"][1]["text"]
    assert api.as_user(cast.trader_b).get("/api/v1/notifications/").json()["count"] == 0
    response = api.as_user(cast.trader_a).post(
        "/api/v1/notifications/read/", {"ids": [body["results"][0]["id"]]}, format="json"
    )
    assert response.json() == {"marked": 1, "unread": 1}


def test_the_badge_and_the_page(cast, login):
    notify(recipient_ids=[cast.trader_a.pk], verb="released", text="IM-1: goods released")
    browser = login(cast.trader_a)
    assert "(1 unread)" in browser.get("/notifications/badge/").content.decode()
    assert "IM-1: goods released" in browser.get("/notifications/").content.decode()
    browser.post("/notifications/read/")
    assert "unread" not in browser.get("/notifications/badge/").content.decode()


def test_staff_at_an_office_are_told_of_its_movements(cast):
    busan, incheon = Office.objects.get(code="KRPUS"), Office.objects.get(code="KRINC")
    cast.customs_officer.offices.set([busan])
    cast.supervisor.offices.set([busan, incheon])
    cast.food_officer.offices.set([incheon])

    assert sorted(recipients_at_offices(["KRINC"])) == [cast.supervisor.pk]
    assert sorted(recipients_at_offices(["KRPUS", "KRINC"])) == sorted(
        [cast.customs_officer.pk, cast.supervisor.pk]
    )
    assert cast.food_officer.pk in recipients_at_offices(["KRINC"], customs_only=False)

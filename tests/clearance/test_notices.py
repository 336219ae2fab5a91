"""Every status change that concerns someone tells them, in the step's own transaction."""

import pytest

from agencies.models import Review
from agencies.services import review_claim
from clearance.services import declaration_cancel
from notifications.models import Notification
from tests.agencies.conftest import review_of

pytestmark = pytest.mark.django_db


def test_a_cancellation_closes_the_reviews_and_tells_the_officer_holding_one(cast, api, reviewed):
    declaration = reviewed(lane="yellow")
    review_claim(review_id=review_of(declaration, cast.food).pk, actor=cast.food_officer)
    food_queue = api.as_user(cast.food_officer).get("/api/v1/reviews/").json()
    assert food_queue["count"] == 1

    declaration_cancel(actor=cast.trader_a, declaration=declaration, reason="order withdrawn")

    assert set(Review.objects.filter(declaration=declaration).values_list("status", flat=True)) == {
        "closed"
    }
    assert api.as_user(cast.food_officer).get("/api/v1/reviews/").json()["count"] == 0
    told = Notification.objects.get(recipient=cast.food_officer, verb="review_closed")
    assert (
        told.text == f"{declaration.reference}: your review is closed (cancelled by the declarant)"
    )
    # The declarant cancelled it: they are not told of their own step.
    assert not Notification.objects.filter(recipient=cast.trader_a, verb="cancelled").exists()


def test_the_lane_decision_tells_the_declarant_what_to_do(cast, reviewed):
    declaration = reviewed(lane="red")
    told = Notification.objects.get(recipient=cast.trader_a, verb="under_review")
    assert told.text == (
        f"{declaration.reference}: Red lane: customs will examine the goods. Keep them "
        "available at office KRPUS and be ready to present them with the transport document."
    )
    assert told.url == f"/declarations/{declaration.pk}/"

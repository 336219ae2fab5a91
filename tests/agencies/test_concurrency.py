"""Two officers acting on one review at the same moment: one wins, the other is told."""

import threading

import pytest
from django.db import connection

from agencies.models import Review
from agencies.services import review_claim
from clearance.services import review_approve, review_reject
from core.exceptions import ApplicationError
from tests.agencies.conftest import regulated_item, under_review
from tests.factories import UserFactory, make_declaration

pytestmark = pytest.mark.django_db(transaction=True)


def race(*actions):
    """Run the actions in threads released together; return each result or exception."""
    barrier = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait()
            results[index] = action()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.fixture
def food_review(cast):
    declaration = make_declaration(
        actor=cast.trader_a, items=[regulated_item("020130", holder=cast.company_a)]
    )
    # Yellow: customs' documentary check is still to do, so the food approval leaves
    # the declaration under review and the loser is told who decided first.
    declaration = under_review(declaration, lane="yellow", actor=cast.trader_a)
    return declaration.reviews.get(agency=cast.food)


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_decisions_one_wins_the_other_is_told(cast, food_review, attempt):
    second = UserFactory(username=f"food_2_{attempt}", role="officer", agency=cast.food)
    results = race(
        lambda: review_approve(review_id=food_review.pk, actor=cast.food_officer),
        lambda: review_reject(review_id=food_review.pk, actor=second, reason="Not listed"),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    wins = [r for r in results if isinstance(r, Review)]
    assert len(wins) == 1 and len(errors) == 1, results
    assert isinstance(errors[0], ApplicationError)
    winner = wins[0]
    assert f"already {winner.status} by {winner.decided_by.username}" in errors[0].message
    stored = Review.objects.get(pk=food_review.pk)
    assert (stored.status, stored.decided_by_id) == (winner.status, winner.decided_by_id)


def test_concurrent_claims_one_officer_gets_the_review(cast, food_review):
    officers = [cast.food_officer, UserFactory(role="officer", agency=cast.food)]
    results = race(*(lambda o=o: review_claim(review_id=food_review.pk, actor=o) for o in officers))
    wins = [r for r in results if isinstance(r, Review)]
    errors = [r for r in results if isinstance(r, ApplicationError)]
    assert len(wins) == 1 and len(errors) == 1, results
    assert errors[0].message == f"This review is claimed by {wins[0].assigned_to.username}."

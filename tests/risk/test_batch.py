"""Scoring a batch: one message decides the waiting declarations as one would each alone."""

import pytest
from django.core.management import call_command

from agencies.models import Review
from clearance import services
from declarations.models import Declaration
from risk.models import LaneDecision, ScoringFailure
from risk.services import ScoringBatch
from tests.factories import item_data, permit_citations
from tests.risk.conftest import submitted

pytestmark = pytest.mark.django_db

BEEF = {"hs_code": "020130", "description": "Beef", "origin_country": "AU"}


def test_one_message_decides_every_waiting_declaration_with_its_own_reviews(cast):
    beef_item = item_data(**BEEF)
    beef_item["permits"] = permit_citations(beef_item, holder=cast.company_a)
    beef = submitted(cast.trader_a, items=[beef_item])
    phones = [submitted(cast.trader_a) for _ in range(3)]
    other_company = submitted(cast.trader_b)

    decisions = services.declarations_assess_risk(declaration_ids=[phones[0].pk], more=31)

    everyone = [beef, *phones, other_company]
    assert sorted(d.declaration_id for d in decisions) == sorted(d.pk for d in everyone)
    for declaration in everyone:
        declaration.refresh_from_db()
        decision = LaneDecision.objects.get(declaration=declaration)
        # Routed; a green one nobody else needs to see is cleared at once.
        cleared = decision.lane == "green" and declaration.pk != beef.pk
        assert declaration.status == ("assessed" if cleared else "under_review")
        assert declaration.lane == decision.lane
        moved = declaration.events.get(to_status=Declaration.Status.UNDER_REVIEW)
        assert moved.data["lane"] == decision.lane
        assert moved.actor is None
    # Customs reviews everything; the food agency only the beef.
    assert set(Review.objects.filter(declaration=beef).values_list("agency__code", flat=True)) == {
        "customs",
        "food",
    }
    food = Review.objects.get(declaration=beef, agency__code="food")
    assert list(food.items.values_list("hs_code", flat=True)) == ["020130"]
    for declaration in phones:
        assert not Review.objects.filter(declaration=declaration, agency__code="food").exists()
    # The chains the batch extended still verify.
    call_command("audit_verify")
    # A second run, or a message for a declaration already decided, changes nothing.
    assert services.declarations_assess_risk(declaration_ids=[beef.pk], more=31) == []
    assert LaneDecision.objects.count() == len(everyone)


def test_a_declaration_that_fails_to_score_is_counted_alone_and_the_others_decided(
    cast, monkeypatch
):
    good = submitted(cast.trader_a)
    bad = submitted(cast.trader_a)
    decide = ScoringBatch.decide

    def decide_or_fail(batch, declaration, floor=None):
        if declaration.pk == bad.pk:
            raise ValueError("a bad declaration")
        return decide(batch, declaration, floor)

    monkeypatch.setattr(ScoringBatch, "decide", decide_or_fail)
    decisions = services.declarations_assess_risk(declaration_ids=[bad.pk], more=31)

    assert [d.declaration_id for d in decisions] == [good.pk]
    assert ScoringFailure.objects.get(declaration=bad).attempts == 1
    bad.refresh_from_db()
    assert bad.status == Declaration.Status.SUBMITTED
    assert not LaneDecision.objects.filter(declaration=bad).exists()
    assert not ScoringFailure.objects.filter(declaration=good).exists()


def test_when_the_batch_cannot_be_written_each_declaration_is_tried_alone(cast, monkeypatch):
    first, second = submitted(cast.trader_a), submitted(cast.trader_a)
    opened = services.reviews_open_many

    def open_alone(*, declarations, items_of):
        if len(declarations) > 1:
            raise RuntimeError("the batch write failed")
        return opened(declarations=declarations, items_of=items_of)

    monkeypatch.setattr(services, "reviews_open_many", open_alone)
    decisions = services.declarations_assess_risk(declaration_ids=[first.pk], more=31)

    # The requested declaration is decided alone; the other waits for its own message.
    assert [d.declaration_id for d in decisions] == [first.pk]
    second.refresh_from_db()
    assert second.status == Declaration.Status.SUBMITTED
    assert services.declarations_assess_risk(declaration_ids=[second.pk])[0].declaration_id == (
        second.pk
    )
    assert (
        Review.objects.filter(declaration__in=[first, second], agency__code="customs").count() == 2
    )

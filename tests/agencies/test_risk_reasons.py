"""An agency reads the risk reasons about its own goods, not another agency's."""

import pytest
from django.utils import timezone

from agencies.models import Review
from declarations.models import Declaration
from risk.models import LaneDecision
from tests.factories import item_data, make_declaration, open_reviews, permit_citations

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(cast):
    beef = item_data(hs_code="020130")
    beef["permits"] = permit_citations(beef, holder=cast.company_a)
    declaration = make_declaration(actor=cast.trader_a, items=[item_data(), beef])
    Declaration.objects.filter(pk=declaration.pk).update(status="under_review", lane="yellow")
    LaneDecision.objects.create(
        declaration=declaration,
        lane="yellow",
        score=40,
        reasons=[
            {"kind": "rule", "items": [1], "text": "rule 7: HS 8517 on item 1, +35"},
            {"kind": "model", "items": [2], "text": "model m1: fraud likelihood 0.30 (item 2)"},
            {"kind": "lane", "text": "lane yellow: score 40"},
        ],
        rule_set_version="v1",
        decided_at=timezone.now(),
        duration_ms=1,
    )
    open_reviews(declaration)
    return declaration


def test_another_agency_does_not_read_reasons_about_goods_outside_its_slice(
    cast, api, login, reviewed
):
    food_review = Review.objects.get(declaration=reviewed, agency=cast.food)
    body = api.as_user(cast.food_officer).get(f"/api/v1/reviews/{food_review.pk}/").json()
    # The total score and the thresholds are customs' targeting: the agency reads the lane.
    assert body["risk_reasons"] == [
        "model m1: fraud likelihood 0.30 (item 2)",
        "lane yellow",
    ]
    page = login(cast.food_officer).get(f"/reviews/{food_review.pk}/")
    assert b"HS 8517" not in page.content
    assert b"score 40" not in page.content
    assert b"lane yellow" in page.content


def test_an_agency_does_not_learn_which_other_agencies_review(cast, api, login):
    beef = item_data(hs_code="020130")
    apples = item_data(hs_code="080810", description="Apples")
    declaration = make_declaration(actor=cast.trader_a, items=[beef, apples])
    Declaration.objects.filter(pk=declaration.pk).update(status="under_review", lane="red")
    LaneDecision.objects.create(
        declaration=declaration, lane="red", score=90,
        reasons=[
            {"kind": "random", "force_lane": "red",
             "text": "selected at random for a physical inspection (2% of declarations are), "
                     "lane red"},
            {"kind": "lane", "text": "lane red: score 90 (yellow from 30, red from 70)"},
        ],
        rule_set_version="v1", decided_at=timezone.now(), duration_ms=1,
    )  # fmt: skip
    reviews = {r.agency.code: r for r in open_reviews(declaration)}
    assert set(reviews) == {"customs", "food", "plant"}
    food = reviews["food"]
    body = api.as_user(cast.food_officer).get(f"/api/v1/reviews/{food.pk}/").json()
    assert body["risk_reasons"] == ["selected at random, lane red", "lane red"]
    page = login(cast.food_officer).get(f"/reviews/{food.pk}/").content.decode()
    for secret in ("Plant Quarantine", "score 90", "red from 70", "2% of declarations"):
        assert secret not in page
        assert secret not in str(body)
    assert "Food and Drug Safety" in page
    # Customs, which releases the goods, sees where every agency stands.
    customs_page = login(cast.customs_officer).get(f"/reviews/{reviews['customs'].pk}/")
    assert "Plant Quarantine" in customs_page.content.decode()
    assert "red from 70" in customs_page.content.decode()


def test_customs_reads_every_reason(cast, api, reviewed):
    customs_review = Review.objects.get(declaration=reviewed, agency=cast.customs)
    body = api.as_user(cast.customs_officer).get(f"/api/v1/reviews/{customs_review.pk}/").json()
    assert len(body["risk_reasons"]) == 3

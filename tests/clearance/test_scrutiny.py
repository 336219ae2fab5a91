"""Amending or refiling never lowers scrutiny: the lane and the random draw are kept."""

from decimal import Decimal

import pytest

from agencies.models import Review
from clearance.services import declaration_amend, declaration_assess_risk, declaration_cancel
from declarations.models import Declaration
from risk.models import LaneDecision, RiskSettings
from risk.services import rule_create, rule_set_draft_create
from tests.factories import api_payload, consistent_header, item_data, rule_set_publish
from tests.risk.conftest import submitted

pytestmark = pytest.mark.django_db

CHEAP_PHONES = item_data(value=Decimal("900.00"))


@pytest.fixture
def phones_go_red(cast, no_random_selection):
    rules = rule_set_draft_create(actor=cast.analyst)
    rule_create(
        actor=cast.analyst, rule_set=rules, name="Phones", hs_prefix="8517", force_lane="red"
    )
    rule_set_publish(actor=cast.analyst, rule_set=rules)


def routed_red(cast) -> Declaration:
    declaration = submitted(cast.trader_a)
    assert declaration_assess_risk(declaration_id=declaration.pk).lane == "red"
    return Declaration.objects.get(pk=declaration.pk)


def without_phones() -> list[dict]:
    """The same consignment declared as something no rule looks at."""
    return [item_data(hs_code="610910", description="T-shirts", unit="NAR")]


def test_an_amendment_meant_to_downgrade_keeps_the_lane(cast, api, phones_go_red):
    old = routed_red(cast)
    # Through the API, as a trader would: the goods "become" T-shirts.
    payload = api_payload(items=without_phones(), invoice_number=old.invoice_number)
    response = api.as_user(cast.trader_a).post(
        f"/api/v1/declarations/{old.pk}/amend/", payload, format="json"
    )
    assert response.status_code == 201, response.json()
    new_id = response.json()["id"]
    # The replaced version left the queues.
    assert set(Review.objects.filter(declaration=old).values_list("status", flat=True)) == {
        "closed"
    }

    decision = declaration_assess_risk(declaration_id=new_id)
    assert decision.lane == "red"
    assert not any(r["kind"] == "rule" for r in decision.reasons)
    floor = next(r for r in decision.reasons if r["kind"] == "floor")
    assert floor["text"] == (f"lane at least red: amends version 1 ({old.reference}), routed red")
    assert Declaration.objects.get(pk=new_id).lane == "red"


def test_an_amendment_may_raise_the_lane(cast, no_random_selection):
    old = submitted(cast.trader_a)
    assert declaration_assess_risk(declaration_id=old.pk).lane == "green"
    rules = rule_set_draft_create(actor=cast.analyst)
    rule_create(actor=cast.analyst, rule_set=rules, name="Shirts", hs_prefix="6109", score=45)
    rule_set_publish(actor=cast.analyst, rule_set=rules)
    items = without_phones()
    new = declaration_amend(
        actor=cast.trader_a, declaration=old, items=items,
        header=consistent_header(items, invoice_number=old.invoice_number),
    )  # fmt: skip
    assert declaration_assess_risk(declaration_id=new.pk).lane == "yellow"


def test_a_refiled_invoice_inherits_the_lane_of_the_one_it_replaces(cast, phones_go_red):
    old = routed_red(cast)
    declaration_cancel(actor=cast.trader_a, declaration=old, reason="wrong goods")
    refiled = submitted(cast.trader_a, items=without_phones(), invoice_number=old.invoice_number)

    decision = declaration_assess_risk(declaration_id=refiled.pk)
    assert decision.lane == "red"
    assert any(
        r["kind"] == "floor" and f"of cancelled {old.reference}" in r["text"]
        for r in decision.reasons
    )
    # Another invoice of the same trader is not affected.
    other = submitted(cast.trader_a, items=without_phones())
    assert declaration_assess_risk(declaration_id=other.pk).lane == "green"


def test_the_random_draw_is_not_made_again(cast, no_random_selection):
    first = submitted(cast.trader_a, items=without_phones())
    assert declaration_assess_risk(declaration_id=first.pk).lane == "green"
    # Had the draw been made again, this amendment would go red at random.
    RiskSettings.objects.filter(pk=1).update(random_red_rate=Decimal("100"))
    items = without_phones()
    second = declaration_amend(
        actor=cast.trader_a, declaration=first, items=items,
        header=consistent_header(items, invoice_number=first.invoice_number),
    )  # fmt: skip
    decision = declaration_assess_risk(declaration_id=second.pk)
    assert (decision.lane, decision.randomly_selected) == ("green", "")

    # And a declaration selected at random stays selected when amended.
    picked = submitted(cast.trader_a, items=without_phones())
    assert declaration_assess_risk(declaration_id=picked.pk).randomly_selected == "red"
    RiskSettings.objects.filter(pk=1).update(random_red_rate=Decimal("0"))
    amended = declaration_amend(
        actor=cast.trader_a, declaration=picked, items=items,
        header=consistent_header(items, invoice_number=picked.invoice_number),
    )  # fmt: skip
    decision = declaration_assess_risk(declaration_id=amended.pk)
    assert (decision.lane, decision.randomly_selected) == ("red", "red")
    assert LaneDecision.objects.filter(declaration_id=amended.pk).count() == 1

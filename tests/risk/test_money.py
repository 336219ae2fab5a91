"""Rules compare money in the national currency, live and in replay alike."""

from decimal import Decimal

import pytest

from clearance.services import declaration_assess_risk
from risk.criteria import REGISTRY
from risk.models import RuleSet, SelectivityRule, TrainingRecord
from risk.replay import replay
from risk.services import declaration_item_records, rule_create, rule_set_draft_create
from risk.training import _record_from_row
from tests.factories import item_data, rule_set_publish
from tests.risk.conftest import submitted

pytestmark = pytest.mark.django_db

# 10 to 30 million won. The rate of the day is 1,392 won to the dollar.
BAND = "10000000,30000000"
INVOICES = {
    # name: (currency, item value, whether the value in won is in the band)
    "dollars in the band": ("USD", "15000.00", True),  # 20,880,000 won
    "won in the band": ("KRW", "20000000", True),
    # As a number it is in the band; in won it is 16.7 billion.
    "dollars above the band": ("USD", "12000000.00", False),
    "won below the band": ("KRW", "5000000", False),
}


def publish(cast, **rule) -> SelectivityRule:
    rule_set = rule_set_draft_create(actor=cast.analyst)
    SelectivityRule.objects.filter(rule_set=rule_set).delete()
    created = rule_create(
        actor=cast.analyst, rule_set=rule_set, name="value band", score=40, **rule
    )
    rule_set_publish(actor=cast.analyst, rule_set=rule_set)
    return created


def replayed_fires(rule: SelectivityRule, declaration) -> bool:
    """Replay the live rule set over the declaration's items as training records hold them."""
    items = list(declaration.items.order_by("line_no"))
    TrainingRecord.objects.all().delete()
    for item, row in zip(items, declaration_item_records(declaration, items), strict=True):
        _record_from_row(
            row, source="platform", source_ref=str(item.pk), declaration_id=declaration.pk
        ).save()
    day = declaration.acceptance_day
    result = replay(
        rule_set=RuleSet.objects.get(status=RuleSet.Status.LIVE),
        model_version=None,
        date_from=day,
        date_to=day,
    )
    assert result["declarations"] == 1
    return result["rules_fired"].get(str(rule.pk), 0) == 1


@pytest.mark.parametrize(
    "criteria",
    [
        {"conditions": [{"field": "value", "op": "between", "value": BAND}]},
        {
            "min_item_value": Decimal("10000000"),
            "conditions": [{"field": "value", "op": "lte", "value": "30000000"}],
        },
    ],
    ids=["between", "min_item_value"],
)
def test_a_value_band_in_won_fires_alike_live_and_in_replay(cast, no_random_selection, criteria):
    rule = publish(cast, **criteria)
    outcomes = {}
    for name, (currency, value, _) in INVOICES.items():
        declaration = submitted(
            cast.trader_a, items=[item_data(value=Decimal(value))], currency=currency
        )
        live = declaration_assess_risk(declaration_id=declaration.pk)
        outcomes[name] = (live.score == 40, replayed_fires(rule, declaration))
    assert outcomes == {name: (fires, fires) for name, (_, _, fires) in INVOICES.items()}


def test_header_money_is_compared_in_won(cast, no_random_selection):
    # Freight of 300 dollars is 417,600 won.
    publish(cast, conditions=[{"field": "freight", "op": "between", "value": "400000,500000"}])
    dollars = submitted(cast.trader_a, freight=Decimal("300.00"))
    won = submitted(cast.trader_a, currency="KRW", freight=Decimal("300.00"))
    assert declaration_assess_risk(declaration_id=dollars.pk).score == 40
    assert declaration_assess_risk(declaration_id=won.pk).score == 0


def test_money_criteria_are_labelled_with_the_national_currency(cast, api, login):
    for name in ("value", "unit_price", "value_per_kg", "invoice_total", "freight", "duty_total"):
        assert REGISTRY[name].label.endswith("(KRW)"), name
    assert REGISTRY["net_mass_kg"].label == "net mass (kg)"
    listed = api.as_user(cast.analyst).get("/api/v1/risk/criteria/").json()
    assert {c["name"]: c["label"] for c in listed}["value"] == "item value (KRW)"
    draft = rule_set_draft_create(actor=cast.analyst)
    page = login(cast.analyst).get(f"/risk/rule-sets/{draft.pk}/rules/new/").content.decode()
    assert "Minimum item value (KRW)" in page
    assert "converted at its rate of the day of acceptance" in page


def test_an_officer_reads_the_band_in_won(cast, no_random_selection):
    rule = publish(cast, conditions=[{"field": "value", "op": "between", "value": BAND}])
    decision = declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk)
    assert decision.reasons[0]["text"] == (
        f"rule {rule.pk}: item value (KRW) between 10,000,000 to 30,000,000, +40"
    )

"""Rules: validation, versioning, criteria read from real declarations, analyst-only access."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Company
from clearance.services import declaration_assess_risk
from reference.lookups import exchange_rate
from risk.models import LaneDecision, ReferencePrice, RiskSettings, RuleSet, SelectivityRule
from risk.services import rule_create, rule_set_draft_create, rule_update
from tests.factories import item_data, risk_settings_change, rule_set_publish
from tests.risk.conftest import submitted

pytestmark = pytest.mark.django_db


def draft(cast):
    return rule_set_draft_create(actor=cast.analyst)


def test_invalid_rules_are_refused_naming_the_field(cast):
    rule_set = draft(cast)
    cases = [
        ({"conditions": [{"field": "colour", "op": "eq", "value": "red"}]}, "conditions[0].field"),
        (
            {"conditions": [{"field": "price_ratio", "op": "startswith", "value": "1"}]},
            "conditions[0].op",
        ),
        (
            {"conditions": [{"field": "price_ratio", "op": "lt", "value": "cheap"}]},
            "conditions[0].value",
        ),
        (
            {"conditions": [{"field": "aeo_status", "op": "eq", "value": "gold"}]},
            "conditions[0].value",
        ),
        (
            {"conditions": [{"field": "invoice_total", "op": "between", "value": [9, 1]}]},
            "conditions[0].value",
        ),
        ({"origin_country": "XX"}, "origin_country"),
        ({"hs_prefix": "851"}, "hs_prefix"),
        ({}, "conditions"),
    ]
    for fields, named in cases:
        with pytest.raises(ValidationError) as error:
            rule_create(actor=cast.analyst, rule_set=rule_set, name="bad", score=10, **fields)
        assert named in error.value.message_dict, (fields, error.value.message_dict)
    with pytest.raises(ValidationError) as error:
        rule_create(actor=cast.analyst, rule_set=rule_set, name="no action", hs_prefix="85")
    assert "score" in error.value.message_dict
    now = timezone.now()
    with pytest.raises(ValidationError) as error:
        rule_create(
            actor=cast.analyst,
            rule_set=rule_set,
            name="backwards",
            hs_prefix="85",
            score=5,
            valid_from=now,
            valid_to=now - timedelta(days=1),
        )
    assert "valid_to" in error.value.message_dict
    assert not rule_set.rules.exists()


def test_only_analysts_write_rules(cast):
    rule_set = draft(cast)
    for user in (cast.trader_a, cast.customs_officer, cast.supervisor):
        with pytest.raises(PermissionDenied):
            rule_create(actor=user, rule_set=rule_set, name="x", hs_prefix="85", score=5)
        with pytest.raises(PermissionDenied):
            rule_set_draft_create(actor=user)


def test_an_edit_makes_a_new_version_and_each_decision_names_its_version(cast, no_random_selection):
    first = rule_set_draft_create(actor=cast.analyst)
    rule_create(actor=cast.analyst, rule_set=first, name="Phones", hs_prefix="8517", score=35)
    rule_set_publish(actor=cast.analyst, rule_set=first)
    before = declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk)
    assert (before.lane, before.rule_set_version) == ("yellow", f"v{first.version}")

    # The live version cannot change: the edit goes into a new draft.
    live_rule = first.rules.get()
    with pytest.raises(ValidationError) as error:
        rule_update(actor=cast.analyst, rule=live_rule, score=70)
    assert "rule_set" in error.value.message_dict
    second = rule_set_draft_create(actor=cast.analyst, note="phones to red")
    rule_update(actor=cast.analyst, rule=second.rules.get(), score=70)
    # A draft is not used until it is published.
    assert declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk).lane == "yellow"
    rule_set_publish(actor=cast.analyst, rule_set=second)

    after = declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk)
    assert (after.lane, after.rule_set_version) == ("red", f"v{second.version}")
    first.refresh_from_db()
    assert first.status == RuleSet.Status.RETIRED
    assert first.rules.get().score == 35
    assert RuleSet.objects.filter(status=RuleSet.Status.LIVE).count() == 1


def publish(cast, **rule):
    rule_set = rule_set_draft_create(actor=cast.analyst)
    SelectivityRule.objects.filter(rule_set=rule_set).delete()
    rule_create(actor=cast.analyst, rule_set=rule_set, name="test", score=40, **rule)
    rule_set_publish(actor=cast.analyst, rule_set=rule_set)


def assess(declaration) -> LaneDecision:
    return declaration_assess_risk(declaration_id=declaration.pk)


def test_aeo_status_and_trader_history_are_read_from_the_company(cast, no_random_selection):
    publish(
        cast,
        conditions=[
            {"field": "aeo_status", "op": "eq", "value": "none"},
            {"field": "trader_declarations", "op": "lt", "value": "2"},
        ],
    )
    first, second = submitted(cast.trader_a), submitted(cast.trader_a)
    assert assess(first).score == 40
    third = submitted(cast.trader_a)
    # Two earlier declarations: no longer a newcomer.
    assert assess(third).score == 0
    Company.objects.filter(pk=cast.company_a.pk).update(aeo_status="aeo_f")
    assert assess(second).score == 0


def test_unit_price_against_the_reference_price(cast, no_random_selection):
    # Phones from CN usually declare 600 USD per kg (in national currency, as the history
    # is kept); this one declares 15000 / 25 = 600 and the cheap one 1500 / 25 = 60.
    usd = float(exchange_rate("USD", timezone.now().date()))
    ReferencePrice.objects.create(
        hs6="851713",
        origin_country="CN",
        value_per_kg=600 * usd,
        samples=50,
        computed_at=timezone.now(),
    )
    publish(
        cast, conditions=[{"field": "price_ratio", "op": "lt", "value": "0.3"}], note="Undervalued?"
    )
    fair = assess(submitted(cast.trader_a))
    cheap = assess(submitted(cast.trader_a, items=[item_data(value=Decimal("1500.00"))]))
    assert fair.score == 0
    assert cheap.score == 40
    assert cheap.reasons[0]["text"] == (
        f"rule {SelectivityRule.objects.get(rule_set__status='live').pk}: value per kg against "
        "the reference price for HS6 and origin < 0.3, +40 (Undervalued?)"
    )


@pytest.mark.parametrize(
    ("condition", "fires"),
    [
        ({"field": "office_of_entry", "op": "eq", "value": "KRPUS"}, True),
        ({"field": "transport_mode", "op": "eq", "value": "4"}, False),
        ({"field": "importer_tax_id", "op": "eq", "value": "KR1048612345"}, True),
        ({"field": "incoterm", "op": "in", "value": "EXW,FOB"}, True),
        # Money in won: freight of 300 dollars is 417,600 won.
        ({"field": "freight", "op": "gt", "value": "1000000"}, False),
        ({"field": "freight", "op": "gt", "value": "400000"}, True),
        ({"field": "country_of_export", "op": "eq", "value": "CN"}, True),
        ({"field": "origin_country", "op": "in", "value": "VN,TH"}, False),
        ({"field": "trader_age_days", "op": "lt", "value": "30"}, True),
    ],
)
def test_header_and_item_fields_are_criteria(cast, no_random_selection, condition, fires):
    publish(cast, conditions=[condition])
    assert (assess(submitted(cast.trader_a)).score == 40) is fires


def test_the_declarant_company_is_a_criterion(cast, no_random_selection):
    publish(cast, conditions=[{"field": "company", "op": "eq", "value": cast.company_b.tax_id}])
    assert assess(submitted(cast.trader_a)).score == 0
    assert assess(submitted(cast.trader_b)).score == 40


def test_thresholds_are_validated(cast):
    with pytest.raises(ValidationError) as error:
        risk_settings_change(actor=cast.analyst, yellow_from=70, red_from=60)
    assert "yellow_from" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        risk_settings_change(actor=cast.analyst, random_red_rate=Decimal("150"))
    assert "random_red_rate" in error.value.message_dict
    with pytest.raises(PermissionDenied):
        risk_settings_change(actor=cast.trader_a, yellow_from=10)
    risk_settings_change(actor=cast.analyst, yellow_from=20, red_from=50)
    assert (RiskSettings.current().yellow_from, RiskSettings.current().red_from) == (20, 50)


def test_random_selection_sends_declarations_to_the_configured_lane(cast):
    risk_settings_change(
        actor=cast.analyst, random_yellow_rate=Decimal("0"), random_red_rate=Decimal("100")
    )
    decision = assess(submitted(cast.trader_a))
    assert decision.lane == "red"
    assert decision.randomly_selected == "red"
    assert any(r["kind"] == "random" for r in decision.reasons)

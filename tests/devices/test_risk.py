"""The declarant's seal alerts are a criterion the analysts' rules can use."""

from datetime import timedelta

import pytest
from django.utils import timezone

from devices.models import MovementAlert
from risk.criteria import REGISTRY
from tests.devices.conftest import message, movement, record
from tests.risk.conftest import no_random_selection, submitted  # noqa: F401 (a fixture)
from tests.risk.test_rules import assess, publish

# Random selection off, so that the lane depends only on the rule.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_random_selection")]


def test_a_trader_whose_seals_were_tampered_with_scores_higher_next_time(offices, device):
    assert "seal_alerts_90d" in REGISTRY and "seal_breaches_90d" in REGISTRY
    publish(offices, conditions=[{"field": "seal_breaches_90d", "op": "gte", "value": "1"}])
    assert assess(submitted(offices.trader_a)).score == 0

    moving = movement(offices.trader_a)
    record(device.identifier, message(moving.seal_numbers[0], status="tampered"))
    decision = assess(submitted(offices.trader_a))
    assert decision.score == 40
    assert (
        "seals opened or tampered with on the declarant's movements" in decision.reasons[0]["text"]
    )
    # Another trader's history is not this one's; and an alert 91 days old has lapsed.
    assert assess(submitted(offices.trader_b)).score == 0
    MovementAlert.objects.update(raised_at=timezone.now() - timedelta(days=91))
    assert assess(submitted(offices.trader_a)).score == 0


def test_a_rule_on_seal_alerts_sends_the_traders_next_declaration_to_the_red_lane(offices, device):
    from risk.models import RuleSet, SelectivityRule
    from risk.services import rule_create, rule_set_draft_create
    from tests.factories import rule_set_publish

    rule_set = rule_set_draft_create(actor=offices.analyst)
    SelectivityRule.objects.filter(rule_set=rule_set).delete()
    rule_create(
        actor=offices.analyst,
        rule_set=rule_set,
        name="Seals breached lately",
        force_lane="red",
        conditions=[{"field": "seal_alerts_90d", "op": "gte", "value": "1"}],
    )
    rule_set_publish(actor=offices.analyst, rule_set=rule_set)
    assert RuleSet.objects.get(status="live").rules.get().force_lane == "red"
    assert assess(submitted(offices.trader_a)).lane == "green"

    moving = movement(offices.trader_a)
    record(device.identifier, message(moving.seal_numbers[0], status="opened"))
    assert assess(submitted(offices.trader_a)).lane == "red"

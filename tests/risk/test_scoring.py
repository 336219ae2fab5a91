from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from risk.scoring import apply_rules, compile_rule, decide, lane_for_score, model_reason


def rule(pk=1, hs_prefix="", origin_country="", min_item_value=None, score=0, force_lane="", **kw):
    return compile_rule(
        SimpleNamespace(
            pk=pk,
            name=f"rule {pk}",
            hs_prefix=hs_prefix,
            origin_country=origin_country,
            min_item_value=min_item_value,
            conditions=kw.pop("conditions", []),
            score=score,
            force_lane=force_lane,
            note=kw.pop("note", ""),
            valid_from=kw.pop("valid_from", None),
            valid_to=kw.pop("valid_to", None),
        )
    )


def item(line_no=1, hs_code="851712", origin_country="CN", value=1000.0, **facts):
    return {
        "line_no": line_no,
        "hs_code": hs_code,
        "origin_country": origin_country,
        "value": value,
        **facts,
    }


def thresholds(**overrides):
    values = {
        "yellow_from": 30,
        "red_from": 60,
        "random_yellow_rate": Decimal("0"),
        "random_red_rate": Decimal("0"),
    }
    values.update(overrides)
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    ("score", "lane"),
    [(-10, "green"), (0, "green"), (29, "green"), (30, "yellow"), (59, "yellow"), (60, "red")],
)
def test_lane_for_score(score, lane):
    assert lane_for_score(score, yellow_from=30, red_from=60) == lane


def test_a_rule_fires_once_per_declaration_and_names_the_items():
    result = apply_rules(
        [rule(pk=12, hs_prefix="8517", origin_country="CN", score=40)],
        {},
        [item(1), item(2, hs_code="020130"), item(3, origin_country="VN"), item(4)],
    )
    assert result.score == 40
    assert result.reasons[0]["items"] == [1, 4]
    assert result.reasons[0]["text"] == "rule 12: HS 8517 from CN on item 1, 4, +40"


def test_every_criterion_must_hold_on_the_same_item():
    rules = [rule(pk=1, hs_prefix="8517", min_item_value=Decimal("5000"), score=30)]
    assert apply_rules(rules, {}, [item(value=4999.99)]).score == 0
    assert apply_rules(rules, {}, [item(value=5000.0)]).score == 30
    # The HS code on one item and the value on another do not make a match.
    split = [item(1, value=10.0), item(2, hs_code="020130", value=9000.0)]
    assert apply_rules(rules, {}, split).score == 0


@pytest.mark.parametrize(
    ("condition", "facts", "fires"),
    [
        ({"field": "company", "op": "eq", "value": "KR123"}, {"company": "KR123"}, True),
        ({"field": "company", "op": "eq", "value": "KR123"}, {"company": "KR999"}, False),
        (
            {"field": "office_of_entry", "op": "in", "value": ["KRPUS", "KRINC"]},
            {"office_of_entry": "KRINC"},
            True,
        ),
        ({"field": "transport_mode", "op": "ne", "value": "1"}, {"transport_mode": "4"}, True),
        ({"field": "transport_mode", "op": "ne", "value": "1"}, {"transport_mode": "1"}, False),
        ({"field": "aeo_status", "op": "eq", "value": "none"}, {"aeo_status": "none"}, True),
        ({"field": "aeo_status", "op": "eq", "value": "none"}, {"aeo_status": "aeo_f"}, False),
        ({"field": "trader_age_days", "op": "lt", "value": 90.0}, {"trader_age_days": 12}, True),
        ({"field": "trader_age_days", "op": "lt", "value": 90.0}, {"trader_age_days": 400}, False),
        (
            {"field": "trader_declarations", "op": "lte", "value": 0.0},
            {"trader_declarations": 0},
            True,
        ),
        (
            {"field": "trader_offence_rate", "op": "gt", "value": 20.0},
            {"trader_offence_rate": 35.0},
            True,
        ),
        # A fact the platform does not know (no inspection history yet) matches nothing.
        (
            {"field": "trader_offence_rate", "op": "gt", "value": 20.0},
            {"trader_offence_rate": None},
            False,
        ),
        (
            {"field": "invoice_total", "op": "between", "value": [1000.0, 5000.0]},
            {"invoice_total": 5000.0},
            True,
        ),
        (
            {"field": "invoice_total", "op": "between", "value": [1000.0, 5000.0]},
            {"invoice_total": 5000.01},
            False,
        ),
    ],
)
def test_declaration_criteria(condition, facts, fires):
    result = apply_rules([rule(conditions=[condition], score=10)], facts, [item()])
    assert (result.score == 10) is fires


@pytest.mark.parametrize(
    ("condition", "facts", "fires"),
    [
        ({"field": "price_ratio", "op": "lt", "value": 0.3}, {"price_ratio": 0.1}, True),
        ({"field": "price_ratio", "op": "lt", "value": 0.3}, {"price_ratio": 0.9}, False),
        ({"field": "price_ratio", "op": "lt", "value": 0.3}, {"price_ratio": None}, False),
        ({"field": "unit_price", "op": "gte", "value": 500.0}, {"unit_price": 500.0}, True),
        ({"field": "value_per_kg", "op": "lt", "value": 2.0}, {"value_per_kg": 1.5}, True),
        ({"field": "hs_code", "op": "not_startswith", "value": "85"}, {}, False),
        (
            {"field": "description", "op": "contains", "value": "phone"},
            {"description": "Smartphones"},
            True,
        ),
    ],
)
def test_item_criteria(condition, facts, fires):
    result = apply_rules([rule(conditions=[condition], score=10)], {}, [item(**facts)])
    assert (result.score == 10) is fires


def test_a_rule_applies_only_within_its_validity_period():
    r = rule(
        hs_prefix="85",
        score=10,
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
        valid_to=datetime(2026, 7, 1, tzinfo=UTC),
    )
    assert apply_rules([r], {}, [item()], at=datetime(2025, 12, 31, tzinfo=UTC)).score == 0
    assert apply_rules([r], {}, [item()], at=datetime(2026, 3, 1, tzinfo=UTC)).score == 10
    assert apply_rules([r], {}, [item()], at=datetime(2026, 7, 1, tzinfo=UTC)).score == 0


def test_the_strictest_forced_lane_wins_over_the_score():
    result = apply_rules(
        [
            rule(pk=1, hs_prefix="85", force_lane="yellow"),
            rule(pk=2, origin_country="CN", force_lane="red"),
            rule(pk=3, hs_prefix="8517", score=-50),
        ],
        {},
        [item()],
    )
    assert result.forced_lane == "red"
    assert result.score == -50
    assert [r["rule"] for r in result.reasons] == [1, 2, 3]


def model(probability, points):
    return model_reason(
        probability, points, "m3", [{"text": "unit price 6.0x below reference"}], None
    )


def test_rules_then_random_then_model_with_a_reason_for_each_step():
    rules = apply_rules([rule(pk=7, hs_prefix="85", score=20)], {}, [item()])
    decision = decide(
        rules=rules,
        random_draw=0.004,
        probability=0.15,
        model_reason_=model(0.15, 15),
        thresholds=thresholds(random_yellow_rate=Decimal("1"), random_red_rate=Decimal("0.5")),
    )
    # 20 + 15 = 35 is yellow; the random draw (0.4% < 0.5%) sends it red.
    assert decision.score == 35
    assert decision.lane == "red"
    assert decision.randomly_selected == "red"
    kinds = [r["kind"] for r in decision.reasons]
    assert kinds == ["rule", "random", "model", "lane"]
    assert decision.reasons[1]["text"].startswith("selected at random for a physical inspection")
    assert decision.reasons[2]["text"] == (
        "model m3: fraud likelihood 0.15, +15: unit price 6.0x below reference"
    )


def test_random_selection_never_lowers_a_lane():
    rules = apply_rules([rule(pk=1, hs_prefix="85", force_lane="red")], {}, [item()])
    decision = decide(
        rules=rules,
        random_draw=0.0,
        probability=None,
        model_reason_=None,
        thresholds=thresholds(random_yellow_rate=Decimal("100")),
    )
    assert decision.lane == "red"
    assert decision.randomly_selected == ""


def test_the_model_score_moves_the_lane_through_the_thresholds():
    rules = apply_rules([], {}, [item()])
    low = decide(
        rules=rules,
        random_draw=0.9,
        probability=0.1,
        model_reason_=model(0.1, 10),
        thresholds=thresholds(),
    )
    high = decide(
        rules=rules,
        random_draw=0.9,
        probability=0.7,
        model_reason_=model(0.7, 70),
        thresholds=thresholds(),
    )
    assert (low.lane, high.lane) == ("green", "red")
    assert low.reasons[-1]["text"] == "lane green: score 10 (yellow from 30, red from 60)"


def test_suggested_thresholds_match_the_expected_shares():
    from risk.replay import suggested_thresholds

    scores = list(range(100))  # one declaration at each score 0..99
    shares = SimpleNamespace(expected_yellow_share=Decimal("15"), expected_red_share=Decimal("5"))
    suggested = suggested_thresholds(scores, shares)
    red = sum(s >= suggested["red_from"] for s in scores)
    yellow = sum(suggested["yellow_from"] <= s < suggested["red_from"] for s in scores)
    assert (yellow, red) == (15, 5)

from decimal import Decimal
from types import SimpleNamespace

import pytest

from risk.scoring import apply_rules, lane_for_score, rule_set_version


def rule(
    pk=1, hs_prefix="", origin_country="", min_item_value=None, score=0, force_lane="", note=""
):
    return SimpleNamespace(
        pk=pk,
        hs_prefix=hs_prefix,
        origin_country=origin_country,
        min_item_value=min_item_value,
        score=score,
        force_lane=force_lane,
        note=note,
    )


def item(line_no=1, hs_code="851712", origin_country="CN", value="1000"):
    return SimpleNamespace(
        line_no=line_no, hs_code=hs_code, origin_country=origin_country, value=Decimal(value)
    )


@pytest.mark.parametrize(
    ("score", "lane"),
    [(-10, "green"), (0, "green"), (29, "green"), (30, "yellow"), (59, "yellow"), (60, "red")],
)
def test_lane_for_score(score, lane):
    assert lane_for_score(score, yellow_from=30, red_from=60) == lane


def test_a_rule_fires_once_per_declaration_and_names_the_items():
    result = apply_rules(
        [rule(pk=12, hs_prefix="8517", origin_country="CN", score=40)],
        [item(1), item(2, hs_code="020130"), item(3, origin_country="VN"), item(4)],
    )
    assert result.score == 40
    assert result.reasons[0]["items"] == [1, 4]
    assert result.reasons[0]["text"] == "rule 12: HS 8517 from CN, +40"


def test_every_criterion_must_hold():
    rules = [rule(pk=1, hs_prefix="8517", min_item_value=Decimal("5000"), score=30)]
    assert apply_rules(rules, [item(value="4999.99")]).score == 0
    assert apply_rules(rules, [item(value="5000")]).score == 30


def test_the_strictest_forced_lane_wins_over_the_score():
    result = apply_rules(
        [
            rule(pk=1, hs_prefix="85", force_lane="yellow"),
            rule(pk=2, origin_country="CN", force_lane="red"),
            rule(pk=3, hs_prefix="8517", score=-50),
        ],
        [item()],
    )
    assert result.forced_lane == "red"
    assert result.score == -50
    assert [r["rule"] for r in result.reasons] == [1, 2, 3]


def test_rule_set_version_changes_with_the_rules():
    before = rule_set_version([rule(pk=1, hs_prefix="85", score=10)])
    assert before == rule_set_version([rule(pk=1, hs_prefix="85", score=10)])
    assert before != rule_set_version([rule(pk=1, hs_prefix="85", score=20)])

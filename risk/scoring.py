"""Pure scoring: selectivity rules over a declaration's items, score to lane."""

import hashlib
import json
from dataclasses import dataclass, field

from declarations.models import Lane

LANE_SEVERITY = {Lane.GREEN: 0, Lane.YELLOW: 1, Lane.RED: 2}


@dataclass
class Assessment:
    score: int = 0
    forced_lane: str = ""
    reasons: list[dict] = field(default_factory=list)


def rule_matches_item(rule, item) -> bool:
    if rule.hs_prefix and not item.hs_code.startswith(rule.hs_prefix):
        return False
    if rule.origin_country and item.origin_country != rule.origin_country:
        return False
    return not (rule.min_item_value is not None and item.value < rule.min_item_value)


def rule_criteria_text(rule) -> str:
    parts = []
    if rule.hs_prefix:
        parts.append(f"HS {rule.hs_prefix}")
    if rule.origin_country:
        parts.append(f"from {rule.origin_country}")
    if rule.min_item_value is not None:
        parts.append(f"value ≥ {rule.min_item_value}")
    return " ".join(parts)


def apply_rules(rules, items) -> Assessment:
    assessment = Assessment()
    for rule in rules:
        matched = [item.line_no for item in items if rule_matches_item(rule, item)]
        if not matched:
            continue
        assessment.score += rule.score
        if rule.force_lane and (
            not assessment.forced_lane
            or LANE_SEVERITY[rule.force_lane] > LANE_SEVERITY[assessment.forced_lane]
        ):
            assessment.forced_lane = rule.force_lane
        effect = f"lane {rule.force_lane}" if rule.force_lane else f"{rule.score:+d}"
        assessment.reasons.append(
            {
                "kind": "rule",
                "rule": rule.pk,
                "items": matched,
                "score": rule.score,
                "force_lane": rule.force_lane,
                "text": f"rule {rule.pk}: {rule_criteria_text(rule)}, {effect}"
                + (f" ({rule.note})" if rule.note else ""),
            }
        )
    return assessment


def lane_for_score(score: int, *, yellow_from: int, red_from: int) -> str:
    if score >= red_from:
        return Lane.RED
    if score >= yellow_from:
        return Lane.YELLOW
    return Lane.GREEN


def rule_set_version(rules) -> str:
    """A short fingerprint of the active rules, stored with each decision."""
    canonical = json.dumps(
        [
            [r.pk, r.hs_prefix, r.origin_country, str(r.min_item_value), r.score, r.force_lane]
            for r in rules
        ]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]

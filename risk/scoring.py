"""Pure scoring, in ASYCUDA's order: selectivity rules, random selection, the model.

Nothing here touches the database: services and replay hand in the rules,
the facts and the model's probability, so one declaration and a batch of a
hundred thousand are scored by the same code.
"""

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import datetime

from risk.criteria import REGISTRY, condition_text, holds

GREEN, YELLOW, RED = "green", "yellow", "red"
LANE_SEVERITY = {GREEN: 0, YELLOW: 1, RED: 2}


def stricter(a: str, b: str) -> str:
    if not a:
        return b
    if not b:
        return a
    return a if LANE_SEVERITY[a] >= LANE_SEVERITY[b] else b


@dataclass
class CompiledRule:
    pk: int
    name: str
    score: int
    force_lane: str
    note: str
    valid_from: datetime | None
    valid_to: datetime | None
    header: list[tuple] = field(default_factory=list)  # (criterion, op, value)
    items: list[tuple] = field(default_factory=list)
    text: str = ""

    def valid_at(self, at: datetime | None) -> bool:
        if at is None:
            return True
        if self.valid_from and at < self.valid_from:
            return False
        return not (self.valid_to and at >= self.valid_to)


def rule_conditions(rule) -> list[dict]:
    """The rule's criteria as conditions; the three column criteria come first."""
    conditions = []
    if rule.hs_prefix:
        conditions.append({"field": "hs_code", "op": "startswith", "value": rule.hs_prefix})
    if rule.origin_country:
        conditions.append({"field": "origin_country", "op": "eq", "value": rule.origin_country})
    if rule.min_item_value is not None:
        conditions.append({"field": "value", "op": "gte", "value": float(rule.min_item_value)})
    return conditions + list(getattr(rule, "conditions", None) or [])


def compile_rule(rule) -> CompiledRule:
    compiled = CompiledRule(
        pk=rule.pk,
        name=getattr(rule, "name", ""),
        score=rule.score,
        force_lane=rule.force_lane,
        note=rule.note,
        valid_from=getattr(rule, "valid_from", None),
        valid_to=getattr(rule, "valid_to", None),
    )
    conditions = rule_conditions(rule)
    for condition in conditions:
        criterion = REGISTRY.get(condition["field"])
        if criterion is None:
            # A stored rule naming a criterion the code no longer has.
            raise LookupError(f"criterion {condition['field']!r} does not exist")
        target = compiled.items if criterion.level == "item" else compiled.header
        target.append((criterion, condition["op"], condition["value"]))
    compiled.text = " ".join(condition_text(c) for c in conditions)
    return compiled


@dataclass
class Assessment:
    score: int = 0
    forced_lane: str = ""
    reasons: list[dict] = field(default_factory=list)


class Unreadable:
    """A fact whose criterion raised when it was read; a rule that tests it fails."""

    def __init__(self, error: Exception):
        self.error = error


def _holds(op: str, actual, expected) -> bool:
    if isinstance(actual, Unreadable):
        raise actual.error
    return holds(op, actual, expected)


def error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def apply_rules(
    rules,
    header: dict,
    items: list[dict],
    *,
    at: datetime | None = None,
    failures: dict[int, str] | None = None,
):
    """Fire every rule whose criteria hold; `header` and `items` are facts by criterion name.

    Item criteria must all hold on one same item; the reason names those items.
    A rule that raises raises, unless `failures` is given: then it is skipped
    and its error kept there by rule pk, for the caller to judge.
    """
    assessment = Assessment()
    for rule in rules:
        if not rule.valid_at(at):
            continue
        try:
            matched = _matches(rule, header, items)
        except Exception as exc:
            if failures is None:
                raise
            failures[rule.pk] = error_text(exc)
            continue
        if matched is None:
            continue
        assessment.score += rule.score
        assessment.forced_lane = stricter(assessment.forced_lane, rule.force_lane)
        effect = f"lane {rule.force_lane}" if rule.force_lane else f"{rule.score:+d}"
        on_items = f" on item {', '.join(map(str, matched))}" if matched and len(items) > 1 else ""
        assessment.reasons.append(
            {
                "kind": "rule",
                "rule": rule.pk,
                "items": matched,
                "score": rule.score,
                "force_lane": rule.force_lane,
                "text": f"rule {rule.pk}: {rule.text}{on_items}, {effect}"
                + (f" ({rule.note})" if rule.note else ""),
            }
        )
    return assessment


def _matches(rule, header: dict, items: list[dict]) -> list | None:
    """None when the rule does not fire, else the item lines it fired on."""
    if not all(_holds(op, header.get(c.name), value) for c, op, value in rule.header):
        return None
    if not rule.items:
        return []
    matched = [
        item["line_no"]
        for item in items
        if all(_holds(op, item.get(c.name), value) for c, op, value in rule.items)
    ]
    return matched or None


def random_lane(draw: float, *, yellow_rate: float, red_rate: float) -> str:
    """The lane random selection imposes for a uniform draw in [0, 1); rates in percent."""
    if draw < red_rate / 100:
        return RED
    if draw < (red_rate + yellow_rate) / 100:
        return YELLOW
    return ""


def random_reason(lane: str, *, yellow_rate: float, red_rate: float) -> dict:
    rate = red_rate if lane == RED else yellow_rate
    check = "a physical inspection" if lane == RED else "a documentary check"
    return {
        "kind": "random",
        "force_lane": lane,
        "text": f"selected at random for {check} ({rate:g}% of declarations are), lane {lane}",
    }


def model_points(probability: float, weight: int) -> int:
    return round(probability * weight)


def model_reason(
    probability: float, points: int, version: str, explanation: list[dict], item_line: int | None
) -> dict:
    why = "; ".join(e["text"] for e in explanation[:3])
    where = f" (item {item_line})" if item_line is not None else ""
    return {
        "kind": "model",
        "model_version": version,
        "probability": round(probability, 4),
        "score": points,
        "features": explanation[:5],
        "items": [item_line] if item_line is not None else [],
        "text": f"model {version}: fraud likelihood {probability:.2f}{where}, {points:+d}"
        + (f": {why}" if why else ""),
    }


def lane_for_score(score: int, *, yellow_from: int, red_from: int) -> str:
    if score >= red_from:
        return RED
    if score >= yellow_from:
        return YELLOW
    return GREEN


@dataclass
class Decision:
    lane: str
    score: int
    reasons: list[dict]
    randomly_selected: str
    fallback: str = ""


@dataclass(frozen=True)
class Fallback:
    """What a systemic fault left out of a decision: its kind (LaneDecision.fallback),
    the lane the declaration gets at least ("" when the rules alone decide) and why."""

    kind: str
    lane: str
    reasons: tuple[dict, ...]


@dataclass(frozen=True)
class Floor:
    """What a declaration that replaces one already routed keeps of it (an amendment, an
    invoice refiled after a cancellation): at least its lane, and its random draw."""

    lane: str
    randomly_selected: str
    text: str


@dataclass(frozen=True)
class Relief:
    """A relief consignment of an emergency whose measures lower its lane by one."""

    emergency: str


LOWER = {RED: YELLOW, YELLOW: GREEN, GREEN: GREEN}


def decide(
    *,
    rules: Assessment,
    random_draw: float | None,
    probability: float | None,
    model_reason_: dict | None,
    thresholds,
    floor: Floor | None = None,
    fallback: Fallback | None = None,
    relief: Relief | None = None,
) -> Decision:
    """Combine the three steps: rules' forced lane, else the score; random selection raises.

    With `relief`, the lane so found is lowered by one, unless a rule forces red:
    security does not stop in an emergency.
    With a `floor`, there is no new draw (`random_draw` is None): the replaced
    declaration's random selection stands, and the lane never falls below its.
    With a `fallback`, the lane never falls below the fallback's either: a
    relief consignment is not routed greener than the engine's fault allows.
    """
    yellow_rate = float(thresholds.random_yellow_rate)
    red_rate = float(thresholds.random_red_rate)
    if floor is not None:
        picked = floor.randomly_selected
    else:
        picked = random_lane(random_draw, yellow_rate=yellow_rate, red_rate=red_rate)
    points = model_reason_["score"] if model_reason_ else 0
    score = rules.score + points
    lane = rules.forced_lane or lane_for_score(
        score, yellow_from=thresholds.yellow_from, red_from=thresholds.red_from
    )
    reasons = list(rules.reasons)
    if picked and LANE_SEVERITY[picked] > LANE_SEVERITY[lane]:
        lane = picked
        reasons.append(random_reason(picked, yellow_rate=yellow_rate, red_rate=red_rate))
    else:
        picked = ""
    if model_reason_:
        reasons.append(model_reason_)
    lowered = False
    if relief is not None:
        if rules.forced_lane == RED:
            text = f"relief consignment ({relief.emergency}): lane red forced by rule, not lowered"
        elif lane == GREEN:
            text = f"relief consignment ({relief.emergency}): green already"
        else:
            text = (
                f"relief consignment ({relief.emergency}): lane lowered from {lane} to "
                f"{LOWER[lane]}"
            )
            lane, lowered = LOWER[lane], True
        reasons.append({"kind": "relief", "text": text})
    floored = floor is not None and LANE_SEVERITY[floor.lane] > LANE_SEVERITY[lane]
    if floored:
        lane = floor.lane
        reasons.append({"kind": "floor", "force_lane": floor.lane, "text": floor.text})
    fell_back = (
        fallback is not None
        and bool(fallback.lane)
        and LANE_SEVERITY[fallback.lane] > LANE_SEVERITY[lane]
    )
    if fell_back:
        lane = fallback.lane
    if fallback is not None:
        reasons.extend(fallback.reasons)
    if not reasons:
        reasons.append({"kind": "none", "text": "no rule fired"})
    if fell_back:
        reasons.append(
            {"kind": "lane", "text": f"lane {lane}: the fallback lane while the rules cannot "
             f"be evaluated, score {score} not used"}
        )  # fmt: skip
    elif floored:
        reasons.append(
            {"kind": "lane", "text": f"lane {lane}: kept from the declaration it replaces, "
             f"score {score} not used"}
        )  # fmt: skip
    elif lowered:
        reasons.append(
            {"kind": "lane", "text": f"lane {lane}: one below what risk found (score {score}), "
             "for a relief consignment"}
        )  # fmt: skip
    elif rules.forced_lane:
        reasons.append(
            {"kind": "lane", "text": f"lane {lane}: forced by rule, score {score} not used"}
        )
    else:
        reasons.append(
            {
                "kind": "lane",
                "text": f"lane {lane}: score {score} (yellow from {thresholds.yellow_from}, "
                f"red from {thresholds.red_from})",
            }
        )
    return Decision(
        lane=lane,
        score=score,
        reasons=reasons,
        randomly_selected=picked,
        fallback=fallback.kind if fallback else "",
    )


def new_draw() -> float:
    return random.random()


def rule_set_version(rules) -> str:
    """A short fingerprint of rules, for rule sets that are not numbered (tests, replay)."""
    canonical = json.dumps(
        [
            [r.pk, r.hs_prefix, r.origin_country, str(r.min_item_value), r.score, r.force_lane]
            for r in rules
        ]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]

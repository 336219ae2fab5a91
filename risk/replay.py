"""Replay: what a rule set and a model would have done to past declarations.

Works on training records (KCS imports and inspected platform declarations),
grouped into declarations, through the same pure scoring as live traffic:
rules on facts read by the criteria's record readers, random selection with a
seeded draw, the model's probability in one batch.
"""

import time
from collections import Counter, defaultdict
from datetime import date

import numpy as np

from agencies.models import JurisdictionRule
from declarations.models import Lane
from risk import scoring
from risk.models import LaneDecision, ModelVersion, ReferencePrice, RiskSettings, RuleSet
from risk.training import records_frame

LANES = [Lane.GREEN.value, Lane.YELLOW.value, Lane.RED.value]
CHUNK = 2000


def _facts(rules, rows: list[dict]) -> tuple[dict, list[dict]]:
    header_criteria = {c.name: c for rule in rules for c, _, _ in rule.header}
    item_criteria = {c.name: c for rule in rules for c, _, _ in rule.items}
    first = rows[0]
    header = {
        name: (c.read_record(first) if c.read_record else None)
        for name, c in header_criteria.items()
    }
    items = [
        {
            "line_no": index + 1,
            **{
                name: (c.read_record(row) if c.read_record else None)
                for name, c in item_criteria.items()
            },
        }
        for index, row in enumerate(rows)
    ]
    return header, items


def suggested_thresholds(scores: list[int], thresholds) -> dict:
    """Score thresholds that would have sent the expected shares to yellow and red."""
    if not scores:
        return {}
    ordered = np.sort(np.asarray(scores))
    red_share = float(thresholds.expected_red_share) / 100
    selected_share = red_share + float(thresholds.expected_yellow_share) / 100

    def score_at(share: float) -> int:
        # The k-th highest score: declarations at or above it are the top `share`.
        k = min(len(ordered), round(share * len(ordered)))
        return int(ordered[-1]) + 1 if k <= 0 else int(ordered[len(ordered) - k])

    red_from = score_at(red_share)
    yellow_from = min(score_at(selected_share), red_from - 1)
    return {"yellow_from": yellow_from, "red_from": red_from}


def replay(
    *,
    rule_set: RuleSet,
    model_version: ModelVersion | None,
    date_from: date,
    date_to: date,
    seed: int = 0,
    progress=lambda percent, message: None,
) -> dict:
    from risk.model_store import load_version
    from risk.models import TrainingRecord

    started = time.perf_counter()
    progress(5, "reading past declarations")
    queryset = TrainingRecord.objects.filter(date__gte=date_from, date__lte=date_to)
    frame = records_frame(queryset)
    platform_ids = dict(
        queryset.exclude(declaration_id=None).values_list("declaration_key", "declaration_id")
    )
    thresholds = RiskSettings.current()
    rules = [scoring.compile_rule(r) for r in rule_set.rules.filter(active=True)]
    load_seconds = time.perf_counter() - started

    scoring_started = time.perf_counter()
    probabilities = np.full(len(frame), np.nan)
    model_label = ""
    if model_version is not None and len(frame):
        progress(15, f"scoring {len(frame)} items with {model_version.label}")
        model = load_version(model_version.pk)
        model.n_jobs = 2
        probabilities = model.predict_proba(frame.drop(columns=["fraud", "critical", "revenue"]))
        model_label = model_version.label

    prices = {
        (hs6, origin): price
        for hs6, origin, price in ReferencePrice.objects.values_list(
            "hs6", "origin_country", "value_per_kg"
        )
    }
    records = frame.to_dict("records")
    by_declaration: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(records):
        row["reference_value_per_kg"] = prices.get((row["hs6"], row["origin_country"]))
        by_declaration[row["declaration_id"]].append(index)

    jurisdiction = list(
        JurisdictionRule.objects.exclude(agency__is_customs=True).values_list(
            "agency__code", "hs_prefix"
        )
    )
    agencies_of: dict[str, tuple[str, ...]] = {}

    def agencies_for(hs6: str) -> tuple[str, ...]:
        if hs6 not in agencies_of:
            agencies_of[hs6] = tuple(
                sorted({agency for agency, prefix in jurisdiction if hs6.startswith(prefix)})
            )
        return agencies_of[hs6]

    probability_of = np.nan_to_num(probabilities, nan=0.0).tolist()
    rng = np.random.default_rng(seed)
    draws = rng.random(len(by_declaration))
    lanes = Counter()
    workload: dict[str, Counter] = defaultdict(Counter)
    expected_hits = Counter()
    caught = Counter()
    revenue_caught = Counter()
    fired = Counter()
    randomly = 0
    scores: list[int] = []
    labelled = frauds = 0
    total_revenue = 0.0
    total = len(by_declaration)
    for n, (_key, indexes) in enumerate(by_declaration.items()):
        rows = [records[i] for i in indexes]
        header, items = _facts(rules, rows)
        assessment = scoring.apply_rules(rules, header, items)
        probability = None
        reason = None
        if model_label:
            probability = max(probability_of[i] for i in indexes)
            points = scoring.model_points(probability, thresholds.model_weight)
            reason = {"score": points}
        decision = scoring.decide(
            rules=assessment,
            random_draw=float(draws[n]),
            probability=probability,
            model_reason_=reason,
            thresholds=thresholds,
        )
        lane = decision.lane
        lanes[lane] += 1
        scores.append(decision.score)
        randomly += bool(decision.randomly_selected)
        for r in assessment.reasons:
            fired[r["rule"]] += 1
        customs = "customs (documentary)" if lane == Lane.YELLOW else "customs (physical)"
        if lane != Lane.GREEN:
            workload[customs][lane] += 1
            if probability is not None:
                expected_hits[lane] += probability
        concerned = set()
        for row in rows:
            concerned.update(agencies_for(row["hs6"] or ""))
        for agency in concerned:
            workload[agency][lane] += 1
        labels = [row["fraud"] for row in rows if row["fraud"] is not None]
        if labels:
            labelled += 1
            found = max(labels) > 0
            frauds += found
            revenue = sum(
                (
                    row["revenue"]
                    if row["revenue"] == row["revenue"] and row["revenue"] is not None
                    else (row["value"] or 0) * (row["tax_rate"] or 0) / 100
                )
                for row in rows
                if row["fraud"]
            )
            total_revenue += revenue
            if found and lane != Lane.GREEN:
                caught[lane] += 1
                revenue_caught[lane] += revenue
        if n % CHUNK == 0:
            progress(20 + int(75 * n / max(total, 1)), f"{n} of {total} declarations replayed")
    scoring_seconds = time.perf_counter() - scoring_started

    actual = Counter(
        LaneDecision.objects.filter(declaration_id__in=platform_ids.values()).values_list(
            "lane", flat=True
        )
    )
    selected = lanes[Lane.YELLOW] + lanes[Lane.RED]
    return {
        "rule_set": f"v{rule_set.version}",
        "model_version": model_label,
        "period": [str(date_from), str(date_to)],
        "declarations": total,
        "items": len(records),
        "lanes": {lane: lanes[lane] for lane in LANES},
        "lane_share": {lane: round(100 * lanes[lane] / total, 2) if total else 0 for lane in LANES},
        "expected_share": {
            Lane.GREEN.value: float(
                100 - thresholds.expected_yellow_share - thresholds.expected_red_share
            ),
            Lane.YELLOW.value: float(thresholds.expected_yellow_share),
            Lane.RED.value: float(thresholds.expected_red_share),
        },
        "randomly_selected": randomly,
        "suggested_thresholds": suggested_thresholds(scores, thresholds),
        "thresholds": {"yellow_from": thresholds.yellow_from, "red_from": thresholds.red_from},
        "rules_fired": {str(k): v for k, v in fired.most_common()},
        "expected_hits": {lane: round(expected_hits[lane], 1) for lane in LANES[1:]},
        "hits": {lane: caught[lane] for lane in LANES[1:]},
        "revenue_caught": round(sum(revenue_caught.values()), 2),
        "workload": {agency: dict(counts) for agency, counts in sorted(workload.items())},
        "actual": {
            "labelled_declarations": labelled,
            "frauds": frauds,
            "revenue": round(total_revenue, 2),
            "lanes": {lane: actual[lane] for lane in LANES} if actual else {},
        },
        "precision": round(sum(caught.values()) / selected, 4) if selected else None,
        "recall": round(sum(caught.values()) / frauds, 4) if frauds else None,
        "seconds": round(time.perf_counter() - started, 2),
        "load_seconds": round(load_seconds, 2),
        "declarations_per_second": round(total / scoring_seconds) if scoring_seconds else None,
    }

import logging
import time

from django.db import transaction
from django.utils import timezone

from agencies.services import reviews_open
from declarations.models import Declaration
from declarations.services import declaration_transition
from risk.models import LaneDecision, RiskSettings, SelectivityRule
from risk.scoring import apply_rules, lane_for_score, rule_set_version

logger = logging.getLogger(__name__)


@transaction.atomic
def declaration_assess_risk(*, declaration_id: int) -> LaneDecision | None:
    """Score a submitted declaration, set its lane and open the agency reviews.

    Safe to run any number of times: the declaration row is locked, and only a
    declaration still submitted and without a decision is scored. A second
    run (a redelivered message, the sweeper) finds the decision and does nothing.
    """
    started = time.perf_counter()
    declaration = (
        Declaration.objects.select_for_update()
        .filter(pk=declaration_id, status=Declaration.Status.SUBMITTED)
        .first()
    )
    if declaration is None or LaneDecision.objects.filter(declaration_id=declaration_id).exists():
        logger.info("declaration %s: already assessed or not submitted", declaration_id)
        return None

    items = list(declaration.items.all())
    rules = list(SelectivityRule.objects.filter(active=True))
    thresholds = RiskSettings.current()
    assessment = apply_rules(rules, items)
    lane = assessment.forced_lane or lane_for_score(
        assessment.score, yellow_from=thresholds.yellow_from, red_from=thresholds.red_from
    )
    reasons = assessment.reasons or [{"kind": "none", "text": "no rule fired"}]

    decision = LaneDecision(
        declaration=declaration,
        lane=lane,
        score=assessment.score,
        reasons=reasons,
        rule_set_version=rule_set_version(rules),
        decided_at=timezone.now(),
        duration_ms=0,
    )
    reviews = reviews_open(declaration=declaration)
    declaration_transition(
        declaration_id=declaration.pk,
        to_status=Declaration.Status.UNDER_REVIEW,
        actor=None,
        reason=f"lane {lane}, score {assessment.score}",
        data={
            "lane": lane,
            "score": assessment.score,
            "reasons": [r["text"] for r in reasons],
            "reviews": sorted(r.agency.code for r in reviews),
        },
        changes={"lane": lane},
    )
    decision.duration_ms = round((time.perf_counter() - started) * 1000)
    decision.full_clean(exclude=["declaration"])
    decision.save()
    return decision

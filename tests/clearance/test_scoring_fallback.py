"""The risk engine's fallback, visible and switchable: an administrator's planned outage
(four eyes for the model switched off), officers told on each decision and while it
lasts (traders never), and the decisions it took re-scored once the engine is back,
each declaration keeping its one lane decision."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from agencies.models import Inspection, LaneChangeProposal
from agencies.services import review_claim
from clearance.continuity import lane_decisions_rescore, lane_decisions_rescore_request
from clearance.services import (
    declarations_assess_risk,
    inspection_record,
    lane_change_approve,
    review_approve,
)
from core.exceptions import ApplicationError
from declarations.models import Declaration, DeclarationEvent
from notifications.models import Notification
from risk.models import (
    ConfigAuditEntry,
    LaneDecision,
    LaneRescore,
    PlannedFallback,
    RiskJob,
    RiskSettings,
    ScoringFault,
)
from risk.services import (
    planned_fallback_approve,
    planned_fallback_propose,
    planned_fallback_refuse,
    planned_fallback_switch_off,
    rule_create,
    rule_delete,
    rule_set_draft_create,
)
from tests.agencies.conftest import MEAT, PHONES, regulated_item, review_of
from tests.factories import (
    UserFactory,
    item_data,
    risk_settings_change,
    rule_set_publish,
    second_supervisor,
)
from tests.risk.conftest import submitted

pytestmark = pytest.mark.django_db

FURNITURE = "940360"  # nobody's jurisdiction, no rule: green on the full path


@pytest.fixture
def second_admin(cast):
    return UserFactory(username="admin_2", role="admin")


@pytest.fixture
def rules(cast, no_random_selection):
    """Live rules: phones forced red, meat +40 (yellow from 30); the fallback lane yellow."""
    draft = rule_set_draft_create(actor=cast.analyst)
    for old in draft.rules.all():
        rule_delete(actor=cast.analyst, rule=old)
    rule_create(actor=cast.analyst, rule_set=draft, name="phones", hs_prefix="8517",
                force_lane="red")  # fmt: skip
    rule_create(actor=cast.analyst, rule_set=draft, name="meat", hs_prefix="0201", score=40)
    rule_set_publish(actor=cast.analyst, rule_set=draft)
    risk_settings_change(actor=cast.analyst, fallback_lane="yellow")


def lodge_and_score(cast, hs_code: str) -> Declaration:
    items = (
        [regulated_item(hs_code, holder=cast.company_a)]
        if hs_code == MEAT
        else [item_data(hs_code=hs_code, description="goods")]
    )
    declaration = submitted(cast.trader_a, items=items)
    declarations_assess_risk(declaration_ids=[declaration.pk])
    return Declaration.objects.select_related("lane_decision").get(pk=declaration.pk)


def told(user, verb: str) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, verb=verb).values_list("text", flat=True)
    )


# --- A planned outage, switched on and off by hand -------------------------------------------


def test_the_fallback_lane_applies_at_once_and_routes_everything_never_green(cast, rules):
    planned = planned_fallback_propose(
        mode="default_lane", reason="database upgrade tonight", actor=cast.admin
    )
    assert planned.status == "on" and RiskSettings.current().planned_fallback == "default_lane"
    furniture = lodge_and_score(cast, FURNITURE)
    decision = furniture.lane_decision
    assert (furniture.lane, decision.fallback) == ("yellow", "default_lane")
    assert any("planned outage" in r["text"] for r in decision.reasons)
    assert not [r for r in decision.reasons if r["kind"] == "rule"]  # the rules are left out
    assert not ScoringFault.objects.exists()  # a planned outage is no fault
    assert [e.action for e in ConfigAuditEntry.objects.order_by("id")][-2:] == [
        "fallback_proposed", "fallback_on",
    ]  # fmt: skip
    assert told(cast.analyst, "fallback_on")
    planned_fallback_switch_off(actor=cast.admin, note="upgrade done")
    assert RiskSettings.current().planned_fallback == ""
    phones = lodge_and_score(cast, PHONES)
    assert (phones.lane, phones.lane_decision.fallback) == ("red", "")


def test_the_model_is_switched_off_only_when_a_second_administrator_approves(
    cast, rules, second_admin
):
    planned = planned_fallback_propose(
        mode="rules_only", reason="model host down", actor=cast.admin
    )
    assert planned.status == "proposed" and RiskSettings.current().planned_fallback == ""
    assert told(second_admin, "fallback_proposed")
    # Still the full path while it waits.
    assert lodge_and_score(cast, MEAT).lane_decision.fallback == ""
    with pytest.raises(ApplicationError, match="Four eyes"):
        planned_fallback_approve(fallback_id=planned.pk, actor=cast.admin)
    planned_fallback_approve(fallback_id=planned.pk, actor=second_admin)
    planned.refresh_from_db()
    assert planned.status == "on" and planned.decided_by == second_admin
    meat = lodge_and_score(cast, MEAT)
    assert (meat.lane, meat.lane_decision.fallback) == ("yellow", "rules_only")
    assert meat.lane_decision.model_version == ""
    with pytest.raises(ApplicationError, match="switch it off or refuse it first"):
        planned_fallback_propose(mode="default_lane", reason="again", actor=second_admin)


def test_a_proposal_is_refused_or_withdrawn_with_a_reason(cast, second_admin):
    planned = planned_fallback_propose(mode="rules_only", reason="maybe", actor=cast.admin)
    with pytest.raises(ValidationError):
        planned_fallback_refuse(fallback_id=planned.pk, actor=second_admin, reason=" ")
    planned_fallback_refuse(fallback_id=planned.pk, actor=cast.admin, reason="not needed")
    planned.refresh_from_db()
    assert planned.status == "refused" and RiskSettings.current().planned_fallback == ""
    with pytest.raises(ApplicationError, match="No planned fallback is on"):
        planned_fallback_switch_off(actor=cast.admin)


@pytest.mark.parametrize("who", ["analyst", "supervisor", "customs_officer", "trader_a"])
def test_only_administrators_plan_an_outage(cast, who):
    with pytest.raises(PermissionDenied):
        planned_fallback_propose(mode="default_lane", reason="x", actor=getattr(cast, who))
    assert not PlannedFallback.objects.exists()


def test_a_mode_that_is_no_fallback_is_refused_on_its_field(cast):
    with pytest.raises(ValidationError) as error:
        planned_fallback_propose(mode="green", reason="x", actor=cast.admin)
    assert list(error.value.message_dict) == ["mode"]


# --- Officers see it, traders never -----------------------------------------------------------


def test_officers_see_the_fallback_on_the_queue_and_the_review_traders_never(
    cast, rules, api, login
):
    planned_fallback_propose(mode="default_lane", reason="upgrade", actor=cast.admin)
    declaration = lodge_and_score(cast, MEAT)
    food = review_of(declaration, cast.food)

    # The queue: a badge on the row, and a note on the counts while the outage lasts.
    browser = login(cast.food_officer)
    queue = browser.get("/queue/").content.decode()
    assert 'data-testid="fallback-badge"' in queue
    counts = browser.get("/queue/counts/").content.decode()
    assert "planned fallback" in counts
    row = api.as_user(cast.food_officer).get("/api/v1/reviews/").json()["results"][0]
    assert row["lane_fallback"] == "default_lane"
    # The review page says what was left out.
    page = browser.get(f"/reviews/{food.pk}/").content.decode()
    assert "Lane decided by a fallback" in page and "during a planned outage" in page
    assert "the selectivity rules and the model were left out" in page
    browser.logout()

    # The declarant reads the lane and what to do, nothing of how it was decided.
    trader = api.as_user(cast.trader_a)
    body = json.dumps(trader.get(f"/api/v1/declarations/{declaration.pk}/").json())
    assert "fallback" not in body.lower() and "outage" not in body.lower()
    page = login(cast.trader_a).get(f"/declarations/{declaration.pk}/").content.decode()
    assert "fallback" not in page.lower() and "outage" not in page.lower()


def test_the_queue_shows_no_badge_when_the_full_engine_decided(cast, rules, login):
    lodge_and_score(cast, MEAT)
    browser = login(cast.food_officer)
    assert 'data-testid="fallback-badge"' not in browser.get("/queue/").content.decode()
    assert "scoring-degraded" not in browser.get("/queue/counts/").content.decode()


# --- Re-scoring once the engine is back -------------------------------------------------------


@pytest.fixture
def fallen_back(cast, rules):
    """Five declarations routed yellow by the planned fallback lane, then the outage over:
    phones (red on the full path), meat (yellow), furniture (green), meat an officer
    took up, and phones customs has already cleared."""
    planned_fallback_propose(mode="default_lane", reason="upgrade", actor=cast.admin)
    routed = {
        "raise": lodge_and_score(cast, PHONES),
        "same": lodge_and_score(cast, MEAT),
        "lower": lodge_and_score(cast, FURNITURE),
        "started": lodge_and_score(cast, MEAT),
        "cleared": lodge_and_score(cast, PHONES),
    }
    for declaration in routed.values():
        assert (declaration.lane, declaration.lane_decision.fallback) == ("yellow", "default_lane")
    review_claim(review_id=review_of(routed["started"], cast.food).pk, actor=cast.food_officer)
    customs = review_of(routed["cleared"], cast.customs)
    inspection_record(
        review_id=customs.pk, actor=cast.customs_officer, kind="documentary",
        finding="no_discrepancy",
    )  # fmt: skip
    review_approve(review_id=customs.pk, actor=cast.customs_officer)
    planned_fallback_switch_off(actor=cast.admin)
    return routed


def rescored(declaration) -> tuple[Declaration, LaneDecision, LaneRescore]:
    declaration = Declaration.objects.get(pk=declaration.pk)
    decision = LaneDecision.objects.get(declaration=declaration)
    return declaration, decision, LaneRescore.objects.filter(lane_decision=decision).first()


def test_the_full_engine_raises_records_proposes_or_keeps_each_one_decision(cast, fallen_back):
    job = lane_decisions_rescore_request(actor=cast.admin)
    assert job.kind == "rescore" and job.params == {"waiting": 5}
    result = lane_decisions_rescore(job_id=job.pk)
    assert result["outcomes"] == {
        "raised": 1, "updated": 1, "proposed": 1, "kept": 1, "too_late": 1,
    }  # fmt: skip
    job.refresh_from_db()
    assert job.status == "done" and job.result == result

    # Stricter: applied at once. The one decision now says red, its old lane kept.
    declaration, decision, rescore = rescored(fallen_back["raise"])
    assert declaration.lane == "red" and (decision.lane, decision.fallback) == ("red", "")
    assert decision.reasons[0]["kind"] == "rescore"
    assert "after a fallback (the fallback lane: lane yellow" in decision.reasons[0]["text"]
    assert rescore.outcome == "raised" and rescore.before["lane"] == "yellow"
    assert rescore.before["fallback"] == "default_lane" and rescore.after["lane"] == "red"
    assert LaneDecision.objects.filter(declaration=declaration).count() == 1
    checks = Inspection.objects.filter(review__declaration=declaration)
    assert {(c.kind, c.status) for c in checks} == {
        ("documentary", "cancelled"), ("physical", "ordered"),
    }  # fmt: skip
    # The declarant reads the new lane, not why.
    notices = told(cast.trader_a, "lane_changed")
    assert notices and "Red lane" in notices[-1] and "fallback" not in notices[-1]
    event = DeclarationEvent.objects.filter(declaration=declaration, action="lane_rescored").get()
    assert event.data["before"] == {"lane": "yellow", "score": 0, "fallback": "default_lane"}
    assert event.notice == ""

    # The same lane, nobody at work yet: the engine's reasons recorded.
    declaration, decision, rescore = rescored(fallen_back["same"])
    assert (declaration.lane, decision.lane, decision.fallback, decision.score) == (
        "yellow", "yellow", "", 40,
    )  # fmt: skip
    assert rescore.outcome == "updated"

    # Lower: never by the machine; a second customs supervisor decides.
    declaration, decision, rescore = rescored(fallen_back["lower"])
    assert declaration.lane == "yellow" and decision.fallback == "default_lane"
    assert rescore.outcome == "proposed" and rescore.after["lane"] == "green"
    proposal = LaneChangeProposal.objects.get(declaration=declaration)
    assert (proposal.from_lane, proposal.to_lane, proposal.proposed_by) == (
        "yellow", "green", cast.admin,
    )  # fmt: skip
    assert told(cast.supervisor, "lane_change_proposed")
    lane_change_approve(proposal_id=proposal.pk, actor=cast.supervisor)
    assert Declaration.objects.get(pk=declaration.pk).lane == "green"

    # Work had started: the fallback's decision stands, said so.
    declaration, decision, rescore = rescored(fallen_back["started"])
    assert decision.fallback == "default_lane" and rescore.outcome == "kept"

    # Too late to change: customs cleared it. Its supervisors are told.
    declaration, decision, rescore = rescored(fallen_back["cleared"])
    assert declaration.lane == "yellow" and rescore.outcome == "too_late"
    [warning] = told(cast.supervisor, "rescored_too_late")
    assert "would now be red, not yellow" in warning


def test_re_scoring_twice_changes_nothing_more(cast, fallen_back):
    job = lane_decisions_rescore_request(actor=cast.admin)
    lane_decisions_rescore(job_id=job.pk)
    events = DeclarationEvent.objects.count()
    # A redelivered message, once the job is done: nothing.
    assert lane_decisions_rescore(job_id=job.pk) is None
    # The same job taken up again while "running" (a worker died halfway): nothing left.
    RiskJob.objects.filter(pk=job.pk).update(status="running")
    result = lane_decisions_rescore(job_id=job.pk)
    assert sum(result["outcomes"].values()) == 5
    assert LaneRescore.objects.count() == 5 and DeclarationEvent.objects.count() == events
    with pytest.raises(ApplicationError, match="No decision taken by a fallback waits"):
        lane_decisions_rescore_request(actor=cast.admin)


def test_nothing_is_re_scored_while_the_planned_fallback_is_on(cast, rules):
    planned_fallback_propose(mode="default_lane", reason="upgrade", actor=cast.admin)
    lodge_and_score(cast, PHONES)
    with pytest.raises(ApplicationError, match="switch it off first"):
        lane_decisions_rescore_request(actor=cast.admin)


def test_decisions_the_engine_still_cannot_take_in_full_wait_for_a_later_job(cast, rules):
    planned_fallback_propose(mode="default_lane", reason="upgrade", actor=cast.admin)
    phones = lodge_and_score(cast, PHONES)
    planned_fallback_switch_off(actor=cast.admin)
    job = lane_decisions_rescore_request(actor=cast.admin)
    # Switched on again before the worker ran: the batch still falls back.
    RiskSettings.objects.update(planned_fallback="default_lane")
    result = lane_decisions_rescore(job_id=job.pk)
    assert result["still_falling_back"] == 1 and sum(result["outcomes"].values()) == 0
    assert not LaneRescore.objects.exists()
    assert LaneDecision.objects.get(declaration=phones).fallback == "default_lane"


@pytest.mark.parametrize("who", ["analyst", "supervisor", "trader_a"])
def test_only_administrators_have_decisions_re_scored(cast, fallen_back, who):
    with pytest.raises(PermissionDenied):
        lane_decisions_rescore_request(actor=getattr(cast, who))


def test_an_approver_of_the_proposed_lowering_is_a_customs_supervisor_not_the_proposer(
    cast, fallen_back
):
    lane_decisions_rescore(job_id=lane_decisions_rescore_request(actor=cast.admin).pk)
    proposal = LaneChangeProposal.objects.get()
    food_supervisor = UserFactory(username="food_sup", role="supervisor", agency=cast.food)
    with pytest.raises(PermissionDenied):
        lane_change_approve(proposal_id=proposal.pk, actor=food_supervisor)
    # The food supervisor of the office is not told of customs' lane work.
    assert not told(food_supervisor, "lane_change_proposed")
    lane_change_approve(proposal_id=proposal.pk, actor=second_supervisor(cast.supervisor))


def test_a_replaced_version_is_re_scored_quietly(cast, rules):
    from clearance.services import declaration_amend
    from declarations.services import HEADER_FIELDS, declaration_items_input

    planned_fallback_propose(mode="default_lane", reason="upgrade", actor=cast.admin)
    phones = lodge_and_score(cast, PHONES)
    header = {field: getattr(phones, field) for field in HEADER_FIELDS}
    declaration_amend(
        actor=cast.trader_a, declaration=phones, header=header,
        items=declaration_items_input(phones), reason="typo",
    )  # fmt: skip
    planned_fallback_switch_off(actor=cast.admin)
    result = lane_decisions_rescore(job_id=lane_decisions_rescore_request(actor=cast.admin).pk)
    assert result["outcomes"]["too_late"] == 1
    # Nothing to check after the fact on a version nobody clears.
    assert not told(cast.supervisor, "rescored_too_late")

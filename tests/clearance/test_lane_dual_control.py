"""Lowering a lane needs a second customs supervisor; raising it stays immediate."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from agencies.models import Inspection, LaneChangeProposal, LaneOverride
from clearance.services import (
    declaration_cancel,
    declaration_lane_override,
    inspection_record,
    lane_change_approve,
    lane_change_refuse,
    review_approve,
)
from core.exceptions import ApplicationError, InvalidTransition
from declarations.models import Declaration
from notifications.models import Notification
from tests.agencies.conftest import MEAT, PHONES, review_of
from tests.factories import UserFactory, second_supervisor

pytestmark = pytest.mark.django_db


def lane_of(declaration) -> str:
    return Declaration.objects.get(pk=declaration.pk).lane


def propose(declaration, actor, lane="yellow", reason="AEO trader, seals intact"):
    return declaration_lane_override(
        declaration_id=declaration.pk, lane=lane, actor=actor, reason=reason
    )


def test_lowering_a_lane_waits_for_a_second_supervisor_then_the_checks_follow(cast, reviewed):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    proposal = propose(declaration, cast.supervisor)
    assert isinstance(proposal, LaneChangeProposal)
    assert lane_of(declaration) == "red"
    assert not LaneOverride.objects.exists()
    assert list(customs.inspections.values_list("kind", "status")) == [("physical", "ordered")]

    with pytest.raises(ApplicationError, match="another supervisor must approve"):
        lane_change_approve(proposal_id=proposal.pk, actor=cast.supervisor)
    other = second_supervisor(cast.supervisor)
    lane_change_approve(proposal_id=proposal.pk, actor=other)

    assert lane_of(declaration) == "yellow"
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == ("approved", other)
    assert LaneOverride.objects.get().changed_by == other
    # lanes_apply moved the ordered check with the lane: documents instead of the goods.
    assert sorted(customs.inspections.values_list("kind", "status")) == [
        ("documentary", "ordered"),
        ("physical", "cancelled"),
    ]


def test_the_trail_names_both_supervisors(cast, reviewed):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    proposal = propose(declaration, cast.supervisor, lane="green")
    other = second_supervisor(cast.supervisor)
    lane_change_approve(proposal_id=proposal.pk, actor=other)
    events = {e.action: e for e in Declaration.objects.get(pk=declaration.pk).events.all()}
    proposed = events["lane_change_proposed"]
    assert (proposed.actor, proposed.data["proposed_by"]) == (cast.supervisor, "supervisor")
    approved = events["lane_change_approved"]
    assert approved.actor == other
    assert (approved.data["proposed_by"], approved.data["decided_by"]) == (
        "supervisor",
        other.username,
    )
    changed = events["lane_changed"]
    assert changed.actor == other
    assert "proposed by supervisor" in changed.reason
    assert f"approved by {other.username}" in changed.reason
    # The declarant reads the new lane, never the proposal.
    assert not proposed.notice and not approved.notice
    assert changed.notice.startswith("Lane changed.")


def test_raising_scrutiny_stays_immediate(cast, reviewed):
    # Green with the food agency still to decide: under review, the lane may change.
    declaration = reviewed(lane="green", hs_codes=(PHONES, MEAT))
    override = propose(declaration, cast.supervisor, lane="red", reason="Tip-off")
    assert isinstance(override, LaneOverride)
    assert lane_of(declaration) == "red"
    assert not LaneChangeProposal.objects.exists()


def test_the_approver_must_not_have_worked_the_declaration(cast, reviewed):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    inspector = second_supervisor(cast.supervisor)
    inspection_record(
        review_id=customs.pk, actor=inspector, kind="documentary", finding="no_discrepancy"
    )
    proposal = propose(declaration, cast.supervisor)
    with pytest.raises(ApplicationError, match="Four eyes"):
        lane_change_approve(proposal_id=proposal.pk, actor=inspector)
    assert lane_of(declaration) == "red"


def test_wrong_roles_cannot_approve(cast, reviewed):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    proposal = propose(declaration, cast.supervisor)
    food_supervisor = UserFactory(role="supervisor", agency=cast.food)
    for user in (cast.customs_officer, food_supervisor, cast.analyst, cast.trader_a):
        with pytest.raises(PermissionDenied):
            lane_change_approve(proposal_id=proposal.pk, actor=user)
        with pytest.raises(PermissionDenied):
            lane_change_refuse(proposal_id=proposal.pk, actor=user, reason="no")
    assert lane_of(declaration) == "red"


def test_a_refusal_keeps_the_lane_and_tells_the_proposer(cast, reviewed):
    declaration = reviewed(lane="yellow", hs_codes=(PHONES,))
    proposal = propose(declaration, cast.supervisor, lane="green")
    with pytest.raises(ApplicationError, match="already proposed"):
        propose(declaration, second_supervisor(cast.supervisor), lane="green")
    other = second_supervisor(cast.supervisor)
    with pytest.raises(ValidationError):
        lane_change_refuse(proposal_id=proposal.pk, actor=other, reason=" ")
    lane_change_refuse(proposal_id=proposal.pk, actor=other, reason="Importer on a watch list")
    assert lane_of(declaration) == "yellow"
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == ("refused", other)
    assert Notification.objects.filter(
        recipient=cast.supervisor, verb="lane_change_refused"
    ).exists()
    with pytest.raises(InvalidTransition):
        lane_change_approve(proposal_id=proposal.pk, actor=other)


def test_a_proposal_lapses_when_the_lane_changes_otherwise_or_the_declaration_leaves_review(
    cast, reviewed
):
    raised = reviewed(lane="yellow", hs_codes=(PHONES,))
    proposal = propose(raised, cast.supervisor, lane="green")
    propose(raised, second_supervisor(cast.supervisor), lane="red", reason="New alert")
    proposal.refresh_from_db()
    assert proposal.status == LaneChangeProposal.Status.LAPSED
    assert lane_of(raised) == "red"

    cancelled = reviewed(lane="red", hs_codes=(PHONES,))
    proposal = propose(cancelled, cast.supervisor)
    declaration_cancel(actor=cast.trader_a, declaration=cancelled, reason="Wrong invoice")
    proposal.refresh_from_db()
    assert proposal.status == LaneChangeProposal.Status.LAPSED
    with pytest.raises(InvalidTransition):
        lane_change_approve(proposal_id=proposal.pk, actor=second_supervisor(cast.supervisor))


def test_customs_approval_makes_the_lane_final_and_lapses_the_proposal(cast, reviewed):
    declaration = reviewed(lane="yellow", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    proposal = propose(declaration, cast.supervisor, lane="green")
    inspection_record(
        review_id=customs.pk, actor=cast.customs_officer, kind="documentary",
        finding="no_discrepancy",
    )  # fmt: skip
    review_approve(review_id=customs.pk, actor=cast.customs_officer)
    proposal.refresh_from_db()
    assert proposal.status == LaneChangeProposal.Status.LAPSED
    assert Inspection.objects.filter(review=customs, status="done").count() == 1


def test_the_proposer_may_not_inspect_while_the_proposal_waits(cast, reviewed):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    propose(declaration, cast.supervisor)
    with pytest.raises(ApplicationError, match="Four eyes: you set the lane"):
        inspection_record(
            review_id=customs.pk, actor=cast.supervisor, kind="physical",
            finding="no_discrepancy",
        )  # fmt: skip


def test_supervisors_decide_on_their_page_and_the_api(cast, reviewed, login, api):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    response = api.as_user(cast.supervisor).post(
        f"/api/v1/reviews/{customs.pk}/lane/",
        {"lane": "yellow", "reason": "Seals intact"},
        format="json",
    )
    assert response.status_code == 202
    proposal_id = response.json()["id"]
    assert response.json()["status"] == "proposed"

    other = second_supervisor(cast.supervisor)
    page = login(other).get("/lane-proposals/").content.decode()
    assert declaration.reference in page and "Seals intact" in page
    review_page = login(other).get(f"/reviews/{customs.pk}/").content.decode()
    assert "Approve: change the lane to yellow" in review_page
    own = login(cast.supervisor).get(f"/reviews/{customs.pk}/").content.decode()
    assert "You proposed it" in own

    listed = api.as_user(other).get("/api/v1/lane-proposals/").json()["results"]
    assert [p["id"] for p in listed] == [proposal_id]
    refused = api.as_user(cast.supervisor).post(f"/api/v1/lane-proposals/{proposal_id}/approve/")
    assert refused.status_code == 409
    approved = api.as_user(other).post(f"/api/v1/lane-proposals/{proposal_id}/approve/")
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["decided_by"]) == (
        "approved",
        other.username,
    )
    assert lane_of(declaration) == "yellow"


def test_only_customs_supervisors_reach_the_proposals(cast, reviewed, login, api):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    proposal = propose(declaration, cast.supervisor)
    food_supervisor = UserFactory(role="supervisor", agency=cast.food)
    for user in (cast.trader_a, cast.customs_officer, cast.food_officer, food_supervisor):
        client = login(user)
        assert client.get("/lane-proposals/").status_code == 404
        assert client.post(f"/lane-proposals/{proposal.pk}/approve/").status_code == 404
        token = api.as_user(user)
        assert token.get("/api/v1/lane-proposals/").status_code == 404
        assert token.post(f"/api/v1/lane-proposals/{proposal.pk}/approve/").status_code == 404
    assert lane_of(declaration) == "red"
    # The same page answers a customs supervisor.
    assert login(second_supervisor(cast.supervisor)).get("/lane-proposals/").status_code == 200


def test_the_trader_never_sees_the_proposal(cast, reviewed, login, api):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    propose(declaration, cast.supervisor, reason="Informant: container is clean")
    page = login(cast.trader_a).get(f"/declarations/{declaration.pk}/").content.decode()
    body = str(api.as_user(cast.trader_a).get(f"/api/v1/declarations/{declaration.pk}/").json())
    for seen in (page, body):
        assert "Informant" not in seen
        assert "proposed" not in seen.lower()
    assert not Notification.objects.filter(
        recipient=cast.trader_a, verb__startswith="lane"
    ).exists()


def test_a_supervisor_refuses_from_the_review_page_and_returns_to_it(cast, reviewed, login):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    proposal = propose(declaration, cast.supervisor)
    client = login(second_supervisor(cast.supervisor))
    response = client.post(
        f"/lane-proposals/{proposal.pk}/refuse/",
        {"reason": "Red stays: partner alert", "next": f"/reviews/{customs.pk}/"},
    )
    assert response.url == f"/reviews/{customs.pk}/"
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decision_note) == ("refused", "Red stays: partner alert")
    assert "Lane change waiting" not in client.get(response.url).content.decode()

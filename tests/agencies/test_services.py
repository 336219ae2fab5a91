"""Officer's work: every action, every refusal, and what each does to the declaration."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from agencies.models import Inspection, LaneOverride, Permit, Review
from agencies.services import permit_issue, review_claim
from clearance.services import (
    declaration_lane_override,
    declaration_release_if_cleared,
    inspection_record,
    query_answer,
    release_blockers,
    review_approve,
    review_query,
    review_reject,
)
from core.exceptions import ApplicationError
from declarations.models import Declaration
from notifications.models import Notification
from tests.agencies.conftest import PHONES, review_of
from tests.factories import UserFactory, lane_lower, pay, second_supervisor

pytestmark = pytest.mark.django_db


def status_of(declaration) -> str:
    return Declaration.objects.values_list("status", flat=True).get(pk=declaration.pk)


def inspect(review, officer, kind="physical", **extra):
    return inspection_record(
        review_id=review.pk, actor=officer, kind=kind, finding="no_discrepancy", **extra
    )


# --- claim -------------------------------------------------------------------


def test_a_claimed_review_is_refused_to_a_second_officer(cast, reviewed):
    review = review_of(reviewed(), cast.food)
    other = UserFactory(role="officer", agency=cast.food)
    review_claim(review_id=review.pk, actor=cast.food_officer)
    review_claim(review_id=review.pk, actor=cast.food_officer)  # claiming twice is harmless
    with pytest.raises(ApplicationError, match="claimed by food_officer"):
        review_claim(review_id=review.pk, actor=other)
    with pytest.raises(ApplicationError, match="claimed by food_officer"):
        review_approve(review_id=review.pk, actor=other)
    review.refresh_from_db()
    assert (review.assigned_to, review.status) == (cast.food_officer, "in_progress")


def test_an_officer_of_another_agency_cannot_touch_the_review(cast, reviewed):
    review = review_of(reviewed(), cast.food)
    for action in (
        lambda: review_claim(review_id=review.pk, actor=cast.plant_officer),
        lambda: review_approve(review_id=review.pk, actor=cast.plant_officer),
        lambda: review_reject(review_id=review.pk, actor=cast.customs_officer, reason="no"),
        lambda: review_query(review_id=review.pk, actor=cast.trader_a, question="?"),
    ):
        with pytest.raises(PermissionDenied):
            action()
    assert Review.objects.get(pk=review.pk).status == "open"


# --- approve, reject ------------------------------------------------------------


def test_approvals_of_every_agency_move_the_declaration_to_assessment(
    cast, reviewed, django_capture_on_commit_callbacks
):
    declaration = reviewed(lane="yellow")
    with django_capture_on_commit_callbacks(execute=True):
        review_approve(review_id=review_of(declaration, cast.food).pk, actor=cast.food_officer)
        review_approve(
            review_id=review_of(declaration, cast.plant).pk,
            actor=cast.plant_officer,
            conditions="Fumigate before distribution",
        )
        inspect(review_of(declaration, cast.customs), cast.customs_officer, kind="documentary")
        assert status_of(declaration) == "under_review"
        review_approve(
            review_id=review_of(declaration, cast.customs).pk, actor=cast.customs_officer
        )
    assert status_of(declaration) == "assessed"
    plant = review_of(declaration, cast.plant)
    assert (plant.status, plant.conditions, plant.decided_by) == (
        "approved",
        "Fumigate before distribution",
        cast.plant_officer,
    )
    actions = list(declaration.events.values_list("action", flat=True))
    assert actions.count("review_approved") == 3
    texts = list(
        Notification.objects.filter(recipient=cast.trader_a).values_list("text", flat=True)
    )
    assert any("with conditions: Fumigate" in text for text in texts)
    assert any("duties and taxes are due" in text for text in texts)


def test_a_decided_review_cannot_be_decided_again(cast, reviewed):
    review = review_of(reviewed(), cast.food)
    review_approve(review_id=review.pk, actor=cast.food_officer)
    with pytest.raises(ApplicationError, match="already approved by food_officer"):
        review_reject(review_id=review.pk, actor=cast.food_officer, reason="second thoughts")


def test_a_rejection_rejects_the_declaration_with_its_reason(
    cast, reviewed, django_capture_on_commit_callbacks
):
    declaration = reviewed()
    with pytest.raises(ValidationError):
        review_reject(
            review_id=review_of(declaration, cast.food).pk, actor=cast.food_officer, reason=" "
        )
    with django_capture_on_commit_callbacks(execute=True):
        review_reject(
            review_id=review_of(declaration, cast.food).pk,
            actor=cast.food_officer,
            reason="Meat from an unlisted establishment",
        )
    assert status_of(declaration) == "rejected"
    move = declaration.events.get(to_status="rejected")
    assert move.reason == "Food and Drug Safety: Meat from an unlisted establishment"
    told = Notification.objects.get(recipient=cast.trader_a, verb="rejected")
    assert "Meat from an unlisted establishment" in told.text
    # The other agencies' reviews leave their queues.
    assert review_of(declaration, cast.plant).status == Review.Status.CLOSED
    with pytest.raises(ApplicationError, match="rejected"):
        review_approve(review_id=review_of(declaration, cast.plant).pk, actor=cast.plant_officer)


# --- queries -----------------------------------------------------------------


def test_a_query_holds_the_declaration_until_every_query_is_answered(
    cast, reviewed, django_capture_on_commit_callbacks
):
    declaration = reviewed()
    food, plant = review_of(declaration, cast.food), review_of(declaration, cast.plant)
    with django_capture_on_commit_callbacks(execute=True):
        first = review_query(review_id=food.pk, actor=cast.food_officer, question="Which plant?")
        second = review_query(review_id=plant.pk, actor=cast.plant_officer, question="Origin?")
    assert status_of(declaration) == "queried"
    assert Notification.objects.filter(recipient=cast.trader_a, verb="query_asked").count() == 2
    with pytest.raises(ApplicationError, match="waits for the trader"):
        review_approve(review_id=food.pk, actor=cast.food_officer)
    with pytest.raises(PermissionDenied):
        query_answer(query_id=first.pk, actor=cast.trader_b, answer="not mine")
    with pytest.raises(PermissionDenied):
        query_answer(query_id=first.pk, actor=cast.food_officer, answer="answering myself")

    query_answer(query_id=first.pk, actor=cast.trader_a, answer="Establishment KR-123")
    assert status_of(declaration) == "queried"  # the plant query is still open
    assert Review.objects.get(pk=food.pk).status == "in_progress"
    with pytest.raises(ApplicationError, match="already been answered"):
        query_answer(query_id=first.pk, actor=cast.trader_a, answer="again")

    query_answer(query_id=second.pk, actor=cast.trader_a, answer="Spain")
    assert status_of(declaration) == "under_review"
    review_approve(review_id=food.pk, actor=cast.food_officer)


# --- inspections and lane work ---------------------------------------------------


def test_customs_approves_a_red_lane_only_after_a_physical_inspection(cast, reviewed):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    with pytest.raises(ApplicationError, match="red lane needs a physical inspection"):
        review_approve(review_id=customs.pk, actor=cast.customs_officer)
    inspect(customs, cast.customs_officer, kind="documentary")
    with pytest.raises(ApplicationError, match="physical inspection"):
        review_approve(review_id=customs.pk, actor=cast.customs_officer)
    inspection = inspection_record(
        review_id=customs.pk,
        actor=cast.customs_officer,
        kind="physical",
        finding="misdeclared_quantity",
        items=[1],
        revenue_difference=Decimal("1250.00"),
        notes="Counted",
    )
    review_approve(review_id=customs.pk, actor=cast.customs_officer)
    assert status_of(declaration) == "assessed"
    assert (inspection.kind, inspection.finding, inspection.revenue_difference) == (
        "physical",
        "misdeclared_quantity",
        Decimal("1250.00"),
    )
    assessed = Declaration.objects.get(pk=declaration.pk)
    assert assessed.additional_due == Decimal("1250.00")
    assert assessed.total_due == assessed.duty_total + assessed.vat_total + Decimal("1250.00")
    # The red lane ordered the physical inspection; recording it did that order.
    assert sorted(Inspection.objects.filter(review=customs).values_list("kind", "status")) == [
        ("documentary", "done"),
        ("physical", "done"),
    ]
    assert "inspection_done" in declaration.events.values_list("action", flat=True)


def test_a_yellow_lane_needs_a_documentary_check(cast, reviewed):
    declaration = reviewed(lane="yellow", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    assert release_blockers(declaration) == [
        "Customs has not approved",
        "customs has not recorded a documentary check",
    ]
    inspect(customs, cast.customs_officer, kind="documentary")
    review_approve(review_id=customs.pk, actor=cast.customs_officer)
    assert status_of(declaration) == "assessed"


def test_inspections_are_customs_work_with_coded_findings(cast, reviewed):
    declaration = reviewed(lane="red")
    with pytest.raises(ApplicationError, match="Only customs"):
        inspect(review_of(declaration, cast.food), cast.food_officer)
    customs = review_of(declaration, cast.customs)
    with pytest.raises(ValidationError) as error:
        inspection_record(
            review_id=customs.pk,
            actor=cast.customs_officer,
            kind="physical",
            finding="looked_fine",
            revenue_difference=Decimal("-1"),
        )
    assert {"finding", "revenue_difference"} <= set(error.value.message_dict)
    # The physical inspection the red lane ordered is still to do.
    ordered = Inspection.objects.get()
    assert (ordered.review, ordered.kind, ordered.status, ordered.finding) == (
        customs,
        "physical",
        "ordered",
        "",
    )


# --- permits ------------------------------------------------------------------


def test_an_agency_issues_a_numbered_permit(cast, reviewed):
    review = review_of(reviewed(), cast.plant)
    valid_until = timezone.localdate() + timedelta(days=90)
    first = permit_issue(review_id=review.pk, actor=cast.plant_officer, valid_until=valid_until)
    second = permit_issue(review_id=review.pk, actor=cast.plant_officer, valid_until=valid_until)
    assert first.permit_type == "Phytosanitary certificate"
    assert first.number != second.number
    assert first.number.startswith(f"PLANT-{timezone.now():%Y}-")
    with pytest.raises(ValidationError, match="past"):
        permit_issue(
            review_id=review.pk,
            actor=cast.plant_officer,
            valid_until=timezone.localdate() - timedelta(days=1),
        )
    with pytest.raises(ValidationError):
        permit_issue(
            review_id=review.pk,
            actor=cast.plant_officer,
            valid_until=valid_until,
            number=first.number,
        )
    assert Permit.objects.filter(review=review).count() == 2


# --- lane override, four eyes -------------------------------------------------------


def test_a_supervisor_changes_the_lane_with_a_reason(cast, reviewed):
    declaration = reviewed(lane="green")
    override = declaration_lane_override(
        declaration_id=declaration.pk, lane="red", actor=cast.supervisor, reason="Intelligence"
    )
    assert Declaration.objects.get(pk=declaration.pk).lane == "red"
    assert (override.from_lane, override.to_lane, override.changed_by) == (
        "green",
        "red",
        cast.supervisor,
    )
    event = declaration.events.filter(action="lane_changed").get()
    assert event.reason == "Intelligence"
    # Raised from green: customs' automatic approval is gone, the inspection is ordered.
    customs = review_of(declaration, cast.customs)
    assert (customs.status, customs.automatic_basis) == ("open", "")
    assert customs.inspections.get().kind == "physical"
    assert set(declaration.reviews.values_list("lane_rank", flat=True)) == {0}


def test_four_eyes_a_supervisor_never_changes_the_lane_of_their_own_work(cast, reviewed):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    inspect(customs, cast.supervisor)
    with pytest.raises(ApplicationError, match="Four eyes"):
        declaration_lane_override(
            declaration_id=declaration.pk, lane="green", actor=cast.supervisor, reason="fine"
        )
    other = UserFactory(role="supervisor", agency=cast.customs)
    proposal = lane_lower(
        declaration_id=declaration.pk, lane="yellow", actor=other, reason="second look"
    )
    assert LaneOverride.objects.get().changed_by == second_supervisor(other)
    assert proposal.proposed_by == other


def test_four_eyes_after_a_decision(cast, reviewed):
    declaration = reviewed(lane="yellow")
    review_approve(review_id=review_of(declaration, cast.food).pk, actor=cast.food_officer)
    food_supervisor = UserFactory(role="supervisor", agency=cast.food)
    review_approve(review_id=review_of(declaration, cast.plant).pk, actor=cast.plant_officer)
    with pytest.raises(PermissionDenied):  # a supervisor of another agency
        declaration_lane_override(
            declaration_id=declaration.pk, lane="red", actor=food_supervisor, reason="x"
        )
    with pytest.raises(PermissionDenied):  # an officer
        declaration_lane_override(
            declaration_id=declaration.pk, lane="red", actor=cast.customs_officer, reason="x"
        )
    with pytest.raises(ValidationError):
        declaration_lane_override(
            declaration_id=declaration.pk, lane="red", actor=cast.supervisor, reason=" "
        )


def test_a_supervisor_who_decided_a_review_may_not_change_the_lane(cast, reviewed):
    declaration = reviewed(lane="yellow", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    inspect(customs, cast.customs_officer, kind="documentary")
    review_approve(review_id=customs.pk, actor=cast.supervisor)
    other = UserFactory(role="supervisor", agency=cast.customs)
    with pytest.raises(ApplicationError, match="Four eyes"):
        declaration_lane_override(
            declaration_id=declaration.pk, lane="red", actor=cast.supervisor, reason="hmm"
        )
    with pytest.raises(ApplicationError, match="Customs has already decided"):
        declaration_lane_override(
            declaration_id=declaration.pk, lane="red", actor=other, reason="hmm"
        )


# --- release -------------------------------------------------------------------


def test_goods_are_released_only_when_paid_approved_and_inspected(
    cast, reviewed, django_capture_on_commit_callbacks
):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    assert declaration_release_if_cleared(declaration_id=declaration.pk) is None
    inspect(customs, cast.customs_officer)
    review_approve(review_id=customs.pk, actor=cast.customs_officer)
    assert status_of(declaration) == "assessed"
    with django_capture_on_commit_callbacks(execute=True):
        pay(declaration)
    assert status_of(declaration) == "released"
    assert Notification.objects.filter(recipient=cast.trader_a, verb="released").exists()


def test_the_release_gate_holds_a_paid_declaration_with_an_open_review(cast, reviewed):
    declaration = reviewed(lane="green")
    # Reach "paid" around the gate, as a payment recorded before a late review would.
    Declaration.objects.filter(pk=declaration.pk).update(status="paid")
    assert declaration_release_if_cleared(declaration_id=declaration.pk) is None
    assert status_of(declaration) == "paid"
    assert "Food and Drug Safety has not approved" in release_blockers(declaration)

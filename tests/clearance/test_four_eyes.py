"""Four eyes both ways: whoever sets a lane does not clear the declaration, and whoever
worked it does not change its lane."""

import pytest

from clearance.services import (
    declaration_lane_override,
    declaration_route_manually,
    declaration_scoring_failed,
    inspection_record,
    review_approve,
)
from core.exceptions import ApplicationError
from declarations.models import Declaration
from tests.agencies.conftest import PHONES, review_of
from tests.factories import UserFactory, lane_lower, second_supervisor
from tests.risk.conftest import submitted

pytestmark = pytest.mark.django_db


def test_a_supervisor_who_changed_the_lane_cannot_inspect_or_approve(cast, api, reviewed):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    lane_lower(
        declaration_id=declaration.pk, lane="yellow", actor=cast.supervisor, reason="AEO, clean"
    )
    # Neither the supervisor who proposed the lower lane nor the one who approved it.
    for supervisor in (cast.supervisor, second_supervisor(cast.supervisor)):
        with pytest.raises(ApplicationError, match="Four eyes: you set the lane"):
            inspection_record(
                review_id=customs.pk, actor=supervisor, kind="documentary",
                finding="no_discrepancy",
            )  # fmt: skip
    # Through the API the refusal is a 409 naming the rule.
    response = api.as_user(cast.supervisor).post(
        f"/api/v1/reviews/{customs.pk}/approve/", {}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Four eyes")
    # Another officer does the work; the lowered lane asks a documentary check only.
    inspection_record(
        review_id=customs.pk, actor=cast.customs_officer, kind="documentary",
        finding="no_discrepancy",
    )  # fmt: skip
    with pytest.raises(ApplicationError, match="Four eyes"):
        review_approve(review_id=customs.pk, actor=cast.supervisor)
    review_approve(review_id=customs.pk, actor=cast.customs_officer)
    assert Declaration.objects.get(pk=declaration.pk).status == "assessed"


def test_whoever_routed_a_held_declaration_cannot_approve_it(cast):
    declaration = submitted(cast.trader_a)
    for _ in range(3):
        declaration_scoring_failed(declaration_id=declaration.pk, error="model file missing")
    declaration_route_manually(
        declaration_id=declaration.pk, lane="yellow", actor=cast.supervisor, reason="scoring down"
    )
    customs = review_of(declaration, cast.customs)
    with pytest.raises(ApplicationError, match="Four eyes"):
        inspection_record(
            review_id=customs.pk, actor=cast.supervisor, kind="documentary",
            finding="no_discrepancy",
        )  # fmt: skip
    inspection_record(
        review_id=customs.pk, actor=cast.customs_officer, kind="documentary",
        finding="no_discrepancy",
    )  # fmt: skip
    with pytest.raises(ApplicationError, match="Four eyes"):
        review_approve(review_id=customs.pk, actor=cast.supervisor)
    review_approve(review_id=customs.pk, actor=cast.customs_officer)


def test_whoever_inspected_cannot_change_the_lane(cast, reviewed):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    inspection_record(
        review_id=customs.pk, actor=cast.supervisor, kind="documentary", finding="no_discrepancy"
    )
    with pytest.raises(ApplicationError, match="Four eyes"):
        declaration_lane_override(
            declaration_id=declaration.pk, lane="green", actor=cast.supervisor, reason="fine"
        )
    other = UserFactory(role="supervisor", agency=cast.customs)
    lane_lower(declaration_id=declaration.pk, lane="green", actor=other, reason="documents fine")
    assert Declaration.objects.get(pk=declaration.pk).lane == "green"


def test_after_a_lane_change_the_reasons_say_why_the_lane_is_what_it_is(cast, api, reviewed):
    declaration = reviewed(lane="yellow", hs_codes=(PHONES,))
    customs = review_of(declaration, cast.customs)
    declaration_lane_override(
        declaration_id=declaration.pk, lane="red", actor=cast.supervisor,
        reason="Same container as seizure 2026/88",
    )  # fmt: skip
    reasons = (
        api.as_user(cast.customs_officer)
        .get(f"/api/v1/reviews/{customs.pk}/")
        .json()["risk_reasons"]
    )
    assert reasons[0].startswith("lane yellow → red, changed by supervisor")
    assert reasons[0].endswith("Same container as seizure 2026/88")
    assert reasons[1] == "first decision, yellow lane: lane yellow: set by the test"
    # The ordered check follows the lane: the documentary check is cancelled, an
    # examination ordered.
    assert sorted(customs.inspections.values_list("kind", "status")) == [
        ("documentary", "cancelled"),
        ("physical", "ordered"),
    ]

"""What the lanes and the findings mean: green clears itself, a finding changes the outcome."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from agencies.models import Review
from clearance.services import (
    declaration_detention_decide,
    declaration_lane_override,
    declaration_submit,
    inspection_record,
    review_approve,
)
from core.exceptions import ApplicationError, InvalidTransition
from declarations.models import Declaration
from notifications.models import Notification
from reference.lookups import clear_caches
from reference.models import TariffRate, VatRate
from tests.agencies.conftest import MEAT, PHONES, review_of
from tests.factories import UserFactory, item_data, make_declaration, pay, route

pytestmark = pytest.mark.django_db


def status_of(declaration) -> str:
    return Declaration.objects.values_list("status", flat=True).get(pk=declaration.pk)


def lodged(actor, items=None, **header):
    declaration = make_declaration(actor=actor, items=items or [item_data()], **header)
    return declaration_submit(declaration=declaration, actor=actor)


# --- green: automatic clearance ---------------------------------------------------------


def test_a_green_declaration_is_released_on_payment_with_no_officer(
    cast, django_capture_on_commit_callbacks
):
    declaration = route(lodged(cast.trader_a), lane="green")
    assert declaration.status == "assessed"
    customs = review_of(declaration, cast.customs)
    assert (customs.status, customs.decided_by) == ("approved", None)
    assert "green lane" in customs.automatic_basis
    with django_capture_on_commit_callbacks(execute=True):
        pay(declaration)  # the bank confirms it, with a signed notification
    assert status_of(declaration) == "released"
    # Nobody but the declarant touched it: every other step is the platform's.
    actors = set(declaration.events.values_list("actor", flat=True))
    assert actors <= {None, cast.trader_a.pk}
    told = Notification.objects.filter(recipient=cast.trader_a).values_list("text", flat=True)
    assert any("duties and taxes are due" in text for text in told)


def test_an_agency_that_regulates_the_goods_still_reviews_a_green_declaration(cast, reviewed):
    declaration = reviewed(lane="green", hs_codes=(MEAT,))
    assert declaration.status == "under_review"
    assert review_of(declaration, cast.customs).status == "approved"
    food = review_of(declaration, cast.food)
    assert (food.status, food.automatic_basis) == ("open", "")
    review_approve(review_id=food.pk, actor=cast.food_officer)
    assert status_of(declaration) == "assessed"


def test_a_green_declaration_with_nothing_due_is_released_at_once(cast):
    # Books: no duty, and a VAT rate of zero from today.
    TariffRate.objects.create(hs_prefix="490199", rate=Decimal("0"))
    VatRate.objects.create(valid_from=timezone.localdate(), rate=Decimal("0"))
    clear_caches()
    declaration = lodged(cast.trader_a, items=[item_data(hs_code="490199", description="Books")])
    assert declaration.total_due == 0
    declaration = route(declaration, lane="green")
    assert declaration.status == "released"
    assert list(declaration.events.filter(action="status").values_list("to_status", flat=True))[
        -2:
    ] == ["assessed", "released"]
    assert Notification.objects.filter(
        recipient=cast.trader_a, text__contains="nothing due: goods released"
    ).exists()


def test_the_review_page_says_the_platform_approved(cast, login, reviewed):
    declaration = reviewed(lane="green", hs_codes=(MEAT,))
    customs = review_of(declaration, cast.customs)
    page = login(cast.customs_officer).get(f"/reviews/{customs.pk}/").content.decode()
    assert "Approved by the platform (green lane, no check" in page
    trader = login(cast.trader_a).get(f"/declarations/{declaration.pk}/").content.decode()
    assert "Customs approved: green lane" in trader


# --- findings -----------------------------------------------------------------------------


def record(cast, declaration, *, officer=None, **finding):
    customs = Review.objects.get(declaration=declaration, agency=cast.customs)
    return inspection_record(
        review_id=customs.pk, actor=officer or cast.customs_officer, kind="physical", **finding
    )


def test_a_discrepancy_is_reassessed_and_the_trader_told_without_the_notes(
    cast, api, reviewed, django_capture_on_commit_callbacks
):
    declaration = reviewed(lane="red", hs_codes=(PHONES, PHONES))
    before = declaration.total_due
    record(
        cast,
        declaration,
        finding="misdeclared_value",
        items=[2],
        revenue_difference=Decimal("480000"),
        notes="Invoice found in the container: real price 3x",
    )
    declaration.refresh_from_db()
    assert declaration.additional_due == Decimal("480000")
    assert declaration.total_due == before + Decimal("480000")
    told = Notification.objects.get(recipient=cast.trader_a, verb="reassessed")
    assert "480,000.00 KRW added" in told.text and "item 2" in told.text
    body = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{declaration.pk}/").content
    assert b"real price" not in body
    assert b'"reassessed":"480000.00"' in body
    review_approve(review_id=review_of(declaration, cast.customs).pk, actor=cast.customs_officer)
    assessed = Declaration.objects.get(pk=declaration.pk)
    assert (assessed.status, assessed.total_due) == ("assessed", before + Decimal("480000"))


def test_a_finding_names_the_items_it_concerns(cast, reviewed):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    with pytest.raises(ValidationError) as error:
        record(cast, declaration, finding="misdeclared_quantity", revenue_difference=1)
    assert "items" in error.value.message_dict
    with pytest.raises(ValidationError, match="no item 7"):
        record(cast, declaration, finding="misdeclared_quantity", items=[7])
    with pytest.raises(ValidationError) as error:
        record(cast, declaration, finding="no_discrepancy", revenue_difference=Decimal("10"))
    assert "revenue_difference" in error.value.message_dict
    assert not declaration.events.filter(action="inspection_done").exists()


def test_prohibited_goods_are_detained_until_another_supervisor_seizes_them(cast, api, reviewed):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    record(cast, declaration, officer=cast.supervisor, finding="prohibited_goods", items=[1])
    assert status_of(declaration) == "detained"
    # Nothing moves it on: no approval, no payment, no cancellation by the trader.
    customs = review_of(declaration, cast.customs)
    with pytest.raises(ApplicationError, match="detained"):
        review_approve(review_id=customs.pk, actor=cast.customs_officer)
    response = api.as_user(cast.trader_a).post(
        f"/api/v1/declarations/{declaration.pk}/cancel/", {"reason": "never mind"}, format="json"
    )
    assert response.status_code == 409
    told = Notification.objects.get(recipient=cast.trader_a, verb="detained")
    assert "detained" in told.text and "prohibited" not in told.text

    with pytest.raises(PermissionDenied):
        declaration_detention_decide(
            declaration_id=declaration.pk, actor=cast.customs_officer, seize=True, reason="x"
        )
    with pytest.raises(ApplicationError, match="Four eyes"):
        declaration_detention_decide(
            declaration_id=declaration.pk, actor=cast.supervisor, seize=True, reason="x"
        )
    other = UserFactory(role="supervisor", agency=cast.customs)
    assert Notification.objects.filter(recipient=other, verb="detained").exists() is False
    with pytest.raises(ValidationError):
        declaration_detention_decide(
            declaration_id=declaration.pk, actor=other, seize=True, reason=" "
        )
    declaration_detention_decide(
        declaration_id=declaration.pk, actor=other, seize=True, reason="Counterfeit handsets"
    )
    assert status_of(declaration) == "seized"
    assert set(declaration.reviews.values_list("status", flat=True)) == {"closed"}
    with pytest.raises(InvalidTransition):
        declaration_detention_decide(
            declaration_id=declaration.pk, actor=other, seize=False, reason="changed my mind"
        )
    # The supervisor's grounds are for officers; the declarant reads the seizure.
    history = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{declaration.pk}/").json()
    assert "Counterfeit" not in str(history)
    assert history["status"] == "seized"
    assert "seized" in history["history"][-1]["text"]


def test_goods_released_from_detention_go_back_to_review(cast, login, reviewed):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    record(cast, declaration, finding="undeclared_goods", items=[1])
    customs = review_of(declaration, cast.customs)
    # The customs supervisors are told, and decide from the review page.
    assert Notification.objects.filter(recipient=cast.supervisor, verb="detained").exists()
    officer_page = login(cast.customs_officer).get(f"/reviews/{customs.pk}/").content.decode()
    assert "Detained goods" not in officer_page
    browser = login(cast.supervisor)
    page = browser.get(f"/reviews/{customs.pk}/").content.decode()
    assert "Detained goods (supervisor)" in page
    response = browser.post(
        f"/reviews/{customs.pk}/detention/",
        {"decision": "release", "reason": "Undeclared spare parts, amended on the spot"},
        follow=True,
    )
    assert "Released from detention." in response.content.decode()
    assert status_of(declaration) == "under_review"
    review_approve(review_id=customs.pk, actor=cast.customs_officer)
    assert status_of(declaration) == "assessed"


def test_the_detention_api_refuses_the_wrong_people(cast, api, reviewed):
    declaration = reviewed(lane="red", hs_codes=(MEAT,))
    record(cast, declaration, finding="prohibited_goods", items=[1])
    customs, food = review_of(declaration, cast.customs), review_of(declaration, cast.food)
    body = {"decision": "seize", "reason": "Banned origin"}
    # Another agency's staff do not see customs' review; an officer is no supervisor.
    assert (
        api.as_user(cast.food_officer)
        .post(f"/api/v1/reviews/{customs.pk}/detention/", body)
        .status_code
        == 404
    )
    assert (
        api.as_user(cast.customs_officer)
        .post(f"/api/v1/reviews/{customs.pk}/detention/", body)
        .status_code
        == 403
    )
    food_supervisor = UserFactory(role="supervisor", agency=cast.food)
    assert (
        api.as_user(food_supervisor).post(f"/api/v1/reviews/{food.pk}/detention/", body).status_code
        == 403
    )
    assert api.as_user(cast.trader_a).post(
        f"/api/v1/reviews/{customs.pk}/detention/", body
    ).status_code in (403, 404)
    assert status_of(declaration) == "detained"
    response = api.as_user(cast.supervisor).post(f"/api/v1/reviews/{customs.pk}/detention/", body)
    assert response.status_code == 200, response.json()
    assert status_of(declaration) == "seized"


def test_raising_a_cleared_green_lane_puts_customs_back_to_work(cast, reviewed):
    declaration = reviewed(lane="green", hs_codes=(MEAT,))
    declaration_lane_override(
        declaration_id=declaration.pk, lane="yellow", actor=cast.supervisor, reason="Tip-off"
    )
    customs = review_of(declaration, cast.customs)
    assert (customs.status, customs.decided_by, customs.automatic_basis) == ("open", None, "")
    assert customs.inspections.get().kind == "documentary"
    review_approve(review_id=review_of(declaration, cast.food).pk, actor=cast.food_officer)
    assert status_of(declaration) == "under_review"  # customs' check is still to do


# --- agencies cleared by the permits they issued -----------------------------------------


@pytest.fixture
def standards(cast):
    """An agency that needs no look at goods covered by a permit it issued."""
    from agencies.services import jurisdiction_rule_create
    from tests.factories import AgencyFactory

    agency = AgencyFactory(code="standards", name="Product Standards")
    jurisdiction_rule_create(agency=agency, hs_prefix="8504", permit_type="Conformity certificate")
    return agency


def test_a_green_declaration_whose_permits_check_out_needs_no_officer_at_all(
    cast, standards, django_capture_on_commit_callbacks
):
    from tests.agencies.conftest import regulated_item

    charger = regulated_item("850440", holder=cast.company_a, description="Chargers")
    declaration = route(lodged(cast.trader_a, items=[charger]), lane="green")
    review = review_of(declaration, standards)
    assert (review.status, review.decided_by) == ("approved", None)
    assert "valid permit" in review.automatic_basis
    assert declaration.status == "assessed"
    with django_capture_on_commit_callbacks(execute=True):
        pay(declaration)
    assert status_of(declaration) == "released"
    assert set(declaration.events.values_list("actor", flat=True)) <= {None, cast.trader_a.pk}


def test_an_agency_cleared_by_permit_leaves_customs_its_lane_work(cast, standards):
    from tests.agencies.conftest import regulated_item

    charger = regulated_item("850440", holder=cast.company_a, description="Chargers")
    declaration = route(lodged(cast.trader_a, items=[charger]), lane="yellow")
    assert review_of(declaration, standards).status == "approved"
    assert review_of(declaration, cast.customs).status == "open"
    assert declaration.status == "under_review"


def test_an_agency_whose_jurisdiction_says_so_looks_despite_the_permit(cast, standards):
    from agencies.models import JurisdictionRule
    from tests.agencies.conftest import regulated_item

    JurisdictionRule.objects.filter(agency=standards).update(always_review=True)
    charger = regulated_item("850440", holder=cast.company_a, description="Chargers")
    declaration = route(lodged(cast.trader_a, items=[charger]), lane="green")
    assert review_of(declaration, standards).status == "open"
    assert declaration.status == "under_review"

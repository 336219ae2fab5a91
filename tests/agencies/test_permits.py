"""Permits an agency issues ahead of declarations: who issues, who sees, revocation,
and which agency slices the permits cited on them clear."""

import itertools
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from agencies.models import JurisdictionRule, Permit
from agencies.selectors import permit_cleared_reviews, slice_cleared_by_permits
from agencies.services import jurisdiction_rule_create, permit_issue, permit_revoke
from core.exceptions import InvalidTransition
from core.states import check_table
from notifications.models import Notification
from tests.agencies.conftest import MEAT, ORANGES, PHONES, review_of
from tests.factories import PermitFactory, item_data, make_declaration, open_reviews

pytestmark = pytest.mark.django_db


def in_a_year():
    return timezone.localdate() + timedelta(days=365)


def beef_permit(cast, **overrides):
    return PermitFactory(**{"issued_by": cast.food_officer, "holder": cast.company_a, **overrides})


# --- issuing ------------------------------------------------------------------


def test_every_permit_status_has_a_row_in_the_transition_table():
    check_table(Permit)


def test_an_officer_issues_a_numbered_permit_to_a_company_which_is_told(cast):
    permit = permit_issue(
        actor=cast.food_officer,
        holder_tax_id=cast.company_a.tax_id,
        permit_type="Food import notification",
        hs_prefixes=["0201", "0202"],
        origin_countries=["au", "NZ"],
        valid_until=in_a_year(),
    )
    year = f"{timezone.now():%Y}"
    second = beef_permit(cast)
    typed = beef_permit(cast, number=f"food-{year}-000007")
    after = beef_permit(cast)
    assert [p.number for p in (permit, second, typed, after)] == [
        f"FOOD-{year}-000001",
        f"FOOD-{year}-000002",
        f"FOOD-{year}-000007",
        f"FOOD-{year}-000008",
    ]
    assert (permit.agency, permit.holder, permit.status) == (cast.food, cast.company_a, "valid")
    assert permit.origin_countries == ["AU", "NZ"]
    assert permit.valid_from == timezone.localdate()
    told = Notification.objects.get(recipient=cast.trader_a, text__contains=permit.number)
    assert (told.verb, told.url) == ("permit_issued", f"/permits/{permit.pk}/")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"holder_tax_id": "NOBODY"}, "holder_tax_id"),
        ({"hs_prefixes": ["123"]}, "hs_prefixes"),
        ({"hs_prefixes": []}, "hs_prefixes"),
        ({"origin_countries": ["XYZ"]}, "origin_countries"),
        ({"permit_type": " "}, "permit_type"),
        ({"valid_until": timezone.localdate() - timedelta(days=1)}, "valid_until"),
        ({"valid_from": timezone.localdate() + timedelta(days=400)}, "valid_from"),
    ],
)
def test_an_invalid_permit_is_refused_on_its_field(cast, overrides, field):
    data = {
        "holder_tax_id": cast.company_a.tax_id,
        "permit_type": "Food import notification",
        "hs_prefixes": ["02"],
        "valid_until": in_a_year(),
        **overrides,
    }
    with pytest.raises(ValidationError) as error:
        permit_issue(actor=cast.food_officer, **data)
    assert field in error.value.message_dict
    assert not Permit.objects.exists()


def test_a_number_is_unique_within_the_agency_only(cast):
    beef_permit(cast, number="fin-2026-1")
    with pytest.raises(ValidationError) as error:
        beef_permit(cast, number="FIN-2026-1")
    assert "already issued permit FIN-2026-1" in error.value.message_dict["number"][0]
    other = PermitFactory(
        issued_by=cast.plant_officer, holder=cast.company_a, number="FIN-2026-1", permit_type="PC"
    )
    assert (other.agency, other.number) == (cast.plant, "FIN-2026-1")


@pytest.mark.parametrize("who", ["trader_a", "analyst", "admin"])
def test_only_agency_staff_issue_permits(cast, who):
    with pytest.raises(PermissionDenied):
        beef_permit(cast, issued_by=getattr(cast, who))


def test_a_permit_issued_while_reviewing_goes_to_the_declarant_for_the_slice(cast, reviewed):
    review = review_of(reviewed(hs_codes=(MEAT, ORANGES, PHONES)), cast.food)
    permit = permit_issue(review_id=review.pk, actor=cast.food_officer, valid_until=in_a_year())
    assert (permit.holder, permit.agency, permit.review) == (cast.company_a, cast.food, review)
    assert permit.hs_prefixes == [MEAT, ORANGES]


# --- pages and API --------------------------------------------------------------------


def test_an_officer_issues_from_the_page_and_finds_it_in_the_list(cast, login):
    browser = login(cast.food_officer)
    form = {
        "holder_tax_id": cast.company_b.tax_id,
        "permit_type": "Food import notification",
        "hs_prefixes": "0201, 0202",
        "origin_countries": "AU",
        "valid_until": in_a_year().isoformat(),
    }
    response = browser.post("/permits/new/", {**form, "hs_prefixes": "12x"})
    assert response.status_code == 200 and not Permit.objects.exists()
    assert "An HS prefix is 2, 4, 6, 8 or 10 digits" in response.content.decode()

    response = browser.post("/permits/new/", form)
    permit = Permit.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/permits/{permit.pk}/"
    assert (permit.holder, permit.hs_prefixes) == (cast.company_b, ["0201", "0202"])
    page = browser.get("/permits/", {"q": cast.company_b.tax_id}).content.decode()
    assert permit.number in page
    assert permit.number not in browser.get("/permits/", {"q": "9999"}).content.decode()


def test_the_api_issues_lists_and_revokes_for_the_officer_s_agency_only(cast, api):
    food = api.as_user(cast.food_officer)
    body = {
        "holder_tax_id": cast.company_a.tax_id,
        "permit_type": "Food import notification",
        "hs_prefixes": ["0201"],
        "valid_until": in_a_year().isoformat(),
    }
    created = food.post("/api/v1/permits/", body, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["agency"] == "food" and created.json()["issued_by"] == "food_officer"
    missing = food.post("/api/v1/permits/", {**body, "hs_prefixes": []}, format="json")
    assert missing.status_code == 400 and "hs_prefixes" in missing.json()["fields"]

    plant = api.as_user(cast.plant_officer)
    assert plant.get(f"/api/v1/permits/{pk}/").status_code == 404
    assert plant.post(f"/api/v1/permits/{pk}/revoke/", {"reason": "x"}).status_code == 404
    assert plant.get("/api/v1/permits/").json()["count"] == 0
    trader = api.as_user(cast.trader_a)
    assert trader.post("/api/v1/permits/", body, format="json").status_code == 403
    assert trader.post(f"/api/v1/permits/{pk}/revoke/", {"reason": "x"}).status_code == 403

    food = api.as_user(cast.food_officer)
    revoked = food.post(f"/api/v1/permits/{pk}/revoke/", {"reason": "Plant closed"})
    assert revoked.status_code == 200
    assert (revoked.json()["status"], revoked.json()["revoke_reason"]) == (
        "revoked",
        "Plant closed",
    )
    again = food.post(f"/api/v1/permits/{pk}/revoke/", {"reason": "twice"})
    assert again.status_code == 409
    assert food.get("/api/v1/permits/", {"status": "revoked"}).json()["count"] == 1


def test_a_trader_sees_only_the_permits_of_their_company_without_the_officer(cast, api, login):
    own = beef_permit(cast)
    other = PermitFactory(issued_by=cast.food_officer, holder=cast.company_b)
    listed = api.as_user(cast.trader_a).get("/api/v1/permits/").json()
    assert [row["number"] for row in listed["results"]] == [own.number]
    assert "issued_by" not in listed["results"][0]
    assert api.as_user(cast.trader_a).get(f"/api/v1/permits/{other.pk}/").status_code == 404
    page = login(cast.trader_a).get("/permits/").content.decode()
    assert own.number in page and other.number not in page
    assert f"food:{own.number}" in login(cast.trader_a).get(f"/permits/{own.pk}/").content.decode()


def test_revocation_is_recorded_and_told_and_happens_once(cast, login):
    permit = beef_permit(cast)
    with pytest.raises(ValidationError):
        permit_revoke(permit_id=permit.pk, actor=cast.food_officer, reason=" ")
    with pytest.raises(PermissionDenied):
        permit_revoke(permit_id=permit.pk, actor=cast.plant_officer, reason="not mine")
    browser = login(cast.food_officer)
    response = browser.post(f"/permits/{permit.pk}/revoke/", {"reason": "Recall 12"})
    assert response.status_code == 302
    permit.refresh_from_db()
    assert (permit.status, permit.revoked_by, permit.revoke_reason) == (
        "revoked",
        cast.food_officer,
        "Recall 12",
    )
    assert Notification.objects.filter(recipient=cast.trader_a, verb="permit_revoked").exists()
    with pytest.raises(InvalidTransition):
        permit_revoke(permit_id=permit.pk, actor=cast.food_officer, reason="again")
    page = browser.get(f"/permits/{permit.pk}/").content.decode()
    assert "Recall 12" in page and "Revoke permit" not in page


def test_always_review_is_set_on_the_jurisdiction_page(cast, login):
    browser = login(cast.admin)
    response = browser.post(
        "/jurisdiction/new/",
        {
            "agency": cast.food.pk,
            "hs_prefix": "0406",
            "permit_type": "Cheese",
            "origin_countries": "",
            "procedure_codes": "",
            "declaration_types": ["IM"],
            "always_review": "on",
        },
    )
    assert response.status_code == 302
    assert cast.food.jurisdiction.get(hs_prefix="0406").always_review
    assert "Always reviewed" in browser.get("/jurisdiction/").content.decode()
    edit = browser.get(f"/jurisdiction/{cast.food.jurisdiction.get(hs_prefix='0406').pk}/")
    assert edit.context["form"]["always_review"].value() is True


# --- which slices the cited permits clear -----------------------------------------------


invoice_numbers = (f"INV-PERMIT-{n}" for n in itertools.count(1))


@pytest.fixture
def food_clears_by_permit(cast):
    """The cast's food agency looks at everything; here it is content with its permits."""
    JurisdictionRule.objects.filter(agency=cast.food).update(always_review=False)


def opened(cast, items, *, actor=None):
    actor = actor or cast.trader_a
    declaration = make_declaration(actor=actor, items=items, invoice_number=next(invoice_numbers))
    return {r.agency.code: r for r in open_reviews(declaration)}, list(
        declaration.items.order_by("line_no")
    )


def cite(item: dict, *permits) -> dict:
    item["permits"] = [{"agency": p.agency.code, "reference": p.number} for p in permits]
    return item


def test_a_slice_all_covered_by_valid_permits_is_cleared_and_customs_never(
    cast, food_clears_by_permit
):
    beef = beef_permit(cast, hs_prefixes=["0201"])
    reviews, items = opened(cast, [cite(item_data(hs_code=MEAT), beef), item_data()])
    today = timezone.localdate()
    cleared = permit_cleared_reviews(
        reviews=list(reviews.values()), items_of={items[0].declaration_id: items}, on=today
    )
    assert cleared == {reviews["food"].pk}
    assert slice_cleared_by_permits(review=reviews["food"], items=items, on=today)
    assert not slice_cleared_by_permits(review=reviews["customs"], items=items, on=today)


@pytest.mark.parametrize(
    "case",
    ["uncited", "expired", "not_yet_valid", "revoked", "other_goods", "foreign", "always_review"],
)
def test_a_slice_is_not_cleared_when_any_item_s_permit_does_not_check_out(
    cast, case, food_clears_by_permit
):
    oranges_permit = PermitFactory(
        issued_by=cast.food_officer, holder=cast.company_a, hs_prefixes=["0805"]
    )
    beef = beef_permit(
        cast,
        hs_prefixes=["0805"] if case == "other_goods" else ["02"],
        holder=cast.company_b if case == "foreign" else cast.company_a,
        expired=case == "expired",
        not_yet_valid=case == "not_yet_valid",
    )
    if case == "revoked":
        permit_revoke(permit_id=beef.pk, actor=cast.food_officer, reason="recall")
    if case == "always_review":
        jurisdiction_rule_create(agency=cast.food, hs_prefix="0201", always_review=True)
    meat = item_data(hs_code=MEAT) if case == "uncited" else cite(item_data(hs_code=MEAT), beef)
    oranges = cite(item_data(hs_code=ORANGES), oranges_permit)
    reviews, items = opened(cast, [oranges, meat])
    assert not slice_cleared_by_permits(
        review=reviews["food"], items=items, on=timezone.localdate()
    )


def test_clearing_a_batch_costs_the_same_queries_whatever_its_size(
    cast, django_assert_num_queries, food_clears_by_permit
):
    beef = beef_permit(cast)
    batches = []
    for size in (1, 6):
        reviews, items_of = [], {}
        for _ in range(size):
            opened_reviews, items = opened(cast, [cite(item_data(hs_code=MEAT), beef)])
            reviews += opened_reviews.values()
            items_of[items[0].declaration_id] = items
        batches.append((reviews, items_of))
    for reviews, items_of in batches:
        with django_assert_num_queries(3):
            cleared = permit_cleared_reviews(
                reviews=reviews, items_of=items_of, on=timezone.localdate()
            )
        assert len(cleared) == len(items_of)

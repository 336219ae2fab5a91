"""Objects the user may not see answer 404, through the API and the pages."""

import pytest

from declarations.models import Declaration
from tests.factories import make_declaration, open_reviews

pytestmark = pytest.mark.django_db


@pytest.fixture
def declaration_of_a(cast):
    return make_declaration(actor=cast.trader_a)


@pytest.fixture
def reviewed_declaration(cast):
    """A declaration of company A with open customs, food and plant reviews."""
    from tests.factories import item_data

    declaration = make_declaration(
        actor=cast.trader_a, items=[item_data(hs_code="020130"), item_data(hs_code="080510")]
    )
    Declaration.objects.filter(pk=declaration.pk).update(status="under_review", lane="green")
    open_reviews(declaration)
    return declaration


@pytest.mark.parametrize("who", ["trader_b", "customs_officer", "food_officer", "supervisor"])
def test_others_cannot_read_a_companys_declaration(cast, api, login, declaration_of_a, who):
    user = getattr(cast, who)
    assert api.as_user(user).get(f"/api/v1/declarations/{declaration_of_a.pk}/").status_code == 404
    assert login(user).get(f"/declarations/{declaration_of_a.pk}/").status_code == 404


@pytest.mark.parametrize("who", ["trader_b", "customs_officer", "food_officer"])
def test_others_cannot_submit_a_companys_declaration(cast, api, login, declaration_of_a, who):
    user = getattr(cast, who)
    assert (
        api.as_user(user).post(f"/api/v1/declarations/{declaration_of_a.pk}/submit/").status_code
        == 404
    )
    assert login(user).post(f"/declarations/{declaration_of_a.pk}/submit/").status_code == 404
    declaration_of_a.refresh_from_db()
    assert declaration_of_a.status == "draft"


def test_the_owner_and_auditors_can_read_it(cast, api, declaration_of_a):
    for user in (cast.trader_a, cast.analyst, cast.admin):
        assert (
            api.as_user(user).get(f"/api/v1/declarations/{declaration_of_a.pk}/").status_code == 200
        )


def test_officer_cannot_read_another_agencys_review(cast, api, login, reviewed_declaration):
    food_review = reviewed_declaration.reviews.get(agency=cast.food)
    plant_review = reviewed_declaration.reviews.get(agency=cast.plant)
    for user, other in ((cast.plant_officer, food_review), (cast.food_officer, plant_review)):
        assert api.as_user(user).get(f"/api/v1/reviews/{other.pk}/").status_code == 404
        assert login(user).get(f"/reviews/{other.pk}/").status_code == 404
    for user in (cast.trader_a, cast.trader_b, cast.analyst):
        assert api.as_user(user).get(f"/api/v1/reviews/{food_review.pk}/").status_code == 404


def test_officer_sees_only_the_items_of_their_slice(cast, api, reviewed_declaration):
    food_review = reviewed_declaration.reviews.get(agency=cast.food)
    body = api.as_user(cast.food_officer).get(f"/api/v1/reviews/{food_review.pk}/").json()
    assert [item["hs_code"] for item in body["items"]] == ["020130", "080510"]
    plant_review = reviewed_declaration.reviews.get(agency=cast.plant)
    body = api.as_user(cast.plant_officer).get(f"/api/v1/reviews/{plant_review.pk}/").json()
    assert [item["hs_code"] for item in body["items"]] == ["080510"]


def test_pages_are_closed_to_the_wrong_role(cast, login):
    assert login(cast.trader_a).get("/queue/").status_code == 404
    assert login(cast.food_officer).get("/declarations/").status_code == 404
    assert login(cast.food_officer).get("/declarations/new/").status_code == 404
    assert login(cast.analyst).get("/declarations/new/").status_code == 404


def test_pages_require_login(client, declaration_of_a):
    for url in ("/declarations/", f"/declarations/{declaration_of_a.pk}/", "/queue/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")

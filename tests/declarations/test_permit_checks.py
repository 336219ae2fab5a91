"""A permit cited on an item must be one the agency issued to the declarant, for these
goods, valid on the day of lodgement and not revoked; each refusal names the item."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.services import permit_revoke
from clearance.services import declaration_submit
from declarations.models import Declaration
from tests.declarations.test_lifecycle import _form_post
from tests.factories import PermitFactory, api_payload, item_data, make_declaration

pytestmark = pytest.mark.django_db

BEEF = {"hs_code": "020130", "description": "Beef", "origin_country": "AU"}


def cited(permit, agency: str = "food") -> list[dict]:
    return [{"agency": agency, "reference": permit.number}]


def issued(cast, **overrides):
    return PermitFactory(**{"issued_by": cast.food_officer, "holder": cast.company_a, **overrides})


def lodge(api, user, items):
    body = {**api_payload(items=items), "lodge": True}
    return api.as_user(user).post("/api/v1/declarations/", body, format="json")


def refused(cast, case: str) -> tuple[list[dict], str]:
    """The second item's permits for a refusal case, and the words that name it."""
    today = timezone.localdate()
    if case == "unknown":
        return [{"agency": "food", "reference": "FOOD-2026-999999"}], (
            "Item 2: permit FOOD-2026-999999 was not issued by food."
        )
    if case == "another agency's number":
        permit = PermitFactory(
            issued_by=cast.plant_officer, holder=cast.company_a, hs_prefixes=["02"]
        )
        return cited(permit, "food"), f"Item 2: permit {permit.number} was not issued by food."
    if case == "foreign":
        permit = issued(cast, holder=cast.company_b)
        return cited(permit), f"Item 2: permit {permit.number} was issued to another company."
    if case == "other goods":
        permit = issued(cast, hs_prefixes=["0202", "0805"])
        return cited(permit), (
            f"Item 2: permit {permit.number} does not cover HS 020130 (it covers 0202, 0805)."
        )
    if case == "other origin":
        permit = issued(cast, origin_countries=["NZ"])
        return cited(permit), (
            f"Item 2: permit {permit.number} does not cover goods from AU (only from NZ)."
        )
    if case == "expired":
        permit = issued(cast, expired=True)
        return cited(permit), (
            f"Item 2: permit {permit.number} expired on {today - timedelta(days=1):%Y-%m-%d}."
        )
    if case == "not yet valid":
        permit = issued(cast, not_yet_valid=True)
        return cited(permit), (
            f"Item 2: permit {permit.number} is not valid before "
            f"{today + timedelta(days=1):%Y-%m-%d}."
        )
    assert case == "revoked"
    permit = issued(cast)
    permit_revoke(permit_id=permit.pk, actor=cast.food_officer, reason="Recall")
    return cited(permit), f"Item 2: permit {permit.number} was revoked on {today:%Y-%m-%d}."


CASES = [
    "unknown",
    "another agency's number",
    "foreign",
    "other goods",
    "other origin",
    "expired",
    "not yet valid",
    "revoked",
]


@pytest.mark.parametrize("case", CASES)
def test_the_api_refuses_a_permit_that_does_not_check_out_naming_item_and_number(cast, api, case):
    permits, message = refused(cast, case)
    response = lodge(api, cast.trader_a, [item_data(), item_data(**BEEF, permits=permits)])
    assert response.status_code == 400, response.json()
    assert response.json()["fields"]["items[1].permits"] == [message]
    assert not Declaration.objects.exists()
    # The preview refuses it the same way.
    body = api_payload(items=[item_data(), item_data(**BEEF, permits=permits)])
    preview = api.as_user(cast.trader_a).post("/api/v1/declarations/validate/", body, format="json")
    assert preview.json()["fields"]["items[1].permits"] == [message]


@pytest.mark.parametrize("case", ["foreign", "expired", "revoked"])
def test_the_form_refuses_it_next_to_the_item(cast, login, case):
    permits, message = refused(cast, case)
    body = _form_post([item_data(), item_data(**BEEF, permits=permits)], invoice_number="INV-F")
    response = login(cast.trader_a).post("/declarations/new/", {**body, "submit": "1"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Declaration.objects.exists()


def test_a_valid_permit_of_the_declarant_lodges_whatever_the_case_it_is_typed_in(cast, api):
    permit = issued(cast, hs_prefixes=["0201"], origin_countries=["AU"])
    permits = [{"agency": "food", "reference": permit.number.lower()}]
    response = lodge(api, cast.trader_b, [item_data(**BEEF, permits=cited(permit))])
    assert response.status_code == 400  # company B may not cite company A's permit
    response = lodge(api, cast.trader_a, [item_data(**BEEF, permits=permits)])
    assert response.status_code == 201, response.json()


def test_a_draft_may_cite_a_permit_not_yet_issued_but_is_checked_again_on_submit(
    cast, django_capture_on_commit_callbacks
):
    permit = issued(cast)
    draft = make_declaration(actor=cast.trader_a, items=[item_data(**BEEF, permits=cited(permit))])
    permit_revoke(permit_id=permit.pk, actor=cast.food_officer, reason="Recall")
    with pytest.raises(ValidationError) as error:
        declaration_submit(declaration=draft, actor=cast.trader_a)
    assert "was revoked on" in error.value.message_dict["items[0].permits"][0]
    assert Declaration.objects.get(pk=draft.pk).status == "draft"


def test_amending_checks_the_permits_again(cast, api, django_capture_on_commit_callbacks):
    permit = issued(cast)
    with django_capture_on_commit_callbacks(execute=False):
        created = lodge(api, cast.trader_a, [item_data(**BEEF, permits=cited(permit))])
    assert created.status_code == 201, created.json()
    permit_revoke(permit_id=permit.pk, actor=cast.food_officer, reason="Recall")
    body = api_payload(items=[item_data(**BEEF, permits=cited(permit))])
    response = api.as_user(cast.trader_a).post(
        f"/api/v1/declarations/{created.json()['id']}/amend/", body, format="json"
    )
    assert response.status_code == 400
    assert "was revoked on" in response.json()["fields"]["items[0].permits"][0]


def test_the_permits_of_a_declaration_are_read_in_one_query_whatever_their_number(cast, api):
    def statements(items: int) -> tuple[int, int]:
        permit = issued(cast)
        body = api_payload(items=[item_data(**BEEF, permits=cited(permit))] * items)
        client = api.as_user(cast.trader_a)
        client.post("/api/v1/declarations/validate/", body, format="json")  # warm caches
        with CaptureQueriesContext(connection) as queries:
            response = client.post("/api/v1/declarations/validate/", body, format="json")
        assert response.status_code == 200, response.json()
        return len([q for q in queries if '"agencies_permit"' in q["sql"]]), len(queries)

    one, eight = statements(1), statements(8)
    assert one == eight
    assert one[0] == 1

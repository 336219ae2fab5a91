import pytest

from declarations.models import Declaration, Item
from tests.factories import api_payload, item_data, make_declaration

pytestmark = pytest.mark.django_db


def test_token_is_issued_for_username_and_password(cast, client):
    response = client.post(
        "/api/v1/auth/token/", {"username": "trader_a", "password": "correct-horse-battery"}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    listed = client.get("/api/v1/declarations/", HTTP_AUTHORIZATION=f"Token {token}")
    assert listed.status_code == 200


def test_token_is_refused_for_a_wrong_password(cast, client):
    response = client.post("/api/v1/auth/token/", {"username": "trader_a", "password": "nope"})
    assert response.status_code == 400


def test_api_refuses_anonymous_requests(client):
    assert client.get("/api/v1/declarations/").status_code == 401


def test_trader_files_a_draft_with_items(cast, api):
    payload = api_payload(items=[item_data(), item_data(hs_code="020130", origin_country="AU")])
    response = api.as_user(cast.trader_a).post("/api/v1/declarations/", payload, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["lane"] == ""
    assert response["Location"] == f"/api/v1/declarations/{body['id']}/"
    detail = api.get(response["Location"]).json()
    assert [item["line_no"] for item in detail["items"]] == [1, 2]
    assert detail["history"][0]["text"] == "Draft created."
    assert detail["duties"]["currency"] == "KRW"
    declaration = Declaration.objects.get(pk=body["id"])
    assert declaration.company == cast.company_a
    assert body["reference"] == declaration.reference


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"country_of_export": "XX"}, "country_of_export"),
        ({"currency": "ABC"}, "currency"),
        ({"invoice_total": "-5"}, "invoice_total"),
        ({"items": [item_data(hs_code="12AB")]}, "items[0].hs_code"),
        ({"items": [item_data(), item_data(origin_country="ZZ")]}, "items[1].origin_country"),
        ({"items": [item_data(quantity="0")]}, "items[0].quantity"),
    ],
)
def test_invalid_declaration_names_the_field_and_stores_nothing(cast, api, overrides, field):
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/", api_payload(**overrides), format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    assert field in response.json()["detail"]
    assert Declaration.objects.count() == 0
    assert Item.objects.count() == 0


def test_declaration_without_items_is_refused(cast, api):
    payload = api_payload()
    payload["items"] = []
    response = api.as_user(cast.trader_a).post("/api/v1/declarations/", payload, format="json")
    assert response.status_code == 400
    assert "items" in response.json()["fields"]


def test_list_is_paginated_and_scoped_to_the_company(cast, api):
    for n in range(3):
        make_declaration(actor=cast.trader_a, invoice_number=f"A-{n}")
    make_declaration(actor=cast.trader_b, invoice_number="B-1")
    response = api.as_user(cast.trader_a).get("/api/v1/declarations/?page_size=2")
    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None
    assert {d["invoice_number"] for d in body["results"]} <= {"A-0", "A-1", "A-2"}


def test_submitting_twice_is_refused_with_a_clear_message(
    cast, api, django_capture_on_commit_callbacks
):
    declaration = make_declaration(actor=cast.trader_a)
    client = api.as_user(cast.trader_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert client.post(f"/api/v1/declarations/{declaration.pk}/submit/").status_code == 202
    assert len(callbacks) == 1  # scoring is queued once, after commit
    again = client.post(f"/api/v1/declarations/{declaration.pk}/submit/")
    assert again.status_code == 409
    assert "submitted declaration cannot become submitted" in again.json()["detail"]


def test_openapi_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/declarations/{id}/submit/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    assert "https://" not in html


def test_the_example_declaration_files_and_lodges_against_the_demo_data(
    api, django_capture_on_commit_callbacks
):
    import json
    from pathlib import Path

    from django.core.management import call_command

    from accounts.models import User

    call_command("seed_demo", verbosity=0)
    client = api.as_user(User.objects.get(username="trader_a"))
    example = json.loads((Path(__file__).parents[2] / "examples" / "declaration.json").read_text())
    response = client.post("/api/v1/declarations/", example, format="json")
    assert response.status_code == 201, response.json()
    assert len(client.get(response["Location"]).json()["items"]) == len(example["items"])
    with django_capture_on_commit_callbacks(execute=False):
        submitted = client.post(f"/api/v1/declarations/{response.json()['id']}/submit/")
    assert submitted.status_code == 202, submitted.json()


def test_a_declaration_is_lodged_in_one_call_and_queued_for_scoring(
    cast, api, django_capture_on_commit_callbacks
):
    client = api.as_user(cast.trader_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/api/v1/declarations/", {**api_payload(), "lodge": True}, format="json"
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "submitted"
    assert body["submitted_at"] is not None
    assert len(callbacks) == 1  # the scoring task, sent once the filing commits
    detail = client.get(response["Location"]).json()
    assert [e["text"] for e in detail["history"]] == ["Lodged. The risk assessment follows."]
    assert detail["duties"]["total"] is not None
    # Lodged, it is no longer a draft: it cannot be submitted again.
    again = client.post(f"/api/v1/declarations/{body['id']}/submit/")
    assert again.status_code == 409

"""Hostile or broken input and a broken database get clear answers, never a 500."""

import pytest

from declarations.models import Declaration
from tests.factories import api_payload, consistent_header, item_data

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("opening", ["[", '{"a":'], ids=["arrays", "objects"])
def test_deeply_nested_json_is_refused_with_400(cast, api, opening):
    body = opening * 1000 + "1" + ("]" if opening == "[" else "}") * 1000
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON nested too deeply"}
    assert not Declaration.objects.exists()


def test_nesting_just_past_the_limit_is_refused_with_400(cast, api):
    # Shallow enough for the json module: our own limit refuses it.
    body = "[" * 65 + "]" * 65
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON nested too deeply"}


def test_ordinary_nesting_still_files_a_declaration(cast, api):
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/", api_payload(), format="json"
    )
    assert response.status_code == 201, response.json()


def test_page_forms_are_not_affected_by_the_json_limit(cast, login):
    items = [item_data()]
    body = {k: str(v) for k, v in consistent_header(items, invoice_number="INV-PAGE").items()}
    body.update({"items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "0"})
    body.update({f"items-0-{key}": str(value) for key, value in items[0].items()})
    response = login(cast.trader_a).post("/declarations/new/", body)
    assert response.status_code == 302
    assert Declaration.objects.get().invoice_number == "INV-PAGE"

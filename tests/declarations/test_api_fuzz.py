"""Malformed payloads thrown at the API: never a 500, never a partial write."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from declarations.models import Declaration, DeclarationEvent, Item
from tests.factories import api_payload

pytestmark = pytest.mark.django_db

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", "0", "-1", "1e400", "NaN", "Infinity", "851713", "KR", "USD", "٣"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
BASE = api_payload()
HEADER_KEYS = [k for k in BASE if k != "items"]
ITEM_KEYS = list(BASE["items"][0])


@st.composite
def mutated_payloads(draw):
    payload = {k: v for k, v in BASE.items() if k != "items"}
    items = [dict(BASE["items"][0]) for _ in range(draw(st.integers(0, 3)))]
    for _ in range(draw(st.integers(1, 4))):
        if items and draw(st.booleans()):
            item = draw(st.sampled_from(items))
            key = draw(st.sampled_from([*ITEM_KEYS, "permits", "unknown"]))
            if draw(st.booleans()):
                item[key] = draw(json_values)
            else:
                item.pop(key, None)
        else:
            key = draw(st.sampled_from([*HEADER_KEYS, "status", "lane", "company"]))
            if draw(st.booleans()):
                payload[key] = draw(json_values)
            else:
                payload.pop(key, None)
    payload["items"] = draw(st.one_of(st.just(items), json_values))
    return payload


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=mutated_payloads())
def test_malformed_declarations_are_refused_cleanly(cast, api, payload):
    client = api.as_user(cast.trader_a)
    before = (Declaration.objects.count(), Item.objects.count(), DeclarationEvent.objects.count())
    response = client.post("/api/v1/declarations/", payload, format="json")
    assert response.status_code in (201, 400), response.content[:500]
    body = response.json()
    if response.status_code == 400:
        assert body["fields"], body
        assert (
            Declaration.objects.count(),
            Item.objects.count(),
            DeclarationEvent.objects.count(),
        ) == before
    else:
        # Whatever was accepted is a whole draft of the trader's own company.
        declaration = Declaration.objects.get(pk=body["id"])
        assert declaration.company == cast.company_a
        assert declaration.status == "draft"
        assert declaration.items.count() >= 1


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values)
def test_any_json_body_gets_a_clear_answer(cast, api, body):
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/validate/", body, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"]

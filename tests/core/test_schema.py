"""The OpenAPI schema says what the API answers: checked by reading it, and by
schemathesis calling every operation as several roles and holding each answer
to the schema."""

import pytest
from django.core.management import call_command

PAGINATED_LISTS = [
    "/api/v1/declarations/",
    "/api/v1/reviews/",
    "/api/v1/permits/",
    "/api/v1/queries/",
    "/api/v1/lane-proposals/",
    "/api/v1/notifications/",
]


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def resolve(openapi: dict, schema: dict) -> dict:
    while "$ref" in schema or "allOf" in schema:
        if "allOf" in schema:
            schema = schema["allOf"][0]
        else:
            name = schema["$ref"].rsplit("/", 1)[1]
            schema = openapi["components"]["schemas"][name]
    return schema


def response_schema(openapi: dict, path: str, method: str = "get", code: str = "200") -> dict:
    content = openapi["paths"][path][method]["responses"][code]["content"]
    return resolve(openapi, content["application/json"]["schema"])


def test_the_schema_validates_without_a_warning(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )


@pytest.mark.parametrize("path", PAGINATED_LISTS)
def test_paginated_lists_are_documented_as_the_page_they_answer(openapi, path):
    page = response_schema(openapi, path)
    assert page["type"] == "object"
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    assert page["properties"]["results"]["type"] == "array"
    assert {"count", "results"} <= set(page["required"])
    parameters = {p["name"] for p in openapi["paths"][path]["get"].get("parameters", [])}
    assert {"page", "page_size"} <= parameters


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("ReviewListOutput", "assigned_to"),  # unclaimed
        ("ReviewDetailOutput", "decided_by"),  # undecided
        ("QueryOutput", "answered_by"),  # unanswered
        ("DocumentOutput", "item"),  # a document of the whole declaration
        ("Event", "actor"),  # the system's own steps
        ("InspectionOutput", "recorded_by"),  # ordered, not yet recorded
        ("LaneProposalOutput", "decided_by"),  # waiting
        ("PermitStaffOutput", "review"),  # issued ahead of any declaration
    ],
)
def test_fields_that_can_be_null_are_documented_nullable(openapi, component, field):
    schema = openapi["components"]["schemas"][component]["properties"][field]
    assert schema.get("nullable") is True, schema


def test_errors_are_documented_with_their_body(openapi):
    lodge = openapi["paths"]["/api/v1/declarations/"]["post"]["responses"]
    assert {"400", "401", "403", "409", "422"} <= set(lodge)
    invalid = response_schema(openapi, "/api/v1/declarations/", "post", "400")
    assert {"detail", "fields"} <= set(invalid["properties"])

    detail = openapi["paths"]["/api/v1/declarations/{id}/"]["get"]["responses"]
    assert {"401", "404"} <= set(detail)
    assert response_schema(openapi, "/api/v1/declarations/{id}/", "get", "404")["required"] == [
        "detail"
    ]
    # An explicit description keeps its words and gets the body.
    claim = response_schema(openapi, "/api/v1/reviews/{id}/claim/", "post", "409")
    assert "detail" in claim["properties"]

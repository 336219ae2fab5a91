"""What an export must say to be lodged, each refusal naming its field, and the
procedure each type is under when the declarant names none."""

import pytest

from declarations.models import Declaration
from tests.factories import api_payload, export_item_data, export_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def lodge(cast, api, django_capture_on_commit_callbacks):
    """POST a declaration with `lodge: true` as company A's trader; the risk task queued
    on commit is not wanted here."""

    def post(body):
        with django_capture_on_commit_callbacks(execute=False):
            return api.as_user(cast.trader_a).post(
                "/api/v1/declarations/", {**body, "lodge": True}, format="json"
            )

    return post


def test_a_complete_export_lodges(lodge):
    response = lodge(export_payload())
    assert response.status_code == 201, response.json()
    assert (response.json()["type"], response.json()["status"]) == ("EX", "submitted")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"country_of_destination": "KR"},
            "country_of_destination",
            "An export goes to another country than KR: name the country of destination.",
        ),
        ({"country_of_export": "CN"}, "country_of_export", "An export leaves from KR."),
        ({"exporter_name": ""}, "exporter_name", "An export declaration names the exporter."),
        (
            {"procedure": "4000"},
            "procedure",
            "Procedure 4000 does not fit the declaration's type: an export is under 1000 to "
            "3999 (1000: permanent export).",
        ),
        (
            {"office_of_exit": ""},
            "office_of_exit",
            "An export names the office of exit the goods leave by.",
        ),
    ],
)
def test_each_export_rule_names_its_field(lodge, change, field, message):
    response = lodge(export_payload(**change))
    assert response.status_code == 400
    assert response.json()["fields"] == {field: [message]}
    assert not Declaration.objects.exists()


def test_an_export_claims_no_preference(lodge):
    claimed = export_item_data(preference="korus", certificate_of_origin="CO-1")
    response = lodge(export_payload(items=[claimed]))
    assert response.status_code == 400
    # One error, on the claim itself: the agreement's own conditions are beside the point.
    assert response.json()["fields"] == {
        "items[0].preference": [
            "An export claims no preference: the country of import grants it, on the "
            "certificate of origin sent with the goods."
        ]
    }


def test_an_export_procedure_other_than_permanent_export_is_accepted(lodge):
    # 2300: temporary export for return (a trade fair, say).
    response = lodge(export_payload(procedure="2300"))
    assert response.status_code == 201, response.json()
    assert Declaration.objects.get().procedure == "2300"


@pytest.mark.parametrize(
    ("procedure", "accepted"), [("4000", True), ("7100", True), ("1000", False), ("8000", False)]
)
def test_an_import_is_under_an_import_procedure(lodge, procedure, accepted):
    response = lodge(api_payload(procedure=procedure))
    assert (response.status_code == 201) is accepted, response.json()
    if not accepted:
        assert response.json()["fields"] == {
            "procedure": [
                f"Procedure {procedure} does not fit the declaration's type: an import is under "
                "4000 to 7999 (4000: release for free circulation)."
            ]
        }


def test_a_transit_movement_is_under_a_transit_procedure(cast, api):
    # Checked at lodgement only; a draft shows it too on the validate call.
    body = api_payload(
        type="TR", procedure="4000", office_of_entry="", office_of_departure="KRPUS",
        office_of_destination="KRSEL",
    )  # fmt: skip
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/validate/", body, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["procedure"] == [
        "Procedure 4000 does not fit the declaration's type: a transit movement is under "
        "8000 to 8999 (8000: transit)."
    ]


@pytest.mark.parametrize(("type_", "procedure"), [("EX", "1000"), ("TR", "8000"), ("IM", "4000")])
def test_a_declaration_naming_no_procedure_is_under_the_usual_one_of_its_type(
    cast, api, type_, procedure
):
    body = export_payload() if type_ == "EX" else api_payload(type=type_)
    del body["procedure"]
    response = api.as_user(cast.trader_a).post("/api/v1/declarations/", body, format="json")
    assert response.status_code == 201, response.json()
    assert Declaration.objects.get(pk=response.json()["id"]).procedure == procedure


def test_the_form_leaves_the_procedure_to_the_type(cast, login):
    browser = login(cast.trader_a)
    body = export_payload()
    form = {k: v for k, v in body.items() if k != "items"}
    form.update(procedure="", itinerary="")
    for key, value in body["items"][0].items():
        form[f"items-0-{key}"] = value
    form.update({"items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "0", "items-MIN_NUM_FORMS": "1"})
    response = browser.post("/declarations/new/", form)
    assert response.status_code == 302, response.context["form"].errors
    assert Declaration.objects.get().procedure == "1000"
    page = browser.get("/declarations/new/").content.decode()
    assert "Empty: 4000 for an import (release for free circulation), 1000 for an export" in page

"""A jurisdiction rule names the declarations it applies to: an import notification is
not asked of exports, and an export licence is asked of exports only."""

import pytest
from django.core.exceptions import ValidationError

from agencies.models import JurisdictionRule
from agencies.services import jurisdiction_rule_create
from clearance.services import declaration_submit
from declarations.models import Declaration
from tests.factories import (
    AgencyFactory,
    PermitFactory,
    UserFactory,
    api_payload,
    export_item_data,
    export_payload,
    item_data,
    make_export,
    route,
)

pytestmark = pytest.mark.django_db

BEEF = "020130"  # the cast's food agency: "Food import notification", imports only
PROCESSORS = "854231"


@pytest.fixture
def strategic(cast):
    """An export-control office: processors (dual-use) need its licence to leave."""
    agency = AgencyFactory(code="strategic", name="Strategic Trade Control Office")
    jurisdiction_rule_create(
        agency=agency,
        hs_prefix="854231",
        permit_type="Strategic export licence",
        description="Processors and controllers (dual-use)",
        declaration_types=["EX"],
    )
    agency.officer = UserFactory(username="strategic_officer", role="officer", agency=agency)
    return agency


def lodge(api, user, body):
    return api.as_user(user).post("/api/v1/declarations/", {**body, "lodge": True}, format="json")


def test_a_rule_applies_to_imports_unless_it_says_otherwise(cast):
    rule = jurisdiction_rule_create(agency=cast.food, hs_prefix="0406", permit_type="Cheese")
    assert rule.declaration_types == ["IM"]
    # The cast's rules, like every rule written before rules had types (the migration
    # gave them this default), are import rules.
    types = JurisdictionRule.objects.values_list("declaration_types", flat=True)
    assert all(t == ["IM"] for t in types)


def test_a_rule_names_at_least_one_type(cast):
    with pytest.raises(ValidationError) as error:
        jurisdiction_rule_create(agency=cast.food, hs_prefix="0406", declaration_types=[])
    assert "declaration_types" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        jurisdiction_rule_create(agency=cast.food, hs_prefix="0406", declaration_types=["XX"])
    assert "declaration_types" in error.value.message_dict


def test_exporting_beef_needs_no_food_import_notification(
    cast, api, django_capture_on_commit_callbacks
):
    beef = export_item_data(hs_code=BEEF, description="Frozen beef", unit="KGM")
    with django_capture_on_commit_callbacks(execute=False):
        response = lodge(api, cast.trader_a, export_payload(items=[beef]))
    assert response.status_code == 201, response.json()
    declaration = route(make_export_from(response), lane="yellow")
    # Customs alone reviews it: the food agency's rule is about beef coming in.
    assert {r.agency.code for r in declaration.reviews.all()} == {"customs"}

    # The same beef imported does need it.
    response = lodge(
        api, cast.trader_a, api_payload(items=[item_data(hs_code=BEEF)], invoice_number="INV-BEEF")
    )
    assert response.status_code == 400
    assert "Food import notification" in response.json()["fields"]["items[0].permits"][0]


def make_export_from(response):
    return Declaration.objects.get(pk=response.json()["id"])


def test_an_export_licence_is_asked_of_exports_only(
    cast, api, strategic, django_capture_on_commit_callbacks
):
    chips = export_item_data(hs_code=PROCESSORS, description="Processors", value="50000.00")
    response = lodge(api, cast.trader_a, export_payload(items=[chips]))
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "items[0].permits": [
            f"HS {PROCESSORS} needs a Strategic export licence from Strategic Trade Control Office."
        ]
    }

    # Imported, the same processors need no export licence.
    imported = item_data(hs_code=PROCESSORS, description="Processors", value="50000.00")
    with django_capture_on_commit_callbacks(execute=False):
        response = lodge(api, cast.trader_a, api_payload(items=[imported], invoice_number="IN-1"))
    assert response.status_code == 201, response.json()

    # With the licence the office issued the exporter, the export lodges and the office
    # reviews its slice.
    licence = PermitFactory(
        issued_by=strategic.officer,
        holder=cast.company_a,
        permit_type="Strategic export licence",
        hs_prefixes=[PROCESSORS],
    )
    chips["permits"] = [{"agency": "strategic", "reference": licence.number}]
    with django_capture_on_commit_callbacks(execute=False):
        response = lodge(api, cast.trader_a, export_payload(items=[chips], invoice_number="EX-1"))
    assert response.status_code == 201, response.json()
    declaration = route(make_export_from(response), lane="yellow")
    assert {r.agency.code for r in declaration.reviews.all()} == {"customs", "strategic"}


def test_the_jurisdiction_page_sets_the_types(cast, login):
    browser = login(cast.admin)
    form = {
        "agency": cast.food.pk,
        "hs_prefix": "9701",
        "permit_type": "Cultural property export permit",
        "origin_countries": "",
        "procedure_codes": "",
    }
    refused = browser.post("/jurisdiction/new/", form)
    assert refused.status_code == 200
    assert refused.context["form"].errors["declaration_types"] == ["This field is required."]

    response = browser.post("/jurisdiction/new/", {**form, "declaration_types": ["EX", "TR"]})
    assert response.status_code == 302
    assert JurisdictionRule.objects.get(hs_prefix="9701").declaration_types == ["EX", "TR"]
    page = browser.get("/jurisdiction/").content.decode()
    assert "EX, TR" in page
    edit = browser.get(f"/jurisdiction/{JurisdictionRule.objects.get(hs_prefix='9701').pk}/")
    assert edit.context["form"]["declaration_types"].value() == ["EX", "TR"]


def test_an_export_of_goods_an_import_rule_covers_is_not_held_for_its_permit(
    cast, django_capture_on_commit_callbacks
):
    """The permit check and the routing agree: no review, and nothing to clear by permit."""
    declaration = make_export(
        actor=cast.trader_a, items=[export_item_data(hs_code="080510", description="Oranges")]
    )
    with django_capture_on_commit_callbacks(execute=False):
        declaration_submit(declaration=declaration, actor=cast.trader_a)
    declaration = route(declaration, lane="green")
    # Green, customs alone: cleared at once, nothing due, released for exit.
    assert declaration.status == "released"
    assert {r.agency.code for r in declaration.reviews.all()} == {"customs"}

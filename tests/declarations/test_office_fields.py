"""The declaration form offers the active customs offices and says which a type needs;
the API keeps taking their codes."""

import re

import pytest

from declarations.models import Declaration
from reference.lookups import clear_caches
from reference.models import Office
from tests.declarations.test_lifecycle import _form_post
from tests.factories import item_data, make_declaration

pytestmark = pytest.mark.django_db


def options(page: str, field: str) -> list[str]:
    select = re.search(rf'<select name="{field}"[^>]*>(.*?)</select>', page, re.S)
    assert select, field
    return re.findall(r'<option value="([^"]*)"', select[1])


def test_the_office_fields_are_selects_of_the_active_offices(cast, login):
    Office.objects.filter(code="KRDRS").update(active=False)
    page = login(cast.trader_a).get("/declarations/new/").content.decode()
    for field in ("office_of_entry", "office_of_departure", "office_of_exit"):
        offered = options(page, field)
        assert offered[0] == "" and "KRPUS" in offered and "KRICN" in offered
        assert "KRDRS" not in offered
    assert ">KRICN Incheon Airport Customs (airport)</option>" in page
    # Which type needs which office: said next to the field, and marked by app.js.
    assert "Imports: the office where the goods enter the country." in page
    assert "Transit: the office where the movement ends." in page
    assert 'data-office-for="EX TR"' in page


def test_a_draft_saved_from_the_form_names_the_office_chosen(cast, login):
    body = _form_post([item_data()], invoice_number="INV-OFFICE-1", office_of_entry="KRICN")
    response = login(cast.trader_a).post("/declarations/new/", body)
    assert response.status_code == 302
    assert Declaration.objects.get(invoice_number="INV-OFFICE-1").office_of_entry == "KRICN"


def test_a_code_that_is_no_office_is_refused_on_its_field(cast, login):
    body = _form_post([item_data()], invoice_number="INV-OFFICE-2", office_of_entry="XXNOPE")
    response = login(cast.trader_a).post("/declarations/new/", body)
    assert response.status_code == 200
    assert "office_of_entry" in response.context["form"].errors
    assert not Declaration.objects.filter(invoice_number="INV-OFFICE-2").exists()


def test_a_draft_naming_an_office_closed_since_shows_it_and_lodgement_refuses_it(cast, login):
    draft = make_declaration(actor=cast.trader_a, office_of_entry="KRINC")
    Office.objects.filter(code="KRINC").update(active=False)
    clear_caches()  # as REFERENCE_CACHE_SECONDS later
    browser = login(cast.trader_a)
    page = browser.get(f"/declarations/{draft.pk}/edit/").content.decode()
    assert "KRINC (not an active customs office)" in page
    assert 'value="KRINC" selected' in page
    body = {**_form_post([item_data()], invoice_number=draft.invoice_number), "submit": "1"}
    body["office_of_entry"] = "KRINC"
    response = browser.post(f"/declarations/{draft.pk}/edit/", body)
    assert response.status_code == 200
    assert "KRINC is not a customs office." in response.content.decode()
    assert Declaration.objects.get(pk=draft.pk).status == "draft"

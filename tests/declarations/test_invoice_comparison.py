"""The declaration against its invoice: each disagreement found, shown to the declarant
before lodging as a warning, side by side to customs, slice by slice to other agencies,
and to nobody who may not see the declaration."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clearance.services import declaration_submit
from declarations.models import Declaration, InvoiceReading
from declarations.reading.comparison import invoice_comparison, normalised_name, same_party
from declarations.tasks import read_invoice
from tests.declarations.invoice_pdfs import (
    LAYOUTS,
    InvoiceSpec,
    Line,
    Party,
    invoice_pdf,
    scanned_invoice,
    table_invoice,
)
from tests.declarations.invoicing import attach_invoice, declared_from, items_of
from tests.factories import api_payload, item_data, make_declaration, open_reviews

pytestmark = pytest.mark.django_db

SPEC = InvoiceSpec()  # 100 phones, 200 chargers, 500 cables: 14,000.00 USD


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def compared(declaration):
    return invoice_comparison(Declaration.objects.get(pk=declaration.pk))


@pytest.fixture
def mismatched(cast):
    """Declared in euros, from another seller, 90 phones instead of 100, chargers worth
    1,200.00 instead of 1,500.00: the invoice says otherwise on all four."""
    items = items_of(SPEC, {1: {"quantity": Decimal("90")}, 2: {"value": Decimal("1200.00")}})
    declaration = declared_from(
        SPEC,
        actor=cast.trader_a,
        items=items,
        currency="EUR",
        exporter_name="Guangzhou Electronics Trading Ltd.",
        invoice_total=Decimal("13700.00"),
    )
    attach_invoice(declaration, table_invoice(SPEC))
    return declaration


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_an_invoice_that_agrees_shows_no_difference(cast, api, layout):
    content, spec = invoice_pdf(layout)
    declaration = declared_from(spec, actor=cast.trader_a)
    attach_invoice(declaration, content)
    check = compared(declaration)
    assert check.status == "read"
    assert check.differences == ()
    assert check.gaps == ()
    assert all(row.agrees for row in check.fields)
    assert all(row.agrees for row in check.lines)


def test_each_material_disagreement_is_found(mismatched):
    check = compared(mismatched)
    assert check.material_kinds == ["value", "quantity", "currency", "seller"]
    assert [d.text for d in check.differences] == [
        "Currency: declared EUR, the invoice is in USD.",
        "Invoice total: declared 13,700.00 EUR, the invoice says 14,000.00 USD.",
        "Seller: the invoice names Shenzhen Mobile Devices Co., Ltd.; the declaration's "
        "exporter or consignor is Guangzhou Electronics Trading Ltd.",
        "Item 1 (Smartphones, 128 GB): quantity declared 90, the invoice says 100.",
        "Item 2 (Phone chargers, 25 W): value declared 1,200.00 EUR, the invoice says "
        "1,500.00 USD.",
    ]
    assert [d.line_no for d in check.differences] == [None, None, None, 1, 2]
    assert all(d.material for d in check.differences)
    assert check.summary == "currency, value, seller and quantity"
    side_by_side = {row.label: row.agrees for row in check.fields}
    assert side_by_side == {
        "Invoice number": True,
        "Currency": False,
        "Invoice total": False,
        "Seller": False,
        "Buyer": True,
    }


def test_a_different_invoice_number_or_buyer_is_shown_but_not_material(cast):
    declaration = declared_from(
        SPEC, actor=cast.trader_a, invoice_number="INV-2026-999", importer_name="Daewoo Retail"
    )
    attach_invoice(declaration, table_invoice(SPEC))
    check = compared(declaration)
    assert [(d.kind, d.material) for d in check.differences] == [
        ("number", False),
        ("buyer", False),
    ]
    assert check.material_kinds == []


def test_names_are_compared_without_case_punctuation_or_legal_form():
    assert normalised_name("HANBIT TRADING CO.") == "hanbit trading"
    assert same_party("Shenzhen Mobile Devices Co., Ltd.", "Shenzhen Mobile Devices Ltd")
    assert same_party("Müller Maschinenbau GmbH", "MULLER MASCHINENBAU")
    assert same_party("Pacific Coast Lumber, Inc.", "Pacific Coast Lumber Incorporated")
    assert same_party("Shenzen Mobile Devices Ltd", "Shenzhen Mobile Devices Ltd")  # a typo
    assert not same_party("Shenzhen Mobile Devices Ltd", "Shenzhen Mobile Displays Ltd")
    assert not same_party("Hanbit Trading Co.", "Hanbit Logistics Co.")


def test_the_seller_may_be_declared_as_the_consignor(cast):
    declaration = declared_from(
        SPEC, actor=cast.trader_a, exporter_name="", consignor_name="SHENZHEN MOBILE DEVICES"
    )
    attach_invoice(declaration, table_invoice(SPEC))
    assert compared(declaration).differences == ()


def test_totals_agree_within_rounding_not_beyond(cast):
    close = declared_from(SPEC, actor=cast.trader_a, invoice_total=Decimal("14000.40"))
    attach_invoice(close, table_invoice(SPEC))
    assert compared(close).differences == ()
    far = declared_from(
        SPEC, actor=cast.trader_a, invoice_number="INV-FAR", invoice_total=Decimal("14100.00")
    )
    attach_invoice(far, table_invoice(InvoiceSpec(number="INV-FAR")))
    assert [d.kind for d in compared(far).differences] == ["value"]


def test_lines_pair_by_description_whatever_their_order(cast):
    declaration = declared_from(SPEC, actor=cast.trader_a, items=list(reversed(items_of(SPEC))))
    attach_invoice(declaration, table_invoice(SPEC))
    check = compared(declaration)
    assert check.differences == ()
    assert [(row.line_no, row.invoice_line) for row in check.lines] == [(1, 3), (2, 2), (3, 1)]


def test_goods_on_one_side_only_are_material(cast):
    tablets = item_data(description="Tablet computers", value=Decimal("500.00"))
    declared = [*items_of(SPEC)[:2], tablets]
    spec = InvoiceSpec(lines=(*SPEC.lines, Line("Screen protectors", Decimal("50"), Decimal("1"))))
    declaration = declared_from(spec, actor=cast.trader_a, items=declared)
    attach_invoice(declaration, table_invoice(spec))
    texts = [d.text for d in compared(declaration).differences if d.kind == "quantity"]
    # The cables and the protectors are only on the invoice; the tablets only declared
    # (paired, in order, with what is left: the cables).
    assert texts == [
        "Item 3 (Tablet computers): quantity declared 100, the invoice says 500.",
        "1 invoice line is not declared: 4. Screen protectors.",
    ]


def test_a_scan_is_compared_with_nothing(cast):
    declaration = declared_from(SPEC, actor=cast.trader_a)
    attach_invoice(declaration, scanned_invoice(SPEC))
    check = compared(declaration)
    assert (check.status, check.differences, check.material_kinds) == ("not_readable", (), [])


def test_the_latest_invoice_is_the_one_compared(cast):
    declaration = declared_from(SPEC, actor=cast.trader_a)
    attach_invoice(declaration, table_invoice(InvoiceSpec(currency="CNY")))
    assert compared(declaration).material_kinds == ["currency"]
    attach_invoice(declaration, table_invoice(SPEC))  # the right one, uploaded after
    assert compared(declaration).differences == ()


# ---- the declarant, before lodging ------------------------------------------------------------


def test_the_draft_page_tells_the_declarant_where_they_disagree(cast, login, mismatched):
    page = login(cast.trader_a).get(f"/declarations/{mismatched.pk}/").content.decode()
    assert "The invoice and the declaration disagree on: currency, value, seller and quantity" in (
        page
    )
    assert "Item 1 (Smartphones, 128 GB): quantity declared 90, the invoice says 100." in page
    assert "you may lodge as it is" in page
    # The declarant reads the differences, never how targeting weighs them.
    assert 'data-testid="invoice-side-by-side"' not in page
    assert "(material)" not in page


def test_the_disagreement_does_not_stop_the_lodgement(
    cast, mismatched, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        submitted = declaration_submit(declaration=mismatched, actor=cast.trader_a)
    assert submitted.status == "submitted"


def test_a_pending_reading_polls_until_it_is_read(cast, api, login):
    declaration = declared_from(SPEC, actor=cast.trader_a)
    response = api.as_user(cast.trader_a).post(
        f"/api/v1/declarations/{declaration.pk}/documents/",
        {"kind": "invoice", "file": SimpleUploadedFile("inv.pdf", table_invoice(SPEC))},
        format="multipart",
    )
    browser = login(cast.trader_a)
    page = browser.get(f"/declarations/{declaration.pk}/").content.decode()
    assert "Reading the invoice inv.pdf" in page
    assert f'hx-get="/declarations/{declaration.pk}/invoice-check/"' in page
    read_invoice(InvoiceReading.objects.get(document_id=response.json()["id"]).pk)
    panel = browser.get(f"/declarations/{declaration.pk}/invoice-check/").content.decode()
    assert "agrees with the declaration" in panel
    assert "hx-trigger" not in panel  # read: the panel stops polling


def test_the_forms_check_warns_without_blocking(cast, login, mismatched):
    browser = login(cast.trader_a)
    form = browser.get(f"/declarations/{mismatched.pk}/edit/")
    assert form.status_code == 200
    data = {
        **{k: v for k, v in form.context["form"].initial.items() if v is not None},
        "declaration_pk": str(mismatched.pk),
        "items-TOTAL_FORMS": "3",
        "items-INITIAL_FORMS": "3",
        "items-MIN_NUM_FORMS": "1",
        "items-MAX_NUM_FORMS": "1000",
    }
    for index, item in enumerate(form.context["formset"].initial):
        for key, value in item.items():
            if key != "permits" and value is not None:
                data[f"items-{index}-{key}"] = str(value)
    data["itinerary"] = ""
    check = browser.post("/declarations/check/", data).content.decode()
    assert 'data-testid="check-ok"' in check  # ready to lodge...
    assert "disagree on: currency, value, seller and quantity" in check  # ...with warnings
    data["declaration_pk"] = str(make_declaration(actor=cast.trader_b, invoice_number="B-1").pk)
    assert browser.post("/declarations/check/", data).status_code == 404


def test_the_validate_api_returns_the_differences_as_warnings(cast, api, mismatched):
    client = api.as_user(cast.trader_a)
    payload = api_payload(
        items=items_of(SPEC, {1: {"quantity": Decimal("90")}}),
        invoice_number=SPEC.number,
        exporter_name=SPEC.seller.name,
        importer_name=SPEC.buyer.name,
    )
    response = client.post(
        "/api/v1/declarations/validate/", {**payload, "declaration": mismatched.pk}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["valid"] is True
    assert body["warnings"] == [
        "Item 1 (Smartphones, 128 GB): quantity declared 90, the invoice says 100."
    ]
    assert body["invoice"]["status"] == "read"
    assert body["invoice"]["differences"] == [
        {
            "kind": "quantity",
            "material": True,
            "item": 1,
            "message": "Item 1 (Smartphones, 128 GB): quantity declared 90, the invoice says 100.",
        }
    ]
    # Without a draft there is no invoice to compare with.
    payload["invoice_number"] = "INV-NOT-YET-FILED"
    plain = client.post("/api/v1/declarations/validate/", payload, format="json").json()
    assert (plain["warnings"], plain["invoice"]["status"]) == ([], "none")


@pytest.mark.parametrize("who", ["trader_b", "customs_officer"])
def test_the_validate_api_names_no_one_elses_draft(cast, api, mismatched, who):
    response = api.as_user(getattr(cast, who)).post(
        "/api/v1/declarations/validate/",
        {**api_payload(invoice_number="X-1"), "declaration": mismatched.pk},
        format="json",
    )
    assert response.status_code == 404


def test_the_declaration_api_carries_the_invoice_check(cast, api, mismatched):
    body = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{mismatched.pk}/").json()
    check = body["invoice_check"]
    assert check["status"] == "read"
    assert check["disagrees_on"] == "currency, value, seller and quantity"
    assert len(check["differences"]) == 5


def test_the_reading_itself_is_the_declarants_and_the_auditors(cast, api, mismatched):
    document = mismatched.documents.get()
    url = f"/api/v1/declarations/{mismatched.pk}/documents/{document.pk}/reading/"
    for user in (cast.trader_a, cast.analyst, cast.admin):
        body = api.as_user(user).get(url).json()
        assert (body["status"], body["invoice_number"], body["total"]) == (
            "read", SPEC.number, "14000.00"
        )  # fmt: skip
        assert body["invoice_date"] == str(date(2026, 3, 15))
        assert body["lines"][0] == {
            "description": "Smartphones, 128 GB", "quantity": "100", "unit_price": "120.00",
            "amount": "12000.00",
        }  # fmt: skip
    for user in (cast.trader_b, cast.customs_officer, cast.food_officer):
        assert api.as_user(user).get(url).status_code == 404


def test_a_document_that_is_not_an_invoice_has_no_reading(cast, api):
    declaration = make_declaration(actor=cast.trader_a)
    client = api.as_user(cast.trader_a)
    response = client.post(
        f"/api/v1/declarations/{declaration.pk}/documents/",
        {"kind": "packing_list", "file": SimpleUploadedFile("p.pdf", table_invoice())},
        format="multipart",
    )
    url = f"/api/v1/declarations/{declaration.pk}/documents/{response.json()['id']}/reading/"
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("who", ["trader_b", "customs_officer", "food_officer"])
def test_others_cannot_see_the_check(cast, login, mismatched, who):
    browser = login(getattr(cast, who))
    assert browser.get(f"/declarations/{mismatched.pk}/invoice-check/").status_code == 404


def test_reading_the_invoice_adds_no_statement_to_the_declaration(cast, api, login):
    declaration = declared_from(SPEC, actor=cast.trader_a)
    client, browser = api.as_user(cast.trader_a), login(cast.trader_a)

    def statements(url, get):
        get(url)
        with CaptureQueriesContext(connection) as queries:
            assert get(url).status_code == 200
        return len(queries)

    page, detail = f"/declarations/{declaration.pk}/", f"/api/v1/declarations/{declaration.pk}/"
    before = (statements(page, browser.get), statements(detail, client.get))
    attach_invoice(declaration, table_invoice(SPEC))
    assert (statements(page, browser.get), statements(detail, client.get)) == before


# ---- the officers -----------------------------------------------------------------------------

BEEF_SPEC = InvoiceSpec(
    number="INV-MIXED-1",
    seller=Party("Pampas Beef Exporters S.A.", ("Av. Corrientes 1200", "Buenos Aires")),
    lines=(
        Line("Beef, boneless, frozen", Decimal("2000"), Decimal("6.50")),
        Line("Smartphones, 128 GB", Decimal("100"), Decimal("120.00")),
    ),
)


@pytest.fixture
def under_review(cast):
    """Beef (food's) and phones (customs' only), declared with 1,800 kg of beef and
    from another seller: under review by customs and food."""
    items = items_of(BEEF_SPEC, {1: {"hs_code": "020130", "quantity": Decimal("1800")}})
    declaration = declared_from(
        BEEF_SPEC, actor=cast.trader_a, items=items, exporter_name="Rio Plata Meats S.A."
    )
    attach_invoice(declaration, table_invoice(BEEF_SPEC))
    Declaration.objects.filter(pk=declaration.pk).update(status="under_review", lane="yellow")
    open_reviews(declaration)
    return declaration


def test_customs_sees_the_whole_invoice_side_by_side(cast, login, under_review):
    review = under_review.reviews.get(agency=cast.customs)
    page = login(cast.customs_officer).get(f"/reviews/{review.pk}/").content.decode()
    assert 'data-testid="invoice-side-by-side"' in page
    assert "Pampas Beef Exporters S.A." in page and "Rio Plata Meats S.A." in page
    assert "Smartphones, 128 GB" in page
    assert "<strong>differs</strong> (material)" in page
    assert "quantity declared 1,800, the invoice says 2,000" in page


def test_another_agency_sees_only_its_items_lines(cast, login, under_review):
    review = under_review.reviews.get(agency=cast.food)
    page = login(cast.food_officer).get(f"/reviews/{review.pk}/").content.decode()
    assert 'data-testid="invoice-lines"' in page
    assert "Beef, boneless, frozen" in page
    assert "quantity declared 1,800, the invoice says 2,000" in page
    # Not the other goods, nor who sold the consignment or what it is worth.
    assert "Smartphones" not in page
    assert "Pampas Beef Exporters" not in page
    assert 'data-testid="invoice-side-by-side"' not in page


def test_an_analyst_reads_it_side_by_side_on_the_declaration(cast, login, under_review):
    page = login(cast.analyst).get(f"/declarations/{under_review.pk}/").content.decode()
    assert 'data-testid="invoice-side-by-side"' in page
    assert 'data-testid="invoice-lines"' in page


def test_customs_reads_the_reading_another_agency_does_not(cast, api, under_review):
    document = under_review.documents.get()
    url = f"/api/v1/declarations/{under_review.pk}/documents/{document.pk}/reading/"
    body = api.as_user(cast.customs_officer).get(url).json()
    assert (body["seller"], body["total"]) == ("Pampas Beef Exporters S.A.", "25000.00")
    # The invoice belongs to the whole declaration, not to the food agency's items.
    assert api.as_user(cast.food_officer).get(url).status_code == 404
    assert api.as_user(cast.plant_officer).get(url).status_code == 404


def test_the_review_api_compares_the_invoice_as_the_agency_may_see_it(cast, api, under_review):
    customs = under_review.reviews.get(agency=cast.customs)
    body = api.as_user(cast.customs_officer).get(f"/api/v1/reviews/{customs.pk}/").json()
    check = body["invoice_check"]
    assert check["status"] == "read"
    assert {d["kind"] for d in check["differences"]} >= {"seller", "quantity"}

    food = under_review.reviews.get(agency=cast.food)
    body = api.as_user(cast.food_officer).get(f"/api/v1/reviews/{food.pk}/").json()
    differences = body["invoice_check"]["differences"]
    # Its beef line only: not who sold the consignment, nor the phones.
    assert [(d["kind"], d["item"]) for d in differences] == [("quantity", 1)]

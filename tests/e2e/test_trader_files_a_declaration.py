import re

import pytest
from playwright.sync_api import expect

from declarations.models import Declaration
from risk.models import LaneDecision
from tests.factories import PASSWORD, pdf_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A real one-page PDF: uploads are opened and checked, not only sniffed.
PDF = pdf_bytes()


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def fill_header(page) -> None:
    page.get_by_label("Importer name").fill("Company A")
    page.get_by_label("Importer tax id").fill("KR1048612345")
    page.get_by_label("Exporter name").fill("Shenzhen Mobile Devices Ltd.")
    page.get_by_label("Country of export").fill("CN")
    page.get_by_label("Office of entry").select_option("KRPUS")  # the active offices
    page.get_by_label("Transport mode").select_option(label="Maritime")
    page.get_by_label("Transport document").fill("MSKU7654321")
    page.get_by_label("Invoice number").fill("INV-E2E-1")
    page.get_by_label("Incoterm").select_option("CIF")
    page.get_by_label("Invoice total").fill("20000")


def fill_item(page, index: int, hs_code: str, description: str, value: str) -> None:
    row = page.locator(f"#item-{index}")
    row.get_by_label("HS code").fill(hs_code)
    row.get_by_label("Description").fill(description)
    row.get_by_label("Origin country").fill("CN")
    row.get_by_label("Quantity").fill("10")
    row.get_by_label("Unit").fill("NAR")
    row.get_by_label("Net mass kg").fill("12.5")
    row.get_by_label("Invoice value").fill(value)


def test_trader_files_a_multi_item_declaration_with_a_document(
    cast, live_server, celery_worker, page, tmp_path
):
    log_in(page, live_server.url, "trader_a")
    expect(page.get_by_role("heading", name="Declarations")).to_be_visible()

    page.get_by_role("link", name="New declaration").first.click()
    fill_header(page)
    fill_item(page, 0, "851713", "Smartphones", "15000")
    page.get_by_role("button", name="Add item").click()
    expect(page.locator("#item-1")).to_be_visible()
    fill_item(page, 1, "850440", "Chargers", "5000")
    page.locator("#item-1").get_by_label("Description").press("Tab")

    # Live check: ready to lodge, with the duties before anything is stored.
    expect(page.get_by_test_id("check-ok")).to_be_visible(timeout=10_000)
    expect(page.get_by_test_id("duty-total")).to_have_text(re.compile(r"\d+ KRW"))
    assert Declaration.objects.count() == 0

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft IM-")).to_be_visible()

    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(PDF)
    page.get_by_label("Kind").select_option("invoice")
    page.get_by_label("File (PDF, PNG, JPEG)").set_input_files(str(invoice))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("link", name="invoice.pdf")).to_be_visible()

    page.get_by_role("button", name="Submit declaration").click()
    expect(page.get_by_text("submitted for clearance")).to_be_visible()
    lane = page.get_by_test_id("lane")
    expect(lane).to_have_text(re.compile(r"^\s*(Green|Yellow|Red)\s*$"), timeout=20_000)
    declaration = Declaration.objects.get(invoice_number="INV-E2E-1")
    decision = LaneDecision.objects.get(declaration=declaration)
    # Green needs nobody at customs: the duties are due at once. Otherwise customs checks.
    expect(page.get_by_test_id("status")).to_have_text(
        "Assessed" if decision.lane == "green" else "Under review"
    )
    expect(page.get_by_test_id("total-due")).to_be_visible()

    assert declaration.items.count() == 2
    assert declaration.documents.get().sha256
    assert declaration.duty_total is not None
    assert lane.inner_text().strip().lower() == decision.lane


def test_mistakes_are_named_before_and_after_saving(cast, live_server, page):
    log_in(page, live_server.url, "trader_a")
    page.goto(f"{live_server.url}/declarations/new/")
    page.get_by_label("Country of export").fill("XX")
    page.get_by_label("Country of export").press("Tab")
    expect(
        page.get_by_role("link", name=re.compile("Country of export: XX is not"))
    ).to_be_visible()
    page.get_by_role("button", name="Save draft").click()
    error = page.locator("p.error", has_text="XX is not an ISO 3166-1 alpha-2 country code.")
    expect(error).to_be_visible()
    assert Declaration.objects.count() == 0

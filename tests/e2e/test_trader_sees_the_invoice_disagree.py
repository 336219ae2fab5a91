import pytest
from playwright.sync_api import expect

from declarations.models import Declaration
from tests.declarations.invoice_pdfs import InvoiceSpec, table_invoice
from tests.declarations.invoicing import declared_from, items_of
from tests.e2e.test_trader_files_a_declaration import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_trader_uploads_the_invoice_and_reads_where_it_disagrees(
    cast, live_server, celery_worker, page, tmp_path
):
    spec = InvoiceSpec(number="INV-E2E-READ")
    # Declared from the invoice, but with 90 phones where it says 100.
    declaration = declared_from(
        spec, actor=cast.trader_a, items=items_of(spec, {1: {"quantity": 90}})
    )
    log_in(page, live_server.url, "trader_a")
    page.goto(f"{live_server.url}/declarations/{declaration.pk}/")

    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(table_invoice(spec))
    page.get_by_label("Kind").select_option("invoice")
    page.get_by_label("File (PDF, PNG, JPEG)").set_input_files(str(invoice))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("link", name="invoice.pdf")).to_be_visible()

    # A worker reads it; the panel asks until it is read, then says where they differ.
    panel = page.get_by_test_id("invoice-check")
    expect(panel).to_contain_text(
        "The invoice and the declaration disagree on: quantity", timeout=20_000
    )
    expect(page.get_by_test_id("invoice-differences")).to_have_text(
        "Item 1 (Smartphones, 128 GB): quantity declared 90, the invoice says 100."
    )

    # A warning: the declaration is lodged all the same.
    page.get_by_role("button", name="Submit declaration").click()
    expect(page.get_by_text("submitted for clearance")).to_be_visible()
    assert Declaration.objects.get(pk=declaration.pk).status != "draft"

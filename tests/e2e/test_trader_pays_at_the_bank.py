"""The trader of an assessed declaration pays at the (sandbox) bank: the bank notifies
the platform, the goods are released, and the trader reads the receipt."""

import os

import pytest
from playwright.sync_api import expect

from declarations.models import Declaration, Payment
from tests.conftest import wait_for
from tests.factories import PASSWORD
from tests.payments.conftest import make_assessed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:
    # Screenshots for a person to look at, when asked for: E2E_SCREENSHOTS=<dir>.
    directory = os.environ.get("E2E_SCREENSHOTS")
    if directory:
        page.screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)


def test_the_trader_pays_at_the_bank_and_the_goods_are_released(
    cast, live_server, sandbox_bank, page
):
    declaration = make_assessed(cast, invoice_number="INV-E2E-PAY")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("trader_a")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.goto(f"{live_server.url}/declarations/{declaration.pk}/")
    expect(page.get_by_test_id("status")).to_have_text("Assessed")
    shot(page, "1-assessed")

    # To the bank, and back without paying: the order waits, the declaration too.
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("heading", name="for PAY-")).to_be_visible()
    reference = Payment.objects.get(declaration=declaration).reference
    expect(page.get_by_role("heading")).to_have_text(
        f"Pay {declaration.total_due:,.2f} KRW for {reference}"
    )
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("payment-order")).to_contain_text(reference)
    expect(page.get_by_test_id("status")).to_have_text("Assessed")
    shot(page, "2-order-pending")

    # Again, the same order; this time the trader pays.
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("heading")).to_contain_text(reference)
    shot(page, "3-sandbox-bank")
    page.get_by_role("button", name="Pay", exact=True).click()

    page.wait_for_url(f"{live_server.url}/declarations/{declaration.pk}/")
    expect(page.get_by_test_id("status")).to_have_text("Released")
    payment = wait_for(
        lambda: Payment.objects.filter(declaration=declaration, status="confirmed").first()
    )
    expect(page.get_by_test_id("payment")).to_contain_text(payment.receipt_number)
    expect(page.get_by_role("link", name="Notifications")).to_contain_text("unread")
    shot(page, "4-released")

    page.get_by_role("link", name=payment.receipt_number).click()
    expect(page.get_by_test_id("receipt-number")).to_have_text(payment.receipt_number)
    expect(page.get_by_text(payment.bank_reference)).to_be_visible()
    shot(page, "5-receipt")

    assert Payment.objects.filter(declaration=declaration).count() == 1
    assert payment.source == "bank" and payment.bank_reference.startswith("SBX-")
    assert Declaration.objects.get(pk=declaration.pk).status == "released"

import re

import pytest
from playwright.sync_api import expect

from declarations.models import Declaration
from risk.models import LaneDecision
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_trader_files_submits_and_sees_the_lane(cast, live_server, celery_worker, page):
    log_in(page, live_server.url, "trader_a")
    expect(page.get_by_role("heading", name="Declarations")).to_be_visible()

    page.get_by_role("link", name="New declaration").first.click()
    page.get_by_label("Country of export").fill("CN")
    page.get_by_label("Office of entry").fill("KRPUS")
    page.get_by_label("Transport mode").select_option(label="Maritime")
    page.get_by_label("Transport document").fill("MSKU7654321")
    page.get_by_label("Invoice number").fill("INV-E2E-1")
    page.get_by_label("Invoice total").fill("20000")

    def fill_item(index: int, hs_code: str, description: str, value: str) -> None:
        row = page.locator(f"#item-{index}")
        row.get_by_label("HS code").fill(hs_code)
        row.get_by_label("Description").fill(description)
        row.get_by_label("Origin country").fill("CN")
        row.get_by_label("Quantity").fill("10")
        row.get_by_label("Unit").fill("NAR")
        row.get_by_label("Net mass kg").fill("12.5")
        row.get_by_label("Invoice value").fill(value)

    fill_item(0, "851712", "Smartphones", "15000")
    page.get_by_role("button", name="Add item").click()
    expect(page.locator("#item-1")).to_be_visible()
    fill_item(1, "850440", "Chargers", "5000")
    page.get_by_role("button", name="Submit declaration").click()

    expect(page.get_by_text("submitted for clearance")).to_be_visible()
    lane = page.get_by_test_id("lane")
    expect(lane).to_have_text(re.compile(r"^\s*(Green|Yellow|Red)\s*$"), timeout=20_000)
    expect(page.get_by_test_id("status")).to_have_text("Under review")

    declaration = Declaration.objects.get(invoice_number="INV-E2E-1")
    assert declaration.items.count() == 2
    decision = LaneDecision.objects.get(declaration=declaration)
    assert lane.inner_text().strip().lower() == decision.lane


def test_a_mistake_is_shown_next_to_the_field(cast, live_server, page):
    log_in(page, live_server.url, "trader_a")
    page.goto(f"{live_server.url}/declarations/new/")
    page.get_by_label("Country of export").fill("XX")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("XX is not an ISO 3166-1 alpha-2 country code.")).to_be_visible()
    assert Declaration.objects.count() == 0

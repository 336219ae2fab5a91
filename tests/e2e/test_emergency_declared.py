"""In the browser: an administrator proposes an emergency, a second approves it, every
page shows the banner, and a humanitarian organisation's declaration form says, before
lodging, that it will be a relief consignment and which measures apply."""

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from emergencies.models import Emergency
from emergencies.services import consignee_decide, consignee_register
from tests.factories import PASSWORD, TEST_OFFICE, CompanyFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LOCAL = "%Y-%m-%dT%H:%M"


def shot(page, name: str) -> None:
    # Screenshots for a person to look at, when asked for: E2E_SCREENSHOTS=<dir>.
    directory = os.environ.get("E2E_SCREENSHOTS")
    if directory:
        page.screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()


def test_an_emergency_declared_by_two_administrators_reaches_the_traders_form(
    cast, live_server, page
):
    UserFactory(username="admin2", role="admin")
    company = CompanyFactory(name="Hope Relief Korea", tax_id="KR3318800017")
    ngo = UserFactory(username="relief_ngo", company=company)
    consignee = consignee_register(actor=ngo, kind="ngo", mission="Medical relief")
    consignee_decide(actor=cast.admin, consignee_id=consignee.pk, status="approved")
    url = live_server.url

    log_in(page, url, "admin")  # lands on the Django admin
    page.goto(f"{url}/emergencies/consignees/")
    expect(page.get_by_test_id("consignee-status")).to_have_text("Approved")
    shot(page, "0-consignees")
    page.get_by_role("link", name="Emergencies").click()
    page.get_by_role("link", name="Declare an emergency").click()
    now = timezone.localtime()
    page.get_by_label("Name").fill("Typhoon Mirae")
    page.get_by_label("Description").fill("Landfall on the south coast.")
    page.get_by_label("Starts at").fill((now - timedelta(minutes=5)).strftime(LOCAL))
    page.get_by_label("Ends at").fill((now + timedelta(days=30)).strftime(LOCAL))
    page.get_by_role("checkbox", name=re.compile(TEST_OFFICE)).check()
    page.get_by_label("Listed goods (HS prefixes)").fill("3004, 6306, 842121")
    page.get_by_label("Duty relief").check()
    page.get_by_label("Reason").fill("Government request for international assistance")
    shot(page, "1-declare-form")
    page.get_by_role("button", name="Propose").click()
    expect(page.get_by_text("Yours: another administrator decides.")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)
    expect(page.get_by_test_id("emergency-banner")).to_have_count(0)
    shot(page, "2-detail-proposed")
    log_out(page)

    log_in(page, url, "admin2")
    page.goto(f"{url}/emergencies/{Emergency.objects.get().pk}/")
    page.get_by_role("button", name="Approve: declare Typhoon Mirae").click()
    expect(page.get_by_test_id("emergency-status")).to_have_text("In force")
    banner = page.get_by_test_id("emergency-banner")
    expect(banner).to_contain_text("Emergency in force: Typhoon Mirae until")
    expect(banner).to_contain_text(f"relief measures apply at {TEST_OFFICE}")
    shot(page, "3-detail-in-force")
    log_out(page)

    log_in(page, url, "relief_ngo")
    expect(page.get_by_test_id("emergency-banner")).to_be_visible()
    page.get_by_role("link", name="New declaration").first.click()
    page.get_by_label("Importer name").fill("Hope Relief Korea")
    page.get_by_label("Importer tax id").fill("KR3318800017")
    page.get_by_label("Exporter name").fill("MSF Supply, Brussels")
    page.get_by_label("Country of export").fill("BE")
    page.get_by_label("Office of entry").select_option(TEST_OFFICE)
    page.get_by_label("Transport mode").select_option(label="Maritime")
    page.get_by_label("Transport document").fill("MSKU7000001")
    page.get_by_label("Invoice number").fill("RELIEF-0001")
    page.get_by_label("Incoterm").select_option("CIF")
    page.get_by_label("Invoice total").fill("12000")
    row = page.locator("#item-0")
    row.get_by_label("HS code").fill("300490")
    row.get_by_label("Description").fill("Antibiotics, amoxicillin 500 mg")
    row.get_by_label("Origin country").fill("BE")
    row.get_by_label("Quantity").fill("20000")
    row.get_by_label("Unit").fill("NAR")
    row.get_by_label("Net mass kg").fill("400")
    row.get_by_label("Invoice value").fill("12000")
    row.get_by_label("Invoice value").press("Tab")
    relief = page.get_by_test_id("relief-check")
    expect(relief).to_contain_text("A relief consignment of Typhoon Mirae", timeout=10_000)
    expect(relief).to_contain_text("no import duty or VAT")
    expect(page.get_by_test_id("duty-total")).to_have_text("0 KRW")
    shot(page, "4-trader-form")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft IM-")).to_be_visible()
    expect(page.get_by_test_id("relief-check")).to_contain_text("A relief consignment")
    shot(page, "5-trader-draft")

"""An office closes in a storm: the administrator closes it and diverts its waiting work
in the browser, an officer of the new office finds it in the queue, and the surge
health page counts what waits without being reloaded."""

import pytest
from django.db import transaction
from playwright.sync_api import expect

from declarations.models import Declaration
from tests.agencies.conftest import PHONES, under_review
from tests.factories import PASSWORD, UserFactory, item_data, make_declaration
from tests.risk.conftest import submitted

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_as(browser, live_server, username: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def test_the_administrator_closes_busan_and_incheon_takes_its_work(
    cast, browser, live_server, django_capture_on_commit_callbacks
):
    incheon = UserFactory(
        username="incheon_officer", role="officer", agency=cast.customs, offices=["KRINC"]
    )
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        declaration = under_review(
            make_declaration(actor=cast.trader_a, items=[item_data(hs_code=PHONES)],
                             invoice_number="INV-E2E-STORM"),
            lane="red", actor=cast.trader_a,
        )  # fmt: skip

    admin = open_as(browser, live_server, cast.admin.username)
    admin.goto(f"{live_server.url}/continuity/offices/KRPUS/")
    admin.get_by_label("Reason").fill("Typhoon: quay 3 flooded")
    admin.get_by_role("button", name="Close KRPUS").click()
    expect(admin.get_by_test_id("office-state")).to_contain_text("Closed")
    expect(admin.get_by_test_id("waiting")).to_contain_text(declaration.reference)
    admin.get_by_label("Divert to").select_option("KRINC")
    admin.locator("#id_reason").fill("Quay flooded until further notice")
    admin.get_by_role("button", name="Divert all 1").click()
    expect(admin.get_by_role("status")).to_contain_text("1 declaration diverted to KRINC")
    assert Declaration.objects.get(pk=declaration.pk).office_of_entry == "KRINC"

    officer = open_as(browser, live_server, incheon.username)
    officer.goto(f"{live_server.url}/queue/")
    expect(officer.get_by_role("link", name=declaration.reference)).to_be_visible()
    officer.context.close()

    # The health page counts what waits for a lane, and follows without a reload.
    admin.goto(f"{live_server.url}/continuity/health/")
    expect(admin.get_by_test_id("unscored")).to_have_text("0")
    admin.evaluate("window.notReloaded = true")
    with django_capture_on_commit_callbacks(execute=False):
        submitted(cast.trader_a, office_of_entry="KRINC")
    expect(admin.get_by_test_id("unscored")).to_have_text("1", timeout=15_000)
    assert admin.evaluate("window.notReloaded") is True
    expect(admin.get_by_test_id("by-office")).to_contain_text("KRINC")
    admin.context.close()

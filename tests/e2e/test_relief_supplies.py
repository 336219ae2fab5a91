"""An NGO pre-notifies medicines and tents in the browser; customs at Busan sees them coming;
the declaration that follows is matched, scored by the worker and released; the
administrator sets the priority needs and the register shows what arrived, in a chart.

Screenshots of the incoming list and the register go to $SCREENSHOT_DIR when set."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from clearance.services import declaration_submit
from declarations.models import Declaration
from supplies.models import PreNotification
from tests.conftest import wait_for
from tests.emergencies.conftest import MEDICINES, TENTS, declare, relief_header
from tests.factories import PASSWORD, CompanyFactory, UserFactory, make_declaration
from tests.risk.conftest import no_random_selection  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def typhoon(cast):
    return declare(cast.admin, UserFactory(username="admin2", role="admin"))


@pytest.fixture
def relief_ngo(cast):
    from emergencies.services import consignee_decide, consignee_register

    company = CompanyFactory(name="Korea Relief Cross", tax_id="KR2208800001")
    trader = UserFactory(username="relief_trader", company=company)
    consignee = consignee_register(actor=trader, kind="red_cross", mission="Disaster relief")
    consignee_decide(actor=cast.admin, consignee_id=consignee.pk, status="approved")
    return trader


@pytest.fixture
def as_user(browser, live_server):
    contexts = []

    def open_as(username: str):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.mark.usefixtures("no_random_selection")
def test_relief_is_announced_seen_coming_released_and_counted_against_the_needs(
    cast, typhoon, relief_ngo, live_server, celery_worker, as_user, tmp_path
):
    emergency, ngo = typhoon, relief_ngo
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)

    # The NGO announces the consignment in the browser.
    trader = as_user(ngo.username)
    trader.goto(f"{live_server.url}/emergencies/prenotifications/new/")
    trader.get_by_label("Sender", exact=True).fill("IFRC Dubai hub")
    trader.get_by_label("Sender's country").fill("AE")
    trader.get_by_label("Transport mode").select_option("4")
    trader.get_by_label("Transport document").fill("176-5555 0001")
    arrival = timezone.localtime() + timedelta(hours=18)
    trader.get_by_label("Expected arrival").fill(arrival.strftime("%Y-%m-%dT%H:%M"))
    for index, (hs, text, quantity) in enumerate(
        [("300490", "Amoxicillin 500 mg", "20000"), ("630622", "Family tents", "500")]
    ):
        trader.locator(f"#id_lines-{index}-hs_code").fill(hs)
        trader.locator(f"#id_lines-{index}-description").fill(text)
        trader.locator(f"#id_lines-{index}-quantity").fill(quantity)
        trader.locator(f"#id_lines-{index}-unit").fill("NAR")
    trader.get_by_role("button", name="File the pre-notification").click()
    expect(trader.get_by_test_id("prenotification-status")).to_have_text("On its way")
    announced = PreNotification.objects.get()

    # Customs at Busan sees it coming.
    officer = as_user(cast.customs_officer.username)
    officer.goto(f"{live_server.url}/emergencies/prenotifications/")
    row = officer.get_by_test_id("prenotifications").get_by_role("row").nth(1)
    expect(row).to_contain_text(announced.reference)
    expect(row).to_contain_text("20,000 NAR Amoxicillin 500 mg")
    officer.screenshot(path=str(shots / "prenotifications-incoming.png"), full_page=True)

    # The declaration follows; the worker scores it green and, with nothing due, releases it.
    header = {"transport_mode": "4", "transport_document": "1765555 0001", **relief_header(ngo)}
    draft = make_declaration(actor=ngo, items=[MEDICINES, TENTS], **header)
    with transaction.atomic():
        declaration_submit(declaration=draft, actor=ngo)
    wait_for(lambda: Declaration.objects.get(pk=draft.pk).status == "released", timeout=40)
    announced.refresh_from_db()
    assert (announced.status, announced.declaration_id) == ("declared", draft.pk)
    officer.goto(f"{live_server.url}/emergencies/prenotifications/{announced.pk}/")
    expect(officer.get_by_test_id("prenotification-status")).to_have_text("Arrived and declared")
    expect(officer.get_by_test_id("prenotification-differences")).to_contain_text(
        "The declaration agrees with what was announced."
    )
    officer.screenshot(path=str(shots / "prenotification-declared.png"), full_page=True)

    # The administrator sets the priority needs on the register page.
    admin = as_user(cast.admin.username)
    admin.goto(f"{live_server.url}/emergencies/{emergency.pk}/supplies/")
    needs = [
        ("3004", "Antibiotics", "50000"),
        ("6306", "Family tents", "2000"),
        ("842121", "Water purification", "300"),
    ]
    for prefix, label, target in needs:
        admin.locator("#id_hs_prefix").fill(prefix)
        admin.locator("#id_label").fill(label)
        admin.locator("#id_target_quantity").fill(target)
        admin.locator("#id_unit").fill("NAR")
        admin.get_by_role("button", name="Add the need").click()
        expect(admin.get_by_test_id("supply-needs")).to_contain_text(label)
    admin.locator("#id_need").select_option(label="Family tents (HS 6306, NAR)")
    admin.locator("#id_partner_administration").fill("Japan Customs")
    admin.locator("#id_partner_country").fill("JP")
    admin.locator("#id_quantity").fill("800")
    admin.locator("#id_expected_on").fill(str(timezone.localdate() + timedelta(days=3)))
    admin.get_by_role("button", name="Record the pledge").click()
    expect(admin.get_by_test_id("pledges")).to_contain_text("Japan Customs (JP)")
    table = admin.get_by_test_id("supply-needs")
    expect(table.get_by_role("row", name="Antibiotics")).to_contain_text("40.0%")
    expect(table.get_by_role("row", name="Family tents")).to_contain_text("25.0%")
    expect(admin.get_by_test_id("supplies-chart")).to_be_visible()
    admin.screenshot(path=str(shots / "critical-supplies.png"), full_page=True)

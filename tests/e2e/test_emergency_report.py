"""After an emergency, an administrator reads its reconciliation report in the browser:
the summary, the charts, every relief consignment, and the CSV to take away."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from clearance.services import declaration_submit, inspection_record
from declarations.models import Declaration
from emergencies.services import consignee_decide, consignee_register
from tests.emergencies.conftest import MEDICINES, TENTS, declare, relief_header
from tests.factories import PASSWORD, CompanyFactory, UserFactory, item_data, make_declaration
from tests.factories import route as routed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:
    # Screenshots for a person to look at, when asked for: E2E_SCREENSHOTS=<dir>.
    directory = os.environ.get("E2E_SCREENSHOTS")
    if directory:
        page.screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)


def cleared(declaration, *, lane: str, hours: float | None, officer=None):
    """Lodged two days ago under a lane, released `hours` later (None: still waiting);
    checked by `officer` when given."""
    routed(declaration, lane=lane)
    if officer is not None:
        inspection_record(
            review_id=declaration.reviews.get(agency__is_customs=True).pk, actor=officer,
            kind="documentary" if lane == "yellow" else "physical", finding="no_discrepancy",
        )  # fmt: skip
    lodged_at = timezone.now() - timedelta(days=2)
    changes = {"submitted_at": lodged_at}
    if hours is not None:
        changes |= {"status": "released", "released_at": lodged_at + timedelta(hours=hours)}
    Declaration.objects.filter(pk=declaration.pk).update(**changes)


def lodge(actor, items, n: int, **header):
    draft = make_declaration(actor=actor, items=items, invoice_number=f"INV-E2E-RR-{n}", **header)
    with transaction.atomic():
        return declaration_submit(declaration=draft, actor=actor)


def test_the_administrator_reads_the_report_and_takes_the_csv(cast, live_server, page):
    second = UserFactory(username="admin2", role="admin")
    emergency = declare(cast.admin, second, starts_at=timezone.now() - timedelta(days=3))
    ngo = UserFactory(
        username="relief_trader",
        company=CompanyFactory(name="Korea Relief Cross", tax_id="KR2208800001"),
    )
    consignee = consignee_register(actor=ngo, kind="red_cross", mission="Disaster relief")
    consignee_decide(actor=cast.admin, consignee_id=consignee.pk, status="approved")
    for n, (items, lane, hours) in enumerate(
        [([MEDICINES], "green", 0.5), ([MEDICINES], "yellow", 1.5), ([TENTS], "yellow", 3),
         ([TENTS], "red", 8), ([MEDICINES], "red", None)]
    ):  # fmt: skip
        officer = cast.customs_officer if hours and lane != "green" else None
        cleared(lodge(ngo, items, n, **relief_header(ngo)), lane=lane, hours=hours, officer=officer)
    for n, (lane, hours) in enumerate([("green", 2), ("yellow", 9), ("red", 30)], start=10):
        cleared(lodge(cast.trader_a, [item_data()], n), lane=lane, hours=hours)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    # Administrators land in the Django admin; the emergency's page links to its report.
    page.goto(f"{live_server.url}/emergencies/")
    page.get_by_test_id("emergencies").get_by_role("link", name="Typhoon Mawar").click()
    page.get_by_role("link", name="Reconciliation report").click()
    expect(page.get_by_role("heading", name="Reconciliation report: Typhoon Mawar")).to_be_visible()
    summary = page.get_by_test_id("report-summary")
    expect(summary).to_contain_text("5 relief consignments lodged")
    expect(summary).to_contain_text("4 released")
    expect(page.get_by_role("img", name="Median lodgement to release")).to_be_visible()
    times = page.get_by_test_id("release-times")
    expect(times.get_by_role("row").nth(1)).to_contain_text("4 / 5")
    expect(page.get_by_test_id("consignments").get_by_role("row")).to_have_count(6)
    shot(page, "emergency-report")

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").first.click()
    assert download.value.suggested_filename == f"emergency-{emergency.pk}-reconciliation.csv"
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6 and lines[0].startswith("Declaration,Consignee")

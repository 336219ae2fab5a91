"""In the browser: a humanitarian consignee supplies a document its provisional relief
declaration owes, after release; food and plant quarantine book one joint
inspection of a relief consignment and one of them records it for both."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from clearance.services import review_approve
from relief.models import JointInspection, ProvisionalDeclaration
from tests.emergencies.conftest import MEDICINES, TENTS
from tests.factories import PASSWORD, route
from tests.relief.conftest import (  # noqa: F401 (fixtures of tests/relief, used here)
    emergency,
    lodge,
    medicine_licences,
    ngo,
    offered,
    provisional_header,
    relief_oranges,
    second_admin,
    typhoon,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:
    # Screenshots for a person to look at, when asked for: E2E_SCREENSHOTS=<dir>.
    directory = os.environ.get("E2E_SCREENSHOTS")
    if directory:
        page.screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.mark.usefixtures("emergency", "ngo", "medicine_licences")
def test_the_consignee_supplies_a_document_after_release(cast, live_server, page):
    consignee = User.objects.get(username="relief_trader")
    items = [MEDICINES, TENTS]
    declaration = route(
        lodge(consignee, items, **provisional_header(consignee, items)), lane="green"
    )
    review_approve(review_id=declaration.reviews.get(agency=cast.food).pk, actor=cast.food_officer)
    log_in(page, live_server, consignee.username)
    page.goto(f"{live_server.url}/declarations/{declaration.pk}/")
    panel = page.get_by_test_id("documents-owed")
    expect(panel).to_contain_text("Documents to follow")
    expect(page.get_by_test_id("status")).to_have_text("Released")
    shot(page, "relief-1-documents-owed")

    row = panel.get_by_test_id("owed-document").filter(has_text="Transport document")
    row.get_by_label("Number or reference").fill("MSKU7654321")
    row.get_by_role("button", name="Supply").click()
    expect(page.get_by_text("Transport document (B/L or AWB): supplied.")).to_be_visible()
    expect(
        panel.get_by_test_id("owed-document").filter(has_text="Transport document")
    ).to_contain_text("MSKU7654321")
    shot(page, "relief-2-document-supplied")
    owed = ProvisionalDeclaration.objects.get(declaration=declaration).documents
    assert owed.get(kind="transport_document").reference == "MSKU7654321"


@pytest.mark.usefixtures("typhoon", "ngo")
def test_two_agencies_book_and_record_one_joint_inspection(cast, live_server, page):
    consignee = User.objects.get(username="relief_trader")
    declaration = relief_oranges(cast, consignee)
    joint = offered(declaration)
    log_in(page, live_server, cast.food_officer.username)
    page.goto(f"{live_server.url}/reviews/{declaration.reviews.get(agency=cast.food).pk}/")
    page.get_by_test_id("joint-inspection-panel").get_by_role("link", name="Book it").click()
    expect(
        page.get_by_role("heading", name=f"Joint inspection of {declaration.reference}")
    ).to_be_visible()

    when = timezone.localtime() + timedelta(days=1)
    page.get_by_label("When").fill(when.strftime("%Y-%m-%dT09:30"))
    page.get_by_label("Where").fill("Busan New Port, reefer yard B")
    page.get_by_label("plant_officer (Plant Quarantine)").check()
    shot(page, "relief-3-joint-inspection-offered")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_test_id("joint-place")).to_have_text("Busan New Port, reefer yard B")

    page.get_by_label("Finding").select_option("no_discrepancy")
    page.get_by_label("Notes (officers only)").fill("Fruit sound; no pests found.")
    page.get_by_role("button", name="Record once for all").click()
    expect(page.get_by_test_id("joint-finding")).to_contain_text("No discrepancy")
    shot(page, "relief-4-joint-inspection-recorded")
    joint.refresh_from_db()
    assert joint.status == JointInspection.Status.DONE
    assert [p.inspection.finding for p in joint.participants.all()] == [
        "no_discrepancy",
        "no_discrepancy",
    ]

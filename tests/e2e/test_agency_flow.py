"""Trader files, the food agency queries, the trader answers, both agencies approve,
customs inspects a red lane, the trader pays, the goods are released."""

import pytest
from playwright.sync_api import expect

from agencies.models import Inspection, Review
from declarations.models import Declaration
from risk.models import SelectivityRule
from tests.agencies.conftest import MEAT, regulated_item
from tests.conftest import wait_for
from tests.factories import PASSWORD, api_payload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def as_user(browser, live_server):
    """A logged-in page for each user, in its own browser context."""
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


def test_agencies_query_approve_inspect_and_the_goods_are_released(
    cast, api, live_server, celery_worker, as_user, sandbox_bank
):
    SelectivityRule.objects.create(name="Meat goes red", hs_prefix="02", force_lane="red")

    # The trader files through the API; the worker scores it red and opens the reviews.
    client = api.as_user(cast.trader_a)
    body = api_payload(
        items=[regulated_item(MEAT, holder=cast.company_a, description="Frozen beef")]
    )
    body["invoice_number"] = "INV-E2E-AGENCY"
    created = client.post("/api/v1/declarations/", body, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert client.post(f"/api/v1/declarations/{pk}/submit/").status_code == 202
    wait_for(lambda: Declaration.objects.get(pk=pk).status == "under_review", timeout=30)
    declaration = Declaration.objects.get(pk=pk)
    assert declaration.lane == "red"
    food = Review.objects.get(declaration=declaration, agency=cast.food)
    customs = Review.objects.get(declaration=declaration, agency=cast.customs)

    # The food officer finds it in the queue and queries the trader.
    officer = as_user("food_officer")
    officer.goto(f"{live_server.url}/queue/")
    officer.get_by_role("link", name=declaration.reference).click()
    expect(officer.get_by_role("heading", name="Items for Food and Drug Safety")).to_be_visible()
    officer.get_by_label("Question").fill("Which establishment slaughtered the cattle?")
    officer.get_by_role("button", name="Send query").click()
    expect(officer.get_by_text("Query sent to the trader.")).to_be_visible()
    expect(officer.get_by_test_id("declaration-status")).to_have_text("Queried")

    # The trader sees the question on the declaration and answers it.
    trader = as_user("trader_a")
    trader.goto(f"{live_server.url}/declarations/{pk}/")
    expect(trader.get_by_test_id("query")).to_contain_text(
        "Which establishment slaughtered the cattle?"
    )
    trader.get_by_label("Your answer").fill("Establishment KR-4411, certificate attached")
    trader.get_by_role("button", name="Send answer").click()
    expect(trader.get_by_text("Answer sent.")).to_be_visible()
    expect(trader.get_by_test_id("status")).to_have_text("Under review")

    # The food officer reads the answer and approves with a condition.
    officer.reload()
    expect(officer.get_by_text("Establishment KR-4411")).to_be_visible()
    officer.get_by_label("Conditions (optional)").fill("Keep below -18 C until sold")
    officer.get_by_role("button", name="Approve").click()
    expect(officer.get_by_text("Approved with conditions.")).to_be_visible()

    # Customs inspects the red-lane goods, then approves.
    customs_page = as_user("customs_officer")
    customs_page.goto(f"{live_server.url}/reviews/{customs.pk}/")
    customs_page.get_by_role("button", name="Claim this review").click()
    expect(customs_page.get_by_text("You hold this review.")).to_be_visible()
    customs_page.get_by_label("Kind").select_option("physical")
    customs_page.get_by_label("Finding").select_option("no_discrepancy")
    customs_page.get_by_label("Notes").fill("Container opened, 40 cartons counted")
    customs_page.get_by_role("button", name="Record inspection").click()
    expect(customs_page.get_by_text("Physical inspection recorded.")).to_be_visible()
    customs_page.get_by_role("button", name="Approve").click()
    expect(customs_page.get_by_text("Approved.")).to_be_visible()
    expect(customs_page.get_by_test_id("declaration-status")).to_have_text("Assessed")

    # The trader pays; the goods are released and the trader's page says so.
    trader.reload()
    expect(trader.get_by_test_id("status")).to_have_text("Assessed")
    trader.get_by_role("button", name="Pay").click()
    trader.get_by_role("button", name="Pay", exact=True).click()  # at the sandbox bank
    expect(trader.get_by_test_id("status")).to_have_text("Released")
    expect(trader.get_by_role("link", name="Notifications")).to_contain_text("unread")

    assert Review.objects.get(pk=food.pk).conditions == "Keep below -18 C until sold"
    inspection = Inspection.objects.get(review=customs)
    assert (inspection.kind, inspection.finding, inspection.recorded_by) == (
        "physical",
        "no_discrepancy",
        cast.customs_officer,
    )
    assert list(
        declaration.events.filter(to_status__gt="").values_list("to_status", flat=True)
    ) == [
        "draft",
        "submitted",
        "under_review",
        "queried",
        "under_review",
        "assessed",
        "paid",
        "released",
    ]

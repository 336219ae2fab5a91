"""The green journey, as a trader meets it: lodge, pay at the (sandbox) bank, released,
with no officer logged in or acting anywhere."""

import pytest
from playwright.sync_api import expect

from declarations.models import Declaration, Payment
from risk.models import LaneDecision, RiskSettings
from tests.conftest import wait_for
from tests.e2e.test_trader_files_a_declaration import log_in
from tests.factories import make_declaration

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_green_declaration_goes_from_lodgement_to_release_with_no_officer(
    cast, live_server, celery_worker, sandbox_bank, page
):
    # No rule fires on the smartphones and nothing is drawn at random: the lane is green.
    RiskSettings.objects.update_or_create(
        pk=1, defaults={"random_yellow_rate": 0, "random_red_rate": 0, "model_enabled": False}
    )
    draft = make_declaration(actor=cast.trader_a, invoice_number="INV-E2E-GREEN")

    log_in(page, live_server.url, "trader_a")
    page.goto(f"{live_server.url}/declarations/{draft.pk}/")
    page.get_by_role("button", name="Submit declaration").click()
    # The worker routes it green; the page follows without a reload.
    expect(page.get_by_test_id("lane")).to_have_text("Green", timeout=20_000)
    expect(page.get_by_test_id("status")).to_have_text("Assessed")
    expect(page.get_by_test_id("total-due")).to_be_visible()

    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("heading")).to_contain_text("PAY-")
    page.get_by_role("button", name="Pay", exact=True).click()
    page.wait_for_url(f"{live_server.url}/declarations/{draft.pk}/")
    expect(page.get_by_test_id("status")).to_have_text("Released")

    declaration = Declaration.objects.get(pk=draft.pk)
    assert LaneDecision.objects.get(declaration=declaration).lane == "green"
    payment = wait_for(
        lambda: Payment.objects.filter(declaration=declaration, status="confirmed").first()
    )
    assert payment.source == "bank"
    # Every step was the trader's or the platform's.
    assert set(declaration.events.values_list("actor", flat=True)) <= {None, cast.trader_a.pk}
    assert not declaration.reviews.filter(decided_by__isnull=False).exists()

"""An officer sets up an authenticator app in the browser, and logs in with its code."""

import os
from base64 import b32decode

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:
    # Screenshots for a person to look at, when asked for: E2E_SCREENSHOTS=<dir>.
    directory = os.environ.get("E2E_SCREENSHOTS")
    if directory:
        page.screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)


def app_code(secret: str, drift: int = 0) -> str:
    """What the officer's authenticator app shows for the secret on the page."""
    return f"{totp(b32decode(secret), drift=drift):06d}"


def log_in_with_password(page, url: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill("food_officer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda now: "/accounts/login/" not in now or "/login/code/" in now)


def test_an_officer_sets_up_an_app_and_logs_in_with_its_code(cast, live_server, page, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no wait after the wrong code below
    log_in_with_password(page, live_server.url)
    page.get_by_role("link", name="Second factor").click()
    page.get_by_role("link", name="Set up a second factor").click()
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    shot(page, "1-setup")

    # The code of the step before now; the login below uses the current one.
    page.get_by_label("Enter the 6-digit code the app now shows").fill(app_code(secret, -1))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    shot(page, "2-recovery-codes")
    page.get_by_role("link", name="I have kept them").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")

    # The password alone leads to the second step, and nowhere else.
    log_in_with_password(page, live_server.url)
    expect(page.get_by_role("heading", name="Confirm your login")).to_be_visible()
    page.goto(f"{live_server.url}/queue/")
    expect(page.get_by_role("heading", name="Confirm your login")).to_be_visible()
    expect(page.get_by_role("link", name="Queue")).to_have_count(0)
    page.get_by_label("Code").fill(f"{(int(app_code(secret)) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert")).to_contain_text("This code is not right")
    shot(page, "3-second-step")

    page.get_by_label("Code").fill(app_code(secret))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/queue/")
    expect(page.get_by_role("link", name="Queue")).to_be_visible()

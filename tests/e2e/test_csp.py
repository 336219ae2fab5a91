"""The Content-Security-Policy in a real browser: injected scripts do not run, and
every page of ours, Swagger UI and the Django admin still work under it."""

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Records every violation the browser reports, in each document of the context.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.effectiveDirective} ${event.blockedURI || "inline"}`);
});
"""


@pytest.fixture
def watched(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    yield page
    context.close()


def log_in(page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda u: "login" not in u)


def violations(page) -> list[str]:
    return page.evaluate("window.__violations")


def test_an_injected_inline_script_or_handler_does_not_run(cast, live_server, watched):
    page = watched
    log_in(page, f"{live_server.url}/accounts/login/", "trader_a")
    page.goto(f"{live_server.url}/declarations/new/")
    # htmx works without eval: "Add item" fetches the second row.
    page.get_by_role("button", name="Add item").click()
    expect(page.locator("#items fieldset.item")).to_have_count(2)
    expect(page.locator("#id_items-1-hs_code")).to_be_attached()
    assert violations(page) == []

    ran = page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__injected = 'script'";
            document.body.append(script);
            const holder = document.createElement("div");
            holder.innerHTML = '<img src="data:," onerror="window.__injected = \\'handler\\'">';
            document.body.append(holder);
            return new Promise((done) => setTimeout(() => done(window.__injected ?? null), 500));
        }"""
    )
    assert ran is None
    page.wait_for_function("window.__violations.length >= 2")
    assert sorted(violations(page)) == ["script-src-attr inline", "script-src-elem inline"]


def test_swagger_ui_loads_under_the_policy(live_server, watched):
    page = watched
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Single Window API")
    expect(page.get_by_text("/api/v1/declarations/{id}/submit/").first).to_be_visible()
    assert violations(page) == []


def test_the_django_admin_works_under_the_policy(cast, live_server, watched):
    from reference.models import ExchangeRate

    page = watched
    log_in(page, f"{live_server.url}/admin/login/", "admin")
    page.goto(f"{live_server.url}/admin/reference/exchangerate/")
    # The action bar is admin JavaScript: ticking every row updates the counter.
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text(
        f"{ExchangeRate.objects.count()} of {ExchangeRate.objects.count()} selected"
    )
    # So is the calendar shortcut of a date field.
    page.goto(f"{live_server.url}/admin/reference/exchangerate/add/")
    page.get_by_role("link", name="Today").click()
    expect(page.locator("#id_valid_from")).not_to_have_value("")
    assert violations(page) == []

"""Guessing passwords: the login page, the admin login and the token endpoint lock out
the account and the address, say for how long, and an administrator can unlock."""

import pytest
from axes.models import AccessAttempt

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"
WAIT = "Too many failed attempts; try again in 30 minutes or ask an administrator."


def page_login(client, username, password, **headers):
    return client.post("/accounts/login/", {"username": username, "password": password}, **headers)


def api_login(client, username, password, **headers):
    return client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, **headers
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_twenty_wrong_passwords_then_the_right_one_does_not_log_in_on_the_page(cast, client):
    for _ in range(20):
        page_login(client, "trader_a", WRONG)
    response = page_login(client, "trader_a", PASSWORD)
    assert response.status_code == 429
    assert not logged_in(client)
    assert client.get("/declarations/").status_code == 302  # still sent to the login page


def test_twenty_wrong_passwords_then_the_right_one_gets_no_token(cast, client):
    for _ in range(20):
        api_login(client, "trader_a", WRONG)
    response = api_login(client, "trader_a", PASSWORD)
    assert response.status_code == 429
    assert "token" not in response.json()


def test_the_limit_is_five_failures_and_the_page_names_the_wait(cast, client):
    for _ in range(4):
        assert page_login(client, "trader_a", WRONG).status_code == 200
    response = page_login(client, "trader_a", WRONG)
    assert response.status_code == 429
    assert response["Retry-After"] == "1800"
    assert WAIT in response.content.decode()
    # The login form is there again, the username kept.
    assert 'value="trader_a"' in response.content.decode()


def test_the_token_endpoint_answers_json_naming_the_wait(cast, client):
    for _ in range(5):
        response = api_login(client, "trader_a", WRONG)
    assert response.status_code == 429
    assert response.json() == {"detail": WAIT}
    assert response["Retry-After"] == "1800"


def test_the_wait_follows_the_setting(cast, client, settings):
    from datetime import timedelta

    settings.AXES_COOLOFF_TIME = timedelta(minutes=10)
    settings.AXES_FAILURE_LIMIT = 2
    api_login(client, "trader_a", WRONG)
    response = api_login(client, "trader_a", WRONG)
    assert response.status_code == 429
    assert "try again in 10 minutes" in response.json()["detail"]


def test_failures_on_the_page_and_the_api_add_up(cast, client):
    for _ in range(3):
        page_login(client, "trader_a", WRONG)
    api_login(client, "trader_a", WRONG)
    assert api_login(client, "trader_a", WRONG).status_code == 429
    assert page_login(client, "trader_a", PASSWORD).status_code == 429


def test_the_account_is_locked_from_every_address(cast, client):
    for number in range(5):
        page_login(client, "trader_a", WRONG, REMOTE_ADDR=f"203.0.113.{number}")
    response = page_login(client, "trader_a", PASSWORD, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429
    assert not logged_in(client)


def guess_from(client, count: int, **headers) -> None:
    """`count` wrong passwords, each for another account, from one address."""
    for number in range(count):
        page_login(client, f"user{number}", WRONG, **headers)


def test_an_address_guessing_across_usernames_is_locked_out(cast, client, settings):
    assert settings.AUTH_ADDRESS_FAILURE_LIMIT == 30
    guess_from(client, 30, REMOTE_ADDR="203.0.113.9")
    # A right password of an account not guessed at, from that address: refused.
    response = api_login(client, "customs_officer", PASSWORD, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429
    # The same account from elsewhere is not locked.
    assert api_login(client, "customs_officer", PASSWORD).status_code == 200


def test_colleagues_typos_from_one_office_address_do_not_lock_the_office_out(cast, client):
    # A broker's office shows the platform one address: five people mistype once each.
    guess_from(client, 5, REMOTE_ADDR="203.0.113.20")
    assert page_login(client, "trader_a", PASSWORD, REMOTE_ADDR="203.0.113.20").status_code == 302
    assert logged_in(client)


def test_a_forged_forwarded_for_does_not_escape_the_address_lockout(cast, client, settings):
    settings.AUTH_ADDRESS_FAILURE_LIMIT = 5
    for number in range(5):
        api_login(client, f"user{number}", WRONG, HTTP_X_FORWARDED_FOR=f"10.0.0.{number}")
    response = api_login(client, "customs_officer", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429


def test_behind_a_proxy_the_address_it_saw_is_the_one_locked_out(cast, client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AUTH_ADDRESS_FAILURE_LIMIT = 5
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for number in range(5):
        # What the client wrote comes first; the proxy appends the address it saw.
        forwarded = f"198.51.100.{number}, 203.0.113.50"
        api_login(client, f"user{number}", WRONG, HTTP_X_FORWARDED_FOR=forwarded, **proxy)
    locked = api_login(
        client, "trader_a", PASSWORD, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.50", **proxy
    )
    assert locked.status_code == 429
    # Another client behind the same proxy logs in.
    other = api_login(client, "trader_a", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.51", **proxy)
    assert other.status_code == 200


def test_the_admin_login_locks_out_too(cast, client):
    for _ in range(5):
        client.post("/admin/login/", {"username": "admin", "password": WRONG})
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert WAIT in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_an_administrator_unlocks_the_account_and_the_user_logs_in(cast, client, login):
    # Someone elsewhere guessed at the trader's password: the account is locked.
    for _ in range(6):
        page_login(client, "trader_a", WRONG, REMOTE_ADDR="203.0.113.5")
    assert page_login(client, "trader_a", PASSWORD).status_code == 429

    admin = login(cast.admin)
    response = admin.post(
        "/admin/accounts/user/",
        {"action": "unlock_login", "_selected_action": [cast.trader_a.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Unlocked the login of 1 user." in response.content.decode()
    admin.logout()

    response = page_login(client, "trader_a", PASSWORD)
    assert response.status_code == 302
    assert logged_in(client)


def test_an_administrator_unlocks_an_address_on_the_access_attempts_page(
    cast, client, login, settings
):
    settings.AUTH_ADDRESS_FAILURE_LIMIT = 5
    for username in ("trader_a", "trader_b", "analyst", "supervisor", "nobody"):
        api_login(client, username, WRONG, REMOTE_ADDR="203.0.113.9")
    assert api_login(client, "trader_a", PASSWORD, REMOTE_ADDR="203.0.113.9").status_code == 429

    admin = login(cast.admin)
    listed = admin.get("/admin/axes/accessattempt/?ip_address=203.0.113.9")
    assert listed.status_code == 200 and "203.0.113.9" in listed.content.decode()
    ids = list(AccessAttempt.objects.filter(ip_address="203.0.113.9").values_list("pk", flat=True))
    admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    admin.logout()

    assert api_login(client, "trader_a", PASSWORD, REMOTE_ADDR="203.0.113.9").status_code == 200


def test_only_an_administrator_may_unlock(cast, login):
    from django.core.exceptions import PermissionDenied

    from accounts.services import user_login_unlock

    with pytest.raises(PermissionDenied):
        user_login_unlock(user=cast.trader_a, actor=cast.supervisor)
    # The admin's pages are closed to everyone else (the access matrix tests that).


def test_the_lockout_ends_after_the_wait(cast, client):
    from datetime import timedelta

    from django.utils import timezone

    for _ in range(5):
        page_login(client, "trader_a", WRONG)
    assert page_login(client, "trader_a", PASSWORD).status_code == 429
    # As if the last failure were half an hour old.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=31))
    assert page_login(client, "trader_a", PASSWORD).status_code == 302


def test_the_token_endpoint_is_throttled_per_address(cast, client, settings):
    settings.LOGIN_THROTTLE_RATE = "3/minute"
    for _ in range(3):
        assert api_login(client, "nobody", WRONG, REMOTE_ADDR="127.0.0.1").status_code == 400
    # A forged X-Forwarded-For changes nothing without a trusted proxy.
    response = api_login(client, "trader_a", PASSWORD, HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert response.status_code == 429
    assert "throttled" in response.json()["detail"]
    assert "seconds" in response.json()["detail"]


def test_a_wrong_password_is_a_400_naming_no_field_and_counted(cast, client):
    response = api_login(client, "trader_a", WRONG)
    assert response.status_code == 400
    assert response.json()["detail"] == "Unable to log in with provided credentials."
    assert AccessAttempt.objects.get(username="trader_a").failures_since_start == 1


def test_a_missing_password_names_the_field(cast, client):
    response = client.post("/api/v1/auth/token/", {"username": "trader_a"})
    assert response.status_code == 400
    assert "password" in response.json()["fields"]

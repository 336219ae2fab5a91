"""Second factor for staff: an authenticator app (TOTP) and single-use recovery codes.

Codes are computed as the user's app would, from the device's secret. An app's
code is accepted once per 30-second step, and the device accepts the steps
next to the current one: setting up uses the step before, the first login
the current step and a second login the step after, so no test waits.
"""

import pytest
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import SecurityPolicy, SecurityPolicyChange
from accounts.services import (
    second_factor_enrol_confirm,
    second_factor_enrol_start,
    security_policy_update,
)
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

STEP = "/accounts/login/code/"
SETUP = "/accounts/second-factor/setup/"
MANAGE = "/accounts/second-factor/"
POLICY = "/admin/accounts/securitypolicy/1/change/"


@pytest.fixture(autouse=True)
def no_wait_after_a_wrong_code(settings):
    # django-otp makes each try after a wrong code wait (1 s, 2 s, 4 s...); one
    # test below keeps that, the others send the right code straight after.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def another(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def app_code(user, drift: int = 0, confirmed: bool = True) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=confirmed)
    return f"{totp(device.bin_key, drift=drift):06d}"


def enrolled(user) -> list[str]:
    """Set the user's app up (with the code of the step before now); the recovery codes."""
    second_factor_enrol_start(actor=user)
    _, codes = second_factor_enrol_confirm(code=app_code(user, -1, confirmed=False), actor=user)
    return codes


def log_in(client, user, **extra):
    """The login form, as a person fills it; the response it answers."""
    return client.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD, **extra}
    )


def test_an_officer_sets_up_an_app_and_sees_the_recovery_codes_once(cast, login):
    browser = login(cast.food_officer)
    assert "Set up a second factor" in browser.get(MANAGE).content.decode()

    page = browser.get(SETUP).content.decode()
    device = TOTPDevice.objects.get(user=cast.food_officer, confirmed=False)
    assert "<svg" in page and "otpauth://" not in page  # the QR code is drawn here
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    assert len(secret) == 32
    assert browser.get(SETUP).content.decode().count(secret) == 1  # same secret on reload

    wrong = browser.post(SETUP, {"otp": another(app_code(cast.food_officer, -1, False))})
    assert "This code is not right" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()

    shown = browser.post(SETUP, {"otp": app_code(cast.food_officer, -1, confirmed=False)})
    codes = shown.context["codes"]
    assert len(codes) == 10 and all(code in shown.content.decode() for code in codes)
    assert TOTPDevice.objects.get(pk=device.pk).confirmed

    page = browser.get(MANAGE).content.decode()
    assert "10</strong> recovery codes left" in page
    assert not any(code in page for code in codes)  # shown once only
    assert browser.get("/queue/").status_code == 200  # this session is confirmed already


def test_after_the_password_every_page_waits_for_the_second_step(cast, client):
    enrolled(cast.food_officer)
    response = log_in(client, cast.food_officer, next="/queue/")
    assert response.status_code == 302 and response["Location"] == "/queue/"

    for path in ("/queue/", "/", "/notifications/", "/admin/", MANAGE):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(f"{STEP}?next="), path
    response = client.post("/notifications/read/")
    assert response.status_code == 302 and response["Location"].startswith(STEP)
    # The API with the session's cookie is refused too.
    response = client.get("/api/v1/reviews/")
    assert response.status_code == 403
    assert "second factor" in response.json()["detail"]

    page = client.get(STEP + "?next=/queue/")
    assert "Confirm your login" in page.content.decode()
    assert "Queue</a>" not in page.content.decode()  # no navigation yet
    response = client.post(STEP, {"otp": app_code(cast.food_officer), "next": "/queue/"})
    assert response.status_code == 302 and response["Location"] == "/queue/"
    assert client.get("/queue/").status_code == 200
    assert client.get("/api/v1/reviews/").status_code == 200


def test_a_wrong_code_is_refused_and_counts_as_a_failed_login(cast, client):
    enrolled(cast.food_officer)
    log_in(client, cast.food_officer)
    failures = []

    def record(sender, credentials, request=None, **kwargs):
        failures.append(credentials["username"])

    user_login_failed.connect(record)
    try:
        right = app_code(cast.food_officer)
        response = client.post(STEP, {"otp": another(right)})
        assert response.status_code == 200
        assert "This code is not right" in response.content.decode()
        assert failures == ["food_officer"]
        assert client.get("/queue/").status_code == 302
        assert client.post(STEP, {"otp": ""}).status_code == 200  # nothing typed
        response = client.post(STEP, {"otp": right})
        assert response.status_code == 302
    finally:
        user_login_failed.disconnect(record)
    assert client.get("/queue/").status_code == 200


def test_repeated_wrong_codes_make_the_next_try_wait(cast, client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1  # django-otp's default
    enrolled(cast.food_officer)
    log_in(client, cast.food_officer)
    right = app_code(cast.food_officer)
    client.post(STEP, {"otp": another(right)})
    client.post(STEP, {"otp": another(right)})
    response = client.post(STEP, {"otp": right})
    assert "Too many wrong codes: try again in" in response.content.decode()
    assert client.get("/queue/").status_code == 302


def test_a_recovery_code_logs_in_once(cast, client):
    codes = enrolled(cast.supervisor)
    log_in(client, cast.supervisor)
    response = client.post(STEP, {"otp": codes[0].upper()}, follow=True)
    assert response.redirect_chain[0] == ("/", 302)
    assert "You used a recovery code; 9 left." in response.content.decode()

    client.post("/accounts/logout/")
    log_in(client, cast.supervisor)
    response = client.post(STEP, {"otp": codes[0]})
    assert response.status_code == 200 and "not right, or was used already" in (
        response.content.decode()
    )
    assert client.get("/queue/").status_code == 302
    assert client.post(STEP, {"otp": codes[1]}).status_code == 302
    assert client.get("/queue/").status_code == 200


def test_new_recovery_codes_replace_the_old_and_turning_off_needs_a_code(cast, login, client):
    old = enrolled(cast.analyst)
    browser = login(cast.analyst)
    browser.post(STEP, {"otp": old[0]})
    refused = browser.post("/accounts/second-factor/recovery-codes/", {"otp": old[1]}, follow=True)
    assert "6-digit code from your authenticator app" in refused.content.decode()
    shown = browser.post("/accounts/second-factor/recovery-codes/", {"otp": app_code(cast.analyst)})
    new = shown.context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert browser.get("/risk/").status_code == 200  # still confirmed, by the app now

    refused = browser.post("/accounts/second-factor/disable/", {"otp": old[2]}, follow=True)
    assert "This code is not right" in refused.content.decode()
    done = browser.post("/accounts/second-factor/disable/", {"otp": new[0]}, follow=True)
    assert "Your second factor is turned off." in done.content.decode()
    assert not TOTPDevice.objects.filter(user=cast.analyst).exists()

    browser.post("/accounts/logout/")
    log_in(client, cast.analyst)
    assert client.get("/risk/").status_code == 200  # the password is enough again


def test_a_role_that_requires_it_sends_its_users_to_set_it_up(cast, login, client):
    admin = login(cast.admin)
    response = admin.post(POLICY, {"second_factor_roles": ["officer"], "reason": ""})
    assert response.status_code == 302
    assert SecurityPolicy.objects.get().second_factor_roles == ["officer"]
    admin.post("/accounts/logout/")

    log_in(client, cast.food_officer)
    for path in ("/queue/", "/", MANAGE):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{SETUP}?next="), path
    page = client.get(SETUP).content.decode()
    assert "Your role requires a second factor" in page
    assert "Queue</a>" not in page
    # The API does not hand a token over the password alone either.
    response = client.post(
        "/api/v1/auth/token/", {"username": "food_officer", "password": PASSWORD}
    )
    assert response.status_code == 400 and "otp" in response.json()["fields"]

    client.post(SETUP, {"otp": app_code(cast.food_officer, -1, confirmed=False)})
    assert client.get("/queue/").status_code == 200
    turn_off = client.post(
        "/accounts/second-factor/disable/", {"otp": app_code(cast.food_officer)}, follow=True
    )
    assert "cannot be turned off" in turn_off.content.decode()
    assert TOTPDevice.objects.filter(user=cast.food_officer, confirmed=True).exists()

    client.post("/accounts/logout/")
    log_in(client, cast.supervisor)  # a role the policy leaves alone
    assert client.get("/queue/").status_code == 200


def test_a_trader_is_unaffected(cast, client, api):
    security_policy_update(
        second_factor_roles=["officer", "supervisor", "analyst", "cashier", "admin"],
        actor=cast.admin,
    )
    log_in(client, cast.trader_a)
    assert client.get("/declarations/").status_code == 200
    assert client.get(SETUP).status_code == 404
    assert client.get(MANAGE).status_code == 404
    assert "Second factor" not in client.get("/declarations/").content.decode()
    response = api.post("/api/v1/auth/token/", {"username": "trader_a", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["token"]
    with pytest.raises(ValidationError) as refused:
        security_policy_update(second_factor_roles=["trader"], actor=cast.admin)
    assert "second_factor_roles" in refused.value.message_dict


def test_the_token_endpoint_needs_the_code_of_a_user_who_has_one(cast, api):
    enrolled(cast.food_officer)
    token = "/api/v1/auth/token/"
    credentials = {"username": "food_officer", "password": PASSWORD}
    for sent in ({}, {"otp": "12345"}, {"otp": "abcdefgh"}):
        response = api.post(token, {**credentials, **sent})
        assert response.status_code == 400, sent
        assert list(response.json()["fields"]) == ["otp"], sent
    response = api.post(token, {**credentials, "otp": app_code(cast.food_officer)})
    assert response.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api.get("/api/v1/reviews/").status_code == 200  # no code on later calls
    # A wrong password is still refused as before, the code unasked.
    api.credentials()
    response = api.post(token, {"username": "food_officer", "password": "nope"})
    assert response.status_code == 400 and "otp" not in response.json().get("fields", {})


def test_only_an_administrator_changes_the_policy_and_every_change_is_kept(cast, login):
    officer = login(cast.supervisor)
    response = officer.get(POLICY)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    officer.post(POLICY, {"second_factor_roles": []})
    with pytest.raises(PermissionDenied):
        security_policy_update(second_factor_roles=[], actor=cast.supervisor)
    officer.post("/accounts/logout/")

    admin = login(cast.admin)
    page = admin.get(POLICY).content.decode()
    assert 'value="officer"' in page and 'value="trader"' not in page
    admin.post(POLICY, {"second_factor_roles": ["officer", "supervisor"]})
    # Releasing a role lowers the bar: it takes a reason.
    response = admin.post(POLICY, {"second_factor_roles": ["officer"], "reason": ""})
    assert response.status_code == 200
    assert "Say why the second factor is no longer required of supervisor" in (
        response.content.decode()
    )
    assert SecurityPolicy.objects.get().second_factor_roles == ["officer", "supervisor"]
    admin.post(POLICY, {"second_factor_roles": ["officer"], "reason": "Supervisors use kiosks"})
    assert SecurityPolicy.objects.get().second_factor_roles == ["officer"]

    changes = list(SecurityPolicyChange.objects.order_by("id"))
    kept = [
        (c.changed_by, c.before["second_factor_roles"], c.after["second_factor_roles"], c.reason)
        for c in changes
    ]
    assert kept == [
        (cast.admin, [], ["officer", "supervisor"], ""),
        (cast.admin, ["officer", "supervisor"], ["officer"], "Supervisors use kiosks"),
    ]  # fmt: skip
    listing = admin.get("/admin/accounts/securitypolicychange/").content.decode()
    assert "Supervisors use kiosks" in listing
    with pytest.raises(DatabaseError), transaction.atomic():
        SecurityPolicyChange.objects.filter(pk=changes[0].pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        SecurityPolicyChange.objects.filter(pk=changes[0].pk).delete()


def test_an_administrator_resets_a_lost_second_factor(cast, login, client):
    enrolled(cast.food_officer)
    admin = login(cast.admin)
    response = admin.post(
        "/admin/accounts/user/",
        {"action": "reset_second_factor", "_selected_action": [cast.food_officer.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=cast.food_officer).exists()
    admin.post("/accounts/logout/")
    log_in(client, cast.food_officer)
    assert client.get("/queue/").status_code == 200

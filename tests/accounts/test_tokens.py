"""API tokens expire, are listed and revoked by their owner and by an administrator,
and die with a password change, through the real HTTP stack."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Another-sturdy-passphrase-8"


def obtain(username="trader_a", password=PASSWORD, **data) -> dict:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password, **data}
    )
    assert response.status_code == 200, response.content
    return response.json()


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key: str) -> bool:
    status = with_token(key).get("/api/v1/declarations/").status_code
    assert status in (200, 401), status
    return status == 200


def test_the_token_response_shows_its_expiry_and_the_key_is_not_stored(cast, settings):
    settings.API_TOKEN_TTL = timedelta(hours=24)
    issued = obtain(name="customs broker software")
    expires = timezone.datetime.fromisoformat(issued["expires_at"])
    assert abs(expires - (timezone.now() + timedelta(hours=24))) < timedelta(minutes=1)
    token = ApiToken.objects.get(pk=issued["id"])
    assert issued["token"] not in (token.digest, token.prefix)
    assert token.name == "customs broker software"
    assert works(issued["token"])


def test_each_login_gets_its_own_token(cast):
    first, second = obtain(), obtain()
    assert first["token"] != second["token"]
    assert works(first["token"]) and works(second["token"])


def test_an_expired_token_is_refused_with_a_reason(cast):
    issued = obtain()
    ApiToken.objects.filter(pk=issued["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = with_token(issued["token"]).get("/api/v1/declarations/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Token expired: ask for a new one."


def test_a_token_near_its_expiry_still_works(cast):
    issued = obtain()
    ApiToken.objects.filter(pk=issued["id"]).update(
        expires_at=timezone.now() + timedelta(minutes=1)
    )
    assert works(issued["token"])


def test_the_owner_lists_their_live_tokens_without_keys(cast):
    kept, current = obtain(name="kept"), obtain(name="current")
    expired = obtain(name="expired")
    ApiToken.objects.filter(pk=expired["id"]).update(expires_at=timezone.now())
    obtain("trader_b")
    response = with_token(current["token"]).get("/api/v1/auth/tokens/")
    assert response.status_code == 200
    listed = {row["id"]: row for row in response.json()}
    assert set(listed) == {kept["id"], current["id"]}
    assert listed[current["id"]]["current"] and not listed[kept["id"]]["current"]
    assert listed[kept["id"]]["prefix"] == kept["token"][:8]
    assert kept["token"] not in response.content.decode()


def test_the_owner_revokes_a_token_and_it_stops_working(cast):
    lost, mine = obtain(name="lost laptop"), obtain()
    response = with_token(mine["token"]).delete(f"/api/v1/auth/tokens/{lost['id']}/")
    assert response.status_code == 204
    assert not works(lost["token"])
    assert works(mine["token"])


def test_the_owner_revokes_the_token_in_use(cast):
    mine = obtain()
    client = with_token(mine["token"])
    assert client.delete(f"/api/v1/auth/tokens/{mine['id']}/").status_code == 204
    assert client.get("/api/v1/declarations/").status_code == 401


def test_another_users_token_answers_404_and_keeps_working(cast):
    theirs, mine = obtain("trader_b"), obtain("trader_a")
    admins = obtain("admin")
    for key in (mine["token"], admins["token"]):
        response = with_token(key).delete(f"/api/v1/auth/tokens/{theirs['id']}/")
        assert response.status_code == 404
    assert works(theirs["token"])


def test_the_owner_revokes_on_the_account_page(cast, login):
    issued = obtain()
    page = login(cast.trader_a)
    listed = page.get("/accounts/tokens/")
    assert listed.status_code == 200
    assert issued["token"][:8] in listed.content.decode()
    assert issued["token"] not in listed.content.decode()
    response = page.post(f"/accounts/tokens/{issued['id']}/revoke/")
    assert response.status_code == 302
    assert not works(issued["token"])


def test_the_account_page_does_not_revoke_others_tokens(cast, login):
    theirs = obtain("trader_b")
    page = login(cast.trader_a)
    assert page.post(f"/accounts/tokens/{theirs['id']}/revoke/").status_code == 404
    assert works(theirs["token"])


def test_an_administrator_revokes_a_token_in_the_admin(cast, login):
    issued, other = obtain(), obtain()
    admin = login(cast.admin)
    listed = admin.get("/admin/accounts/apitoken/")
    assert listed.status_code == 200 and issued["token"][:8] in listed.content.decode()
    response = admin.post(f"/admin/accounts/apitoken/{issued['id']}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not works(issued["token"])
    assert works(other["token"])


def test_an_administrator_revokes_every_token_of_a_user(cast, login):
    first, second, theirs = obtain(), obtain(), obtain("trader_b")
    admin = login(cast.admin)
    response = admin.post(
        "/admin/accounts/user/",
        {"action": "revoke_api_tokens", "_selected_action": [cast.trader_a.pk]},
        follow=True,
    )
    assert "Revoked 2 API tokens." in response.content.decode()
    assert not works(first["token"]) and not works(second["token"])
    assert works(theirs["token"])


def test_changing_ones_password_on_the_page_ends_every_token(cast, login):
    first, second = obtain(), obtain()
    page = login(cast.trader_a)
    response = page.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert not works(first["token"]) and not works(second["token"])
    assert not ApiToken.objects.filter(user=cast.trader_a).exists()
    # The page's own session goes on; the new password gets a new token.
    assert page.get("/accounts/tokens/").status_code == 200
    assert works(obtain(password=NEW_PASSWORD)["token"])


def test_a_wrong_old_password_changes_nothing(cast, login):
    issued = obtain()
    page = login(cast.trader_a)
    response = page.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    assert works(issued["token"])


def test_an_administrator_setting_a_password_ends_the_users_tokens(cast, login):
    issued = obtain()
    admin = login(cast.admin)
    response = admin.post(
        f"/admin/accounts/user/{cast.trader_a.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not works(issued["token"])
    assert works(obtain(password=NEW_PASSWORD)["token"])


def test_a_password_set_outside_the_services_ends_the_tokens_too(cast):
    issued = obtain()
    # manage.py changepassword, or a shell: User.set_password and save, no service.
    user = cast.trader_a
    user.set_password(NEW_PASSWORD)
    user.save()
    response = with_token(issued["token"]).get("/api/v1/declarations/")
    assert response.status_code == 401
    assert "password change" in response.json()["detail"]
    assert with_token(issued["token"]).get("/api/v1/auth/tokens/").status_code == 401


def test_a_deactivated_user_is_refused(cast):
    issued = obtain()
    cast.trader_a.is_active = False
    cast.trader_a.save()
    assert not works(issued["token"])


def test_expired_tokens_are_swept_by_the_periodic_job(cast, settings):
    from accounts.tasks import delete_expired_api_tokens

    old, live = obtain(), obtain()
    ApiToken.objects.filter(pk=old["id"]).update(expires_at=timezone.now() - timedelta(hours=1))
    assert delete_expired_api_tokens() == 1
    assert list(ApiToken.objects.values_list("pk", flat=True)) == [live["id"]]
    assert "accounts.tasks.delete_expired_api_tokens" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_a_token_authenticated_call_reads_token_user_and_company_in_one_query(cast):
    client = with_token(obtain()["token"])
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/notifications/").status_code == 200
    token_queries = [q["sql"] for q in queries.captured_queries if "accounts_apitoken" in q["sql"]]
    assert len(token_queries) == 1
    assert "accounts_company" in token_queries[0]

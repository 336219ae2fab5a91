"""Hostile or broken input and a broken database get clear answers, never a 500."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from declarations.models import Declaration
from tests.conftest import wait_for
from tests.factories import api_payload, consistent_header, item_data
from tests.risk.conftest import free_port, kill_group

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x7!kQ2#vN9$wL4^pR8&zT1*bY6(cM3)fH5_jD0+gSe4@uA9%iO2=qW8~nX",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "AUDIT_HMAC_KEYS": "k1:9Zt4-vQm2RkX8yLw3sPa6NdH1cJf5GbE",
}


@pytest.mark.django_db
@pytest.mark.parametrize("opening", ["[", '{"a":'], ids=["arrays", "objects"])
def test_deeply_nested_json_is_refused_with_400(cast, api, opening):
    body = opening * 1000 + "1" + ("]" if opening == "[" else "}") * 1000
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON nested too deeply"}
    assert not Declaration.objects.exists()


@pytest.mark.django_db
def test_nesting_just_past_the_limit_is_refused_with_400(cast, api):
    # Shallow enough for the json module: our own limit refuses it.
    body = "[" * 65 + "]" * 65
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON nested too deeply"}


@pytest.mark.django_db
def test_ordinary_nesting_still_files_a_declaration(cast, api):
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/", api_payload(), format="json"
    )
    assert response.status_code == 201, response.json()


@pytest.mark.django_db
def test_page_forms_are_not_affected_by_the_json_limit(cast, login):
    items = [item_data()]
    body = {k: str(v) for k, v in consistent_header(items, invoice_number="INV-PAGE").items()}
    body.update({"items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "0"})
    body.update({f"items-0-{key}": str(value) for key, value in items[0].items()})
    response = login(cast.trader_a).post("/declarations/new/", body)
    assert response.status_code == 302
    assert Declaration.objects.get().invoice_number == "INV-PAGE"


@contextmanager
def web_server(**env):
    """The platform under gunicorn, as deployed, in a process group of its own."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "singlewindow.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base) or process.poll() is not None, timeout=60)
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        yield base
    finally:
        kill_group(process)


def _answers(base: str) -> bool:
    try:
        fetch(base + "/accounts/login/")
    except OSError:
        return False
    return True


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, **headers):
    """(status, headers, body) of a GET, whatever the status; redirects are not followed."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.build_opener(_NoRedirects).open(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


@pytest.mark.parametrize("debug", ["false", "true"], ids=["production", "development"])
def test_with_the_database_down_the_api_and_pages_answer_503_with_retry_after(debug):
    dead_database = f"postgresql://postgres@127.0.0.1:{free_port()}/singlewindow"
    with web_server(**{**PRODUCTION, "DEBUG": debug, "DATABASE_URL": dead_database}) as base:
        status, headers, body = fetch(
            base + "/api/v1/declarations/", Authorization="Token 0123456789abcdef"
        )
        assert status == 503
        assert headers["Content-Type"] == "application/json"
        assert headers["Retry-After"] == "30"
        assert json.loads(body) == {
            "detail": "The service is temporarily unavailable; try again shortly."
        }

        # A signed-in browser: reading its session needs the database.
        status, headers, body = fetch(base + "/declarations/", Cookie="sessionid=" + "a1" * 16)
        assert status == 503
        assert headers["Content-Type"].startswith("text/html")
        assert headers["Retry-After"] == "30"
        assert "<h1>Temporarily unavailable</h1>" in body
        assert "Traceback" not in body

        # The health check keeps its own answer, naming what is down.
        status, headers, body = fetch(base + "/health/")
        assert status == 503
        assert json.loads(body)["checks"]["database"].startswith("down")


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        ({"SECURE_COOKIES": "false"}, False),
        ({"SECURE_COOKIES": "false", "SESSION_COOKIE_SECURE": "true"}, (True, False)),
    ],
    ids=["secure-cookies-false", "one-overridden"],
)
def test_secure_cookies_sets_both_cookie_flags_in_production(env, secure):
    # Both default to true in production (the deploy check in test_setup.py keeps it so).
    script = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps([settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE]))"
    )
    cleared = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECURE_COOKIES", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**cleared, **PRODUCTION, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    expected = list(secure) if isinstance(secure, tuple) else [secure, secure]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected


@pytest.mark.django_db
def test_pages_and_the_api_carry_the_security_headers(cast, api, login, settings):
    settings.PAYMENT_BANK_URL = "https://pay.bank.example/checkout?merchant=sw"
    answers = {
        "login page": api.get("/accounts/login/"),
        "signed-in page": login(cast.trader_a).get("/declarations/"),
        "API": api.as_user(cast.trader_a).get("/api/v1/declarations/"),
        "API error": api.get("/api/v1/declarations/", HTTP_AUTHORIZATION="Token wrong"),
    }
    for name, response in answers.items():
        assert response.status_code in (200, 401), name
        policy = dict(
            directive.strip().split(" ", 1)
            for directive in response["Content-Security-Policy"].split(";")
        )
        assert policy["default-src"] == "'self'", name
        assert policy["script-src"] == "'self'", name
        assert policy["style-src"] == "'self'", name
        assert policy["object-src"] == "'none'", name
        assert policy["frame-ancestors"] == "'none'", name
        assert policy["base-uri"] == "'self'", name
        # Paying redirects the browser's form post to the bank.
        assert policy["form-action"] == "'self' https://pay.bank.example", name
        assert response["Referrer-Policy"] == "same-origin", name
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert "camera=()" in response["Permissions-Policy"], name
        assert "geolocation=()" in response["Permissions-Policy"], name


@pytest.mark.django_db
def test_without_a_bank_forms_post_only_to_the_platform(api, settings):
    settings.PAYMENT_BANK_URL = ""
    policy = api.get("/accounts/login/")["Content-Security-Policy"]
    assert "form-action 'self';" in policy + ";"

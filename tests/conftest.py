"""The shared cast and the real Celery worker the flow tests run against."""

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from agencies.services import jurisdiction_rule_create
from tests.factories import (
    BANK_SECRET,
    PASSWORD,
    TEST_OFFICE,
    AgencyFactory,
    CompanyFactory,
    UserFactory,
)

ROOT = Path(__file__).resolve().parent.parent
# Worker logs and collected static files live under var/, absent from a fresh clone.
(ROOT / "var" / "static").mkdir(parents=True, exist_ok=True)

# Playwright's sync API runs an event loop in the test thread; the ORM calls
# the tests make around it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences"}


def _load_reference_data_if_gone() -> None:
    """Load the reference data when its tables are empty, committed on a connection of
    its own: a test's transaction (the `db` fixture's) would roll it back, and the
    next test would load it again."""
    from django.core.management import call_command
    from django.db import connections

    from demo.rates import exchange_rates_publish_today
    from reference.models import ExchangeRate, HsCode

    failure = []

    def load():
        try:
            if not HsCode.objects.exists():
                call_command("load_reference_data", verbosity=0)
            if not ExchangeRate.objects.filter(valid_from=timezone.localdate()).exists():
                exchange_rates_publish_today()
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=load)  # Django's connections are per thread
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


@pytest.fixture(autouse=True)
def reference_data(request):
    """HS codes, units, offices, rates and tariff for every test that uses the database.

    Loaded when found empty: once per run, and again after a transactional
    test's flush has emptied the tables. Today's exchange rates are published
    as an administration does every day (the shipped ones are dated), so
    lodgement finds a current rate; tests of a rate's age make their own.
    Per-process caches start clean.
    """
    from reference.lookups import clear_caches

    clear_caches()
    uses_db = request.node.get_closest_marker("django_db") or DB_FIXTURES & set(
        request.fixturenames
    )
    if uses_db:
        request.getfixturevalue("django_db_setup")
        with request.getfixturevalue("django_db_blocker").unblock():
            _load_reference_data_if_gone()
    yield
    clear_caches()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The default hasher is deliberately slow; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def audit_anchor_dir(settings, tmp_path):
    # A test's anchors stay with it, and a `./dev start` in this checkout leaves its own
    # anchors (var/audit-anchors) out of the tests' `audit_verify`.
    settings.AUDIT_ANCHOR_DIR = tmp_path / "audit-anchors"


@pytest.fixture(autouse=True)
def payment_bank(settings):
    # The bank the tests' notifications come from; no bank page unless a test starts one.
    settings.PAYMENT_NOTIFICATION_SECRET = BANK_SECRET
    settings.PAYMENT_BANK_URL = ""


@dataclass
class Cast:
    customs: object
    food: object
    plant: object
    company_a: object
    company_b: object
    trader_a: User
    trader_b: User
    customs_officer: User
    food_officer: User
    plant_officer: User
    supervisor: User
    analyst: User
    admin: User


@pytest.fixture
def cast(db) -> Cast:
    customs = AgencyFactory(code="customs", name="Customs", is_customs=True)
    food = AgencyFactory(code="food", name="Food and Drug Safety")
    plant = AgencyFactory(code="plant", name="Plant Quarantine")
    # The cast's agencies look at their goods whatever permits are cited, so that their
    # officers have work; clearance by permit has tests of its own.
    for agency, prefix, permit_type in (
        (food, "02", "Food import notification"),
        (food, "0805", "Food import notification"),
        (plant, "08", "Phytosanitary certificate"),
    ):
        jurisdiction_rule_create(
            agency=agency, hs_prefix=prefix, permit_type=permit_type, always_review=True
        )
    company_a = CompanyFactory(name="Company A")
    company_b = CompanyFactory(name="Company B")
    return Cast(
        customs=customs,
        food=food,
        plant=plant,
        company_a=company_a,
        company_b=company_b,
        trader_a=UserFactory(username="trader_a", company=company_a),
        trader_b=UserFactory(username="trader_b", company=company_b),
        # Posted at the office the factories' declarations enter at.
        customs_officer=UserFactory(
            username="customs_officer", role="officer", agency=customs, offices=[TEST_OFFICE]
        ),
        food_officer=UserFactory(
            username="food_officer", role="officer", agency=food, offices=[TEST_OFFICE]
        ),
        plant_officer=UserFactory(
            username="plant_officer", role="officer", agency=plant, offices=[TEST_OFFICE]
        ),
        supervisor=UserFactory(
            username="supervisor", role="supervisor", agency=customs, offices=[TEST_OFFICE]
        ),
        analyst=UserFactory(username="analyst", role="analyst", agency=customs),
        admin=UserFactory(username="admin", role="admin"),
    )


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` authenticates with a real token."""
    from accounts.services import api_token_issue

    client = APIClient()

    def as_user(user):
        _, key = api_token_issue(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    client.as_user = as_user
    return client


def login_request():
    """The request a test client's login is made with: django-axes counts logins per
    address and refuses to judge one without a request."""
    from django.test import RequestFactory

    return RequestFactory().post("/accounts/login/")


@pytest.fixture
def login(client):
    def as_user(user):
        assert client.login(request=login_request(), username=user.username, password=PASSWORD)
        return client

    return as_user


@pytest.fixture(autouse=True)
def login_throttle_reset():
    """Every test starts with a fresh allowance of logins at the token endpoint: the
    throttle counts in Redis, which outlives a test's database transaction (the
    lockout's records are rows and roll back with it)."""
    from django.core.cache import cache

    cache.delete("throttle_login_127.0.0.1")


@pytest.fixture(autouse=True)
def emergency_notices_reset():
    """The emergencies the banner and the API header show are cached in Redis, which
    outlives a test's database transaction. Every test starts as the platform runs
    between two changes: the cache says what the database holds, no emergency (so a
    query count measures the steady state, not the one miss after a change). The
    services forget it when an emergency changes; a test that makes one otherwise
    calls emergencies.selectors.emergency_notices_forget()."""
    from django.core.cache import cache

    from emergencies.selectors import NOTICES_CACHE_KEY, NOTICES_CACHE_SECONDS

    cache.set(NOTICES_CACHE_KEY, [], NOTICES_CACHE_SECONDS)


def _test_database_url() -> str:
    """DATABASE_URL with the test database's name, for processes we start."""
    parts = urlsplit(os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/x")
    return urlunsplit(parts._replace(path="/" + settings.DATABASES["default"]["NAME"]))


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker process, on the real Redis broker, using the test database."""
    from singlewindow.celery import app

    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "CONN_MAX_AGE": "0"}
    env["CELERY_QUEUE"] = settings.CELERY_TASK_DEFAULT_QUEUE
    log = open(ROOT / "var" / f"{settings.CELERY_TASK_DEFAULT_QUEUE}-worker.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.worker",
            "worker",
            "--hostname",
            name,
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[name], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the test worker did not start; see {log.name}")
    process.hostname = name
    yield process
    process.terminate()
    process.wait(30)
    log.close()


def run_django_script(script: str, *args: str, env: dict) -> object:
    """Run `script` (Python that sets Django up itself) in a process of its own, with
    `env` (a dead broker, another database role...), and return the JSON it printed
    last. The process must succeed."""
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def wait_until_drained(worker, timeout: float = 20.0) -> None:
    """Wait until the test queue is empty and the worker holds no task."""
    from redis import Redis

    from singlewindow.celery import app

    redis = Redis.from_url(settings.REDIS_URL)
    inspect = app.control.inspect(destination=[worker.hostname], timeout=0.5)

    def drained() -> bool:
        if redis.llen(settings.CELERY_TASK_DEFAULT_QUEUE):
            return False
        busy = [*(inspect.active() or {}).values(), *(inspect.reserved() or {}).values()]
        return not any(busy)

    wait_for(drained, timeout=timeout, interval=0.2)


def pytest_collection_modifyitems(items):
    """Every transactional test restores the database's initial rows itself.

    A transactional test empties every table when it ends; a plain one then
    recreates content types and permissions (post_migrate) with new ids,
    while a serialized_rollback one leaves them for the next serialized test
    to restore with their original ids. Tests that need the original ids (a
    long-lived worker process caches them) ask for serialized_rollback, and
    their restore fails on a duplicate key if a plain transactional test ran
    before. Making every transactional test serialized keeps the suite
    correct whatever order the tests run in.

    The marker is put first: pytest-django reads the closest django_db marker,
    and a test's own markers (its decorator's) come before those added here
    unless this one is inserted ahead of them.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        transactional = (marker is not None and marker.kwargs.get("transaction")) or (
            "transactional_db" in item.fixturenames or "live_server" in item.fixturenames
        )
        if transactional and not (marker and marker.kwargs.get("serialized_rollback")):
            kwargs = dict(marker.kwargs) if marker else {}
            kwargs.update(transaction=True, serialized_rollback=True)
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)

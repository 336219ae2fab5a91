"""The surge health page and its JSON: queue depth, scoring lag, waiting reviews by agency
and office, live (htmx), in a constant number of queries; for administrators, and for
supervisors their agency's queues at their offices."""

from datetime import timedelta

import pytest
from redis import Redis

from core.broker import broker_queue_depth
from reference.services import office_close
from risk.models import LaneDecision
from tests.agencies.conftest import MEAT, PHONES
from tests.factories import UserFactory
from tests.risk.conftest import submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_queue(settings):
    """A queue of the test's own, which no worker consumes, with three tasks in it."""
    name = "continuity-depth-test"
    settings.CELERY_TASK_DEFAULT_QUEUE = name
    redis = Redis.from_url(settings.CELERY_BROKER_URL)
    redis.delete(name, f"{name}\x06\x163")
    redis.rpush(name, "a", "b")
    redis.rpush(f"{name}\x06\x163", "c")  # a priority step's list counts too
    yield name
    redis.delete(name, f"{name}\x06\x163")


@pytest.fixture
def busy(cast, reviewed):
    """Two declarations waiting for a lane; at KRPUS one reviewed by customs and food, one
    by customs alone; at KRINC one by customs; lanes decided 10, 20 and 30 s after
    lodgement."""
    waiting = [submitted(cast.trader_a) for _ in range(2)]
    routed = [
        reviewed(lane="red", hs_codes=(MEAT,)),
        reviewed(lane="yellow", hs_codes=(PHONES,)),
        reviewed(lane="yellow", hs_codes=(PHONES,), office_of_entry="KRINC"),
    ]
    for seconds, declaration in zip((10, 20, 30), routed, strict=True):
        LaneDecision.objects.filter(declaration=declaration).update(
            decided_at=declaration.submitted_at + timedelta(seconds=seconds)
        )
    return {"waiting": waiting, "routed": routed}


def test_an_administrator_reads_the_whole_platforms_health(cast, busy, api, private_queue):
    body = api.as_user(cast.admin).get("/api/v1/continuity/health/").json()
    assert body["queue_depth"] == 3 and body["queue_error"] == ""
    assert body["unscored"] == 2 and body["oldest_unscored_seconds"] >= 0
    assert body["decided_last_hour"] == 3
    assert body["lag_p50"] == pytest.approx(20.0)
    assert body["lag_p95"] == pytest.approx(29.0)  # 20 + 0.9 * (30 - 20)
    rows = {(r["agency"], r["office"]): (r["waiting"], r["red"]) for r in body["reviews"]}
    assert rows == {
        ("customs", "KRPUS"): (2, 1),
        ("food", "KRPUS"): (1, 1),
        ("customs", "KRINC"): (1, 0),
    }
    assert {t["name"]: t["waiting"] for t in body["by_office"]} == {"KRPUS": 3, "KRINC": 1}
    assert {t["name"]: t["waiting"] for t in body["by_agency"]} == {
        "Customs": 3, "Food and Drug Safety": 1,
    }  # fmt: skip
    assert body["closed_offices"] == [] and body["scoring_degraded"] is False


def test_a_supervisor_reads_their_agencys_queues_at_their_offices(cast, busy, api, login):
    body = api.as_user(cast.supervisor).get("/api/v1/continuity/health/").json()
    assert [(r["agency"], r["office"]) for r in body["reviews"]] == [("customs", "KRPUS")]
    assert body["unscored"] == 2  # one engine for everyone
    food_supervisor = UserFactory(username="food_sup", role="supervisor", agency=cast.food)
    body = api.as_user(food_supervisor).get("/api/v1/continuity/health/").json()
    assert [(r["agency"], r["office"]) for r in body["reviews"]] == [("food", "KRPUS")]
    page = login(food_supervisor).get("/continuity/health/").content.decode()
    assert "Food and Drug Safety" in page and "Customs" not in page.split("By agency")[1]


@pytest.mark.parametrize("who", ["trader_a", "customs_officer", "food_officer", "analyst"])
def test_the_health_is_no_one_elses(cast, api, login, who):
    user = getattr(cast, who)
    assert api.as_user(user).get("/api/v1/continuity/health/").status_code == 404
    browser = login(user)
    assert browser.get("/continuity/health/").status_code == 404
    assert browser.get("/continuity/health/panel/").status_code == 404


def test_the_page_polls_its_panel_which_says_what_runs_short(cast, busy, login, private_queue):
    office_close(office_code="KRINC", reason="storm surge", actor=cast.admin)
    browser = login(cast.admin)
    page = browser.get("/continuity/health/").content.decode()
    assert 'hx-get="/continuity/health/panel/"' in page and 'hx-trigger="every 5s"' in page
    panel = browser.get("/continuity/health/panel/").content.decode()
    assert panel.startswith('<div id="health-panel"')  # the fragment alone, swapped in
    assert "<html" not in panel
    assert "KRINC Incheon Customs (Incheon Port) closed" in panel
    assert 'data-testid="queue-depth"><strong>3</strong>' in panel
    assert 'data-testid="unscored"><strong>2</strong>' in panel
    assert 'data-testid="lag-p95">29.0 s' in panel


def test_a_broker_out_of_reach_is_said_and_the_rest_still_shows(cast, busy, login, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    panel = login(cast.admin).get("/continuity/health/panel/").content.decode()
    assert "broker unreachable" in panel
    assert 'data-testid="unscored"><strong>2</strong>' in panel


def test_the_health_costs_the_same_queries_however_busy(
    cast, reviewed, api, login, django_assert_num_queries
):
    client, browser = api.as_user(cast.admin), login(cast.admin)
    for rounds in (1, 6):
        for _ in range(rounds):
            submitted(cast.trader_a)
            reviewed(lane="red", hs_codes=(MEAT,))
            reviewed(lane="green", hs_codes=(PHONES,), office_of_entry="KRINC")
        # Warm: the emergencies in force every API answer names are read from the cache.
        client.get("/api/v1/continuity/health/")
        # token; unscored, lag, reviews, closures, planned fallback, faults, outbox
        with django_assert_num_queries(8):
            assert client.get("/api/v1/continuity/health/").status_code == 200
        # session, user; the same seven
        with django_assert_num_queries(9):
            assert browser.get("/continuity/health/panel/").status_code == 200


def test_queue_depth_sums_the_priority_lists(private_queue):
    assert broker_queue_depth() == 3

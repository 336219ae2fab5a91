"""The continuity desk's pages: an office closed and its work diverted, the scoring
fallback switched by hand and its decisions re-scored, and who may open each."""

import pytest
from django.utils import timezone

from declarations.models import Declaration
from reference.models import OfficeClosure
from reference.services import office_close
from risk.models import PlannedFallback, RiskJob
from tests.agencies.conftest import PHONES
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_administrator_closes_an_office_and_diverts_its_work_from_the_page(
    cast, reviewed, login
):
    first = reviewed(lane="red", hs_codes=(PHONES,))
    second = reviewed(lane="yellow", hs_codes=(PHONES,))
    browser = login(cast.admin)
    assert "Open" in browser.get("/continuity/offices/KRPUS/").content.decode()

    # A reason is needed: the form says so on its field, nothing is closed.
    page = browser.post("/continuity/offices/KRPUS/close/", {"close-reason": ""}).content.decode()
    assert "This field is required." in page and not OfficeClosure.objects.exists()
    response = browser.post(
        "/continuity/offices/KRPUS/close/",
        {
            "close-reason": "Typhoon damage",
            "close-closed_from": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    home = browser.get("/continuity/").content.decode()
    assert "Closed</strong> since" in home and "Typhoon damage" in home

    page = browser.get("/continuity/offices/KRPUS/").content.decode()
    assert "Waiting here: 2 declarations" in page
    assert first.reference in page and second.reference in page
    assert '<option value="KRINC">' in page and '<option value="KRICN">' not in page
    # Ticked nothing: told so on the field.
    page = browser.post(
        "/continuity/offices/KRPUS/divert/",
        {"to_office": "KRINC", "reason": "port closed", "scope": "selected"},
    ).content.decode()
    assert "Tick the declarations to divert" in page
    response = browser.post(
        "/continuity/offices/KRPUS/divert/",
        {"to_office": "KRINC", "reason": "port closed", "scope": "selected",
         "declarations": [second.pk]},
    )  # fmt: skip
    assert response.status_code == 302
    assert Declaration.objects.get(pk=second.pk).office_of_entry == "KRINC"
    assert Declaration.objects.get(pk=first.pk).office_of_entry == "KRPUS"
    browser.post(
        "/continuity/offices/KRPUS/divert/",
        {"to_office": "KRUWN", "reason": "port closed", "scope": "all"},
    )
    assert Declaration.objects.get(pk=first.pk).office_of_entry == "KRUWN"
    page = browser.get("/continuity/offices/KRPUS/").content.decode()
    assert "Nothing waits here." in page

    response = browser.post("/continuity/offices/KRPUS/reopen/", {"reopen-reason": "Repaired"})
    assert response.status_code == 302
    assert not OfficeClosure.objects.in_force().exists()


def test_a_customs_supervisor_diverts_their_closed_offices_work_but_closes_nothing(
    cast, reviewed, login
):
    declaration = reviewed(lane="red", hs_codes=(PHONES,))
    office_close(office_code="KRPUS", reason="flood", actor=cast.admin)
    browser = login(cast.supervisor)
    page = browser.get("/continuity/offices/KRPUS/").content.decode()
    assert declaration.reference in page and "Close KRPUS" not in page
    assert "Reopen the office" not in page
    assert browser.post("/continuity/offices/KRPUS/reopen/", {"reason": "x"}).status_code == 404
    assert browser.post("/continuity/offices/KRINC/close/", {"reason": "x"}).status_code == 404
    assert browser.get("/continuity/offices/KRUSN/").status_code == 404  # not theirs
    browser.post(
        "/continuity/offices/KRPUS/divert/",
        {"to_office": "KRINC", "reason": "flood", "scope": "all"},
    )
    assert Declaration.objects.get(pk=declaration.pk).office_of_entry == "KRINC"


def test_the_food_supervisor_of_the_office_diverts_nothing(cast, reviewed, login):
    reviewed(lane="red", hs_codes=(PHONES,))
    office_close(office_code="KRPUS", reason="flood", actor=cast.admin)
    food_supervisor = UserFactory(username="food_sup", role="supervisor", agency=cast.food)
    browser = login(food_supervisor)
    assert browser.get("/continuity/offices/KRPUS/").status_code == 404
    response = browser.post(
        "/continuity/offices/KRPUS/divert/", {"to_office": "KRINC", "reason": "x", "scope": "all"}
    )
    assert response.status_code == 404


def test_the_scoring_page_switches_the_fallback_and_queues_the_re_scoring(
    cast, login, django_capture_on_commit_callbacks
):
    browser = login(cast.admin)
    page = browser.get("/continuity/scoring/").content.decode()
    assert "Scoring runs on its full path" in page
    browser.post("/continuity/scoring/fallback/", {"mode": "default_lane", "reason": "upgrade"})
    page = browser.get("/continuity/scoring/").content.decode()
    assert "Planned fallback on" in page and "Switch the fallback off" in page
    # Re-scoring is refused while it is on: the page says why.
    page = browser.post("/continuity/scoring/rescore/", follow=True).content.decode()
    assert "switch it off first" in page
    browser.post("/continuity/scoring/fallback/off/", {"note": "done"})
    assert PlannedFallback.objects.get().status == "off"
    page = browser.post("/continuity/scoring/rescore/", follow=True).content.decode()
    assert "No decision taken by a fallback waits to be re-scored." in page
    # A proposal of the rules alone waits for a second administrator.
    browser.post("/continuity/scoring/fallback/", {"mode": "rules_only", "reason": "model host"})
    page = browser.get("/continuity/scoring/").content.decode()
    assert "waits for a second administrator" in page and "Yours: another administrator" in page
    other = UserFactory(username="admin_2", role="admin")
    browser = login(other)
    planned = PlannedFallback.objects.get(status="proposed")
    browser.post(f"/continuity/scoring/fallback/{planned.pk}/approve/")
    planned.refresh_from_db()
    assert planned.status == "on" and planned.decided_by == other


def test_a_re_scoring_job_shows_its_progress_then_its_outcome(cast, login):
    job = RiskJob.objects.create(
        kind="rescore", status="running", progress=40, message="2 re-scored",
        requested_by=cast.admin,
    )  # fmt: skip
    browser = login(cast.admin)
    part = browser.get(f"/continuity/scoring/rescore/{job.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in part and 'value="40"' in part
    RiskJob.objects.filter(pk=job.pk).update(
        status="done", progress=100,
        result={"outcomes": {"raised": 2, "updated": 1, "proposed": 0, "kept": 0,
                             "too_late": 1}, "still_falling_back": 0, "errors": 0},
    )  # fmt: skip
    part = browser.get(f"/continuity/scoring/rescore/{job.pk}/").content.decode()
    assert "hx-trigger" not in part and "<strong>2</strong> raised" in part
    replay = RiskJob.objects.create(kind="replay", requested_by=cast.analyst)
    assert browser.get(f"/continuity/scoring/rescore/{replay.pk}/").status_code == 404

"""An export on its own terms: no import duty or VAT, released for exit, and ended by the
office of exit's confirmation that the goods left; flagged when they are not seen
leaving in time."""

import threading
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.models import Review
from clearance.exports import declaration_exit_confirm, exports_flag_overdue
from clearance.services import declaration_assess_risk, declaration_submit
from clearance.tasks import flag_overdue_exports
from core.exceptions import InvalidTransition
from declarations.models import Declaration, ExitConfirmation
from notifications.models import Notification
from reference import lookups
from reference.models import Office
from singlewindow.celery import app
from tests.factories import (
    UserFactory,
    api_payload,
    export_item_data,
    export_payload,
    item_data,
    make_declaration,
    make_export,
    pay,
    route,
)

pytestmark = pytest.mark.django_db

LOGS = "440311"  # wood in the rough: the tariff levies 10 % on its export


def posted(user, *codes):
    user.offices.set(Office.objects.filter(code__in=codes))
    return user


@pytest.fixture
def exit_staff(cast):
    """Customs at Busan (the demo exports' office of exit) and at Incheon port; a food
    officer at Busan, who is not customs."""
    posted(cast.customs_officer, "KRPUS")
    posted(cast.supervisor, "KRPUS", "KRINC")
    posted(cast.food_officer, "KRPUS")
    incheon = posted(
        UserFactory(username="incheon_officer", role="officer", agency=cast.customs), "KRINC"
    )
    return {"busan": cast.customs_officer, "incheon": incheon}


def released_export(cast, *, items=None, **header) -> Declaration:
    """An export of company A, lodged, routed green and released (nothing due)."""
    declaration = make_export(actor=cast.trader_a, items=items, **header)
    declaration_submit(declaration=declaration, actor=cast.trader_a)
    declaration = route(declaration, lane="green")
    assert declaration.status == "released", declaration.status
    return declaration


def confirm(api, user, declaration, **overrides):
    body = {
        "exited_at": timezone.now().isoformat(),
        "transport_mode": "1",
        "transport_identity": "HMM ALGECIRAS 0012W",
        "notes": "Seal checked at the gate",
        **overrides,
    }
    return api.as_user(user).post(f"/api/v1/exits/{declaration.pk}/confirm/", body, format="json")


def released_days_ago(declaration, days: int) -> None:
    """Move the release back in time instead of waiting for it."""
    Declaration.objects.filter(pk=declaration.pk).update(
        released_at=timezone.now() - timedelta(days=days)
    )


# ---- the whole life, through the API -------------------------------------------------------


def test_an_export_lives_through_the_api_from_lodgement_to_exit(
    cast, api, exit_staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = api.as_user(cast.trader_a).post(
            "/api/v1/declarations/", {**export_payload(), "lodge": True}, format="json"
        )
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    declaration = route(Declaration.objects.get(pk=pk), lane="yellow")
    customs = Review.objects.get(declaration_id=pk, agency=cast.customs)
    checked = api.as_user(cast.customs_officer).post(
        f"/api/v1/reviews/{customs.pk}/inspections/",
        {"kind": "documentary", "finding": "no_discrepancy"},
        format="json",
    )
    assert checked.status_code == 201, checked.json()
    approved = api.as_user(cast.customs_officer).post(
        f"/api/v1/reviews/{customs.pk}/approve/", {}, format="json"
    )
    assert approved.status_code == 200, approved.json()

    # Nothing due on furniture: no import duty, no VAT, no export duty. Released for exit.
    read = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{pk}/").json()
    assert read["status"] == "released"
    assert (read["duties"]["duty"], read["duties"]["vat"], read["duties"]["total"]) == (
        "0.00",
        "0.00",
        "0.00",
    )
    assert read["payment"] is None
    assert read["exit"]["exited_at"] is None
    assert read["exit"]["office_of_exit"] == "KRPUS"
    assert read["history"][-1]["text"] == (
        "Cleared by every agency with nothing due. Released for exit: present the goods at "
        "KRPUS, Busan Main Customs (Busan New Port)."
    )
    assert read["next_step"].startswith("Present the goods at KRPUS")

    # The office of exit sees it waiting, and confirms it left.
    waiting = api.as_user(cast.customs_officer).get("/api/v1/exits/").json()
    assert [row["id"] for row in waiting["results"]] == [pk]
    assert waiting["results"][0]["exit_overdue"] is False
    left = timezone.now()
    response = confirm(api, cast.customs_officer, declaration, exited_at=left.isoformat())
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "exited"
    assert response.json()["exit_confirmation"]["confirmed_by"] == "customs_officer"
    assert api.as_user(cast.customs_officer).get("/api/v1/exits/").json()["results"] == []

    # The declarant reads when and how the goods left, never the officer's notes.
    read = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{pk}/").json()
    assert read["status"] == "exited"
    assert datetime.fromisoformat(read["exit"]["exited_at"]) == left
    assert read["exit"]["transport_identity"] == "HMM ALGECIRAS 0012W"
    assert "Seal checked" not in str(read)
    told = Notification.objects.filter(recipient=cast.trader_a, verb="exited").get()
    assert told.text == (
        f"{declaration.reference}: Exit confirmed on {timezone.localtime(left):%Y-%m-%d}: the "
        "goods left by KRPUS, Busan Main Customs (Busan New Port) (maritime, HMM ALGECIRAS "
        "0012W)."
    )
    # The trail records who confirmed it, with the notes, for customs.
    event = Declaration.objects.get(pk=pk).events.get(to_status="exited")
    assert (event.actor, event.reason) == (
        cast.customs_officer,
        "exit confirmed at KRPUS: Seal checked at the gate",
    )


def test_an_export_pays_no_import_duty_or_vat(cast, api):
    """The same goods, the same invoice: imported they owe duty and VAT, exported nothing."""
    client = api.as_user(cast.trader_a)
    goods = item_data(hs_code="940360", description="Office furniture", origin_country="KR")
    imported = client.post(
        "/api/v1/declarations/validate/", api_payload_for(goods, type="IM"), format="json"
    ).json()["duties"]
    exported = client.post(
        "/api/v1/declarations/validate/", api_payload_for(goods, type="EX"), format="json"
    ).json()["duties"]
    assert Decimal(imported["duty"]) > 0 and Decimal(imported["vat"]) > 0
    assert (exported["basis"], exported["duty"], exported["vat"], exported["total"]) == (
        "export",
        "0",
        "0",
        "0",
    )


def api_payload_for(item, *, type):
    if type == "EX":
        return export_payload(items=[item])
    return api_payload(items=[item])


def test_the_risk_engine_scores_an_export_like_any_declaration(
    cast, exit_staff, no_random_selection, django_capture_on_commit_callbacks
):
    declaration = make_export(actor=cast.trader_a)
    with django_capture_on_commit_callbacks(execute=False):
        declaration_submit(declaration=declaration, actor=cast.trader_a)
    decision = declaration_assess_risk(declaration_id=declaration.pk)
    assert decision is not None and decision.lane == "green"
    # Green, nobody else concerned, nothing due: released for exit at once.
    declaration.refresh_from_db()
    assert (declaration.status, declaration.released_at is not None) == ("released", True)


def test_logs_pay_the_export_duty_then_leave(cast, api, exit_staff):
    logs = export_item_data(
        hs_code=LOGS, description="Pine logs", unit="MTQ", quantity="50", value="10000.00"
    )
    declaration = make_export(actor=cast.trader_a, items=[logs])
    declaration_submit(declaration=declaration, actor=cast.trader_a)
    declaration = route(declaration, lane="green")
    rate = lookups.exchange_rate("USD", timezone.localdate())
    value = (Decimal("10000") * rate).quantize(Decimal("1"))
    read = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{declaration.pk}/").json()
    assert read["status"] == "assessed"
    assert read["duties"]["customs_value"] == f"{value:.2f}"
    assert read["duties"]["duty"] == f"{value / 10:.2f}"  # the tariff's 10 % export duty
    assert read["duties"]["vat"] == "0.00"
    assert read["items"][0]["duty_rate"] == "10.000"

    declaration = pay(declaration)
    assert declaration.status == "released"
    assert declaration.released_at is not None
    told = Notification.objects.filter(recipient=cast.trader_a, verb="released").get()
    assert told.text.endswith(
        "Released for exit: present the goods at KRPUS, Busan Main Customs (Busan New Port)."
    )
    assert confirm(api, exit_staff["busan"], declaration).status_code == 201
    assert Declaration.objects.get(pk=declaration.pk).status == "exited"


# ---- who may confirm, and when --------------------------------------------------------------


def test_only_customs_at_the_office_of_exit_sees_and_confirms_it(cast, api, login, exit_staff):
    declaration = released_export(cast)
    refused = [
        exit_staff["incheon"],  # customs, another office
        cast.food_officer,  # posted at Busan, another agency
        cast.trader_a,  # the declarant: reads its declaration, does not confirm its exit
        cast.trader_b,  # another company
        cast.analyst,
        cast.admin,
    ]
    for user in refused:
        client = api.as_user(user)
        assert client.get(f"/api/v1/exits/{declaration.pk}/").status_code == 404, user
        assert confirm(api, user, declaration).status_code == 404, user
        assert declaration.pk not in [
            row["id"] for row in client.get("/api/v1/exits/").json().get("results", [])
        ]
        page = login(user)
        assert page.get(f"/exports/exit/{declaration.pk}/").status_code == 404, user
        assert page.post(f"/exports/exit/{declaration.pk}/", {}).status_code == 404, user
    for user in (cast.food_officer, cast.trader_a, cast.analyst):
        assert api.as_user(user).get("/api/v1/exits/").status_code == 404
        assert login(user).get("/exports/exit/").status_code == 404
    assert not ExitConfirmation.objects.exists()

    # The service refuses them too, whoever calls it.
    with pytest.raises(PermissionDenied):
        declaration_exit_confirm(
            declaration_id=declaration.pk, actor=exit_staff["incheon"], exited_at=timezone.now(),
            transport_mode="1", transport_identity="X",
        )  # fmt: skip

    # A supervisor posted at Busan and Incheon sees both offices' exports, or one.
    incheon_export = released_export(cast, office_of_exit="KRINC", invoice_number="INV-INC")
    supervisor = api.as_user(cast.supervisor)
    ids = [row["id"] for row in supervisor.get("/api/v1/exits/").json()["results"]]
    assert sorted(ids) == sorted([declaration.pk, incheon_export.pk])
    only = supervisor.get("/api/v1/exits/?office=KRINC").json()["results"]
    assert [row["id"] for row in only] == [incheon_export.pk]
    assert confirm(api, cast.supervisor, incheon_export).status_code == 201


def test_an_import_never_exits(cast, api, exit_staff):
    imported = make_declaration(actor=cast.trader_a, invoice_number="INV-IM")
    declaration_submit(declaration=imported, actor=cast.trader_a)
    route(imported, lane="green")
    assert confirm(api, exit_staff["busan"], imported).status_code == 404
    with pytest.raises(InvalidTransition, match="only an export's exit is confirmed"):
        declaration_exit_confirm(
            declaration_id=imported.pk, actor=exit_staff["busan"], exited_at=timezone.now(),
            transport_mode="1", transport_identity="X",
        )  # fmt: skip


def test_goods_not_released_may_not_leave(cast, api, exit_staff):
    declaration = make_export(actor=cast.trader_a)
    declaration_submit(declaration=declaration, actor=cast.trader_a)
    declaration = route(declaration, lane="yellow")  # under review: a documentary check waits
    response = confirm(api, exit_staff["busan"], declaration)
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"{declaration.reference} is under review: the goods are not released for "
        "export and may not leave.",
        "status": "under_review",
    }
    assert Declaration.objects.get(pk=declaration.pk).status == "under_review"
    assert not ExitConfirmation.objects.exists()


def test_the_exit_date_is_checked_against_the_release_and_now(cast, api, exit_staff):
    declaration = released_export(cast)
    before = declaration.released_at - timedelta(hours=1)
    response = confirm(api, exit_staff["busan"], declaration, exited_at=before.isoformat())
    assert response.status_code == 400
    released = timezone.localtime(declaration.released_at)
    assert response.json()["fields"] == {
        "exited_at": [
            f"The goods were released for export at {released:%Y-%m-%d %H:%M}; they cannot "
            "have left before."
        ]
    }
    later = timezone.now() + timedelta(hours=2)
    response = confirm(api, exit_staff["busan"], declaration, exited_at=later.isoformat())
    assert response.json()["fields"] == {
        "exited_at": ["The goods cannot have left later than now."]
    }
    response = confirm(api, exit_staff["busan"], declaration, transport_identity="  ")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"transport_identity"}
    assert Declaration.objects.get(pk=declaration.pk).status == "released"


def test_an_exit_is_confirmed_once(cast, api, exit_staff):
    declaration = released_export(cast)
    assert confirm(api, exit_staff["busan"], declaration).status_code == 201
    again = confirm(api, cast.supervisor, declaration)
    assert again.status_code == 409
    assert "was confirmed already" in again.json()["detail"]
    assert ExitConfirmation.objects.filter(declaration=declaration).count() == 1


# ---- the pages ---------------------------------------------------------------------------


def test_the_office_of_exit_confirms_on_its_page(cast, login, exit_staff):
    declaration = released_export(cast)
    # Released an hour ago: the form's times are to the minute.
    Declaration.objects.filter(pk=declaration.pk).update(
        released_at=timezone.now() - timedelta(hours=1)
    )
    browser = login(exit_staff["busan"])
    listing = browser.get("/exports/exit/").content.decode()
    assert "Exports to confirm at KRPUS, Busan Main Customs (Busan New Port)" in listing
    assert declaration.reference in listing

    page = browser.get(f"/exports/exit/{declaration.pk}/").content.decode()
    assert "Wooden office furniture" in page and "Confirm exit" in page
    future = timezone.localtime() + timedelta(days=1)
    form = {
        "exited_at": future.strftime("%Y-%m-%dT%H:%M"),
        "transport_mode": "1",
        "transport_identity": "HMM ALGECIRAS 0012W",
    }
    refused = browser.post(f"/exports/exit/{declaration.pk}/", form)
    assert refused.status_code == 200
    assert refused.context["form"].errors == {
        "exited_at": ["The goods cannot have left later than now."]
    }
    now = timezone.localtime()
    response = browser.post(
        f"/exports/exit/{declaration.pk}/", {**form, "exited_at": now.strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.status_code == 302
    assert Declaration.objects.get(pk=declaration.pk).status == "exited"
    listing = browser.get("/exports/exit/").content.decode()
    assert "No export waits for its exit to be confirmed." in listing
    assert "HMM ALGECIRAS 0012W (confirmed by customs_officer)" in listing

    # The declarant's page shows when the goods left.
    own = login(cast.trader_a).get(f"/declarations/{declaration.pk}/").content.decode()
    assert f"{now:%Y-%m-%d %H:%M}, by maritime (HMM ALGECIRAS 0012W)" in own


def test_an_officer_posted_nowhere_is_told_so(cast, login):
    cast.customs_officer.offices.clear()
    page = login(cast.customs_officer).get("/exports/exit/").content.decode()
    assert "You are posted at no customs office" in page


# ---- overdue ------------------------------------------------------------------------------


def test_an_export_not_seen_leaving_in_time_is_flagged_once(cast, api, login, exit_staff, settings):
    settings.EXPORT_EXIT_DAYS = 30
    late = released_export(cast, invoice_number="INV-LATE")
    in_time = released_export(cast, invoice_number="INV-ONTIME")
    elsewhere = released_export(cast, invoice_number="INV-INC", office_of_exit="KRINC")
    released_days_ago(late, 31)
    released_days_ago(in_time, 29)
    released_days_ago(elsewhere, 40)

    assert flag_overdue_exports.apply().get() == 2
    late.refresh_from_db()
    assert late.exit_overdue_at is not None
    assert Declaration.objects.get(pk=in_time.pk).exit_overdue_at is None

    # Busan's staff are told of Busan's, Incheon's of Incheon's; the declarant of both.
    def told(user):
        return list(
            Notification.objects.filter(recipient=user, verb="exit_overdue").values_list(
                "text", flat=True
            )
        )

    released_on = timezone.localtime(late.released_at)
    assert told(exit_staff["busan"]) == [
        f"{late.reference}: released for export {released_on:%Y-%m-%d}, exit not confirmed at "
        "KRPUS after 30 days"
    ]
    assert len(told(exit_staff["incheon"])) == 1
    assert len(told(cast.supervisor)) == 2  # posted at both
    assert told(cast.food_officer) == []  # not customs
    assert sorted(told(cast.trader_a)) == sorted(
        [
            f"{d.reference}: Exit not confirmed: the goods were released for export on "
            f"{timezone.localtime(d.released_at):%Y-%m-%d} and {office} has not confirmed they "
            "left. Present them there; if they will not be exported, tell customs."
            for d, office in (
                (late, "KRPUS, Busan Main Customs (Busan New Port)"),
                (Declaration.objects.get(pk=elsewhere.pk), "KRINC, Incheon Customs (Incheon Port)"),
            )
        ]
    )
    assert told(cast.trader_b) == []

    # Flagged once: the next runs tell nobody again.
    notifications = Notification.objects.count()
    assert flag_overdue_exports.apply().get() == 0
    assert exports_flag_overdue() == []
    assert Notification.objects.count() == notifications
    assert late.events.filter(action="exit_overdue").count() == 1

    # The declarant reads it in the history; the office lists it first, marked.
    history = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{late.pk}/").json()
    assert history["history"][-1]["text"].startswith("Exit not confirmed")
    assert history["exit"]["exit_overdue"] is True
    rows = api.as_user(exit_staff["busan"]).get("/api/v1/exits/").json()["results"]
    assert [(r["id"], r["exit_overdue"]) for r in rows] == [(late.pk, True), (in_time.pk, False)]
    listing = login(exit_staff["busan"]).get("/exports/exit/").content.decode()
    assert listing.index(late.reference) < listing.index(in_time.reference)
    assert "Overdue: flagged" in listing

    # Confirmed late, the export still ends.
    assert confirm(api, exit_staff["busan"], late).status_code == 201


# Two connections at once: committed for real, and the database restored after it
# (content types with their ids, as tests/conftest.py explains).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_flag_each_export_once(cast, exit_staff):
    exports = [released_export(cast, invoice_number=f"INV-RACE-{n}") for n in range(6)]
    Declaration.objects.update(released_at=timezone.now() - timedelta(days=40))
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(exports_flag_overdue())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(pk for flagged in results for pk in flagged) == sorted(e.pk for e in exports)
    officer = exit_staff["busan"]
    assert Notification.objects.filter(recipient=officer, verb="exit_overdue").count() == 6
    assert Notification.objects.filter(recipient=cast.trader_a, verb="exit_overdue").count() == 6


def test_the_overdue_job_is_a_periodic_task_in_one_place():
    assert settings.CELERY_BEAT_SCHEDULE["clearance-flag-overdue-exports"]["task"] == (
        "clearance.tasks.flag_overdue_exports"
    )
    assert "clearance.tasks.flag_overdue_exports" in app.tasks


def test_the_office_list_reads_in_constant_queries(cast, api, exit_staff):
    released_export(cast, invoice_number="INV-Q1")
    client = api.as_user(exit_staff["busan"])
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/exits/").json()["results"]) == 1
    for n in range(2, 6):
        released_export(cast, invoice_number=f"INV-Q{n}")
    with CaptureQueriesContext(connection) as five:
        assert len(client.get("/api/v1/exits/").json()["results"]) == 5
    assert len(five) == len(one)


def test_a_service_error_names_the_field(cast, exit_staff):
    declaration = released_export(cast)
    with pytest.raises(ValidationError) as error:
        declaration_exit_confirm(
            declaration_id=declaration.pk, actor=exit_staff["busan"], exited_at=timezone.now(),
            transport_mode="9", transport_identity="X",
        )  # fmt: skip
    assert set(error.value.message_dict) == {"transport_mode"}

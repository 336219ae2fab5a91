"""Transit under guarantee: lodged with the guarantee drawn, released under seal at the
office of departure, arrived and discharged at the office of destination with the
guarantee released; overdue movements and discrepancies keep it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from clearance.services import transit_at_stake
from declarations.models import Declaration
from guarantees.models import GuaranteeDraw
from tests.agencies.conftest import review_of
from tests.factories import route
from tests.guarantees.conftest import arrive, cleared, discharge, lodge, released, transit_payload

pytestmark = pytest.mark.django_db

Status = Declaration.Status


def test_a_movement_from_lodgement_to_discharge_draws_and_releases_its_guarantee(
    cast, api, posted, guarantee, django_capture_on_commit_callbacks
):
    response = lodge(api, cast.trader_a, django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.json()
    movement = Declaration.objects.get(pk=response.json()["id"])
    at_stake = transit_at_stake(movement)
    assert at_stake > 0
    guarantee.refresh_from_db()
    assert guarantee.balance == guarantee.amount - at_stake
    draw = GuaranteeDraw.objects.get(declaration=movement)
    assert (draw.amount, draw.status) == (at_stake, "drawn")
    # A transit owes nothing: it is not paid, and not released by the platform either.
    movement = cleared(movement, officer=posted.departure)
    assert (movement.status, movement.total_due) == (Status.ASSESSED, 0)

    officer = api.as_user(posted.departure)
    response = officer.post(
        f"/api/v1/movements/{movement.pk}/release/",
        {"seal_numbers": ["krseal000123", "KRSEAL000124"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "released"
    assert body["seal_numbers"] == ["KRSEAL000123", "KRSEAL000124"]
    movement.refresh_from_db()
    deadline = movement.transit_deadline
    assert timedelta(days=3) - timedelta(minutes=1) < deadline - timezone.now() <= timedelta(days=3)

    destination = api.as_user(posted.destination)
    response = destination.post(
        f"/api/v1/movements/{movement.pk}/arrival/",
        {
            "arrived_at": timezone.now().isoformat(),
            "seals_intact": True,
            "seal_numbers_found": ["KRSEAL000123", "KRSEAL000124"],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["findings"]) == ("arrived", [])
    response = destination.post(f"/api/v1/movements/{movement.pk}/discharge/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "discharged"

    guarantee.refresh_from_db()
    assert guarantee.balance == guarantee.amount
    draw.refresh_from_db()
    assert draw.status == "released" and draw.released_at is not None

    # The declarant read each step, and what the guarantee holds.
    trader = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{movement.pk}/").json()
    texts = [entry["text"] for entry in trader["history"]]
    local = timezone.localtime(deadline)
    assert (
        f"Released under seal (KRSEAL000123, KRSEAL000124): deliver to KRSEL by "
        f"{local:%Y-%m-%d %H:%M}." in texts
    )
    assert "Transit discharged; guarantee released." in texts
    assert trader["transit"]["guarantee"] == {
        "reference": "GRT-A-0001",
        "amount": f"{at_stake:.2f}",
        "status": "released",
    }


# ---- Lodgement: the guarantee must cover what is at stake ----------------------------------


def test_a_guarantee_short_of_the_amount_at_stake_refuses_the_lodgement_and_stores_nothing(
    cast, api, posted, django_capture_on_commit_callbacks
):
    from tests.guarantees.conftest import guarantee_accept

    small = guarantee_accept(
        company=cast.company_a,
        proposer=posted.departure,
        approver=posted.supervisor,
        reference="GRT-SMALL",
        amount=Decimal("1000"),
    )
    response = lodge(
        api, cast.trader_a, django_capture_on_commit_callbacks, guarantee_reference="GRT-SMALL"
    )
    assert response.status_code == 400
    [message] = response.json()["fields"]["guarantee_reference"]
    assert message.startswith("Guarantee GRT-SMALL has 1,000.00 KRW left; this movement puts ")
    assert not Declaration.objects.exists()
    assert not GuaranteeDraw.objects.exists()
    small.refresh_from_db()
    assert small.balance == Decimal("1000")


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"guarantee_reference": ""}, "guarantee_reference", "cites the guarantee"),
        ({"guarantee_reference": "GRT-NOBODY"}, "guarantee_reference", "not a guarantee of"),
        ({"guarantee_reference": "GRT-B-0001"}, "guarantee_reference", "not a guarantee of"),
        ({"guarantee_reference": "GRT-LATER"}, "guarantee_reference", "valid only from"),
        ({"guarantee_reference": "GRT-PROPOSED"}, "guarantee_reference", "not been accepted"),
        ({"transit_days": None}, "transit_days", "gives the days"),
        ({"transit_days": "31"}, "transit_days", "at most 30 days"),
        ({"transit_days": "0"}, "transit_days", "greater than or equal to 1"),
        ({"type": "IM", "office_of_entry": "KRPUS"}, "guarantee_reference", "Only a transit"),
        ({"type": "IM", "office_of_entry": "KRPUS"}, "transit_days", "Only a transit"),
    ],
)
def test_each_transit_rule_names_its_field(cast, api, posted, guarantee, overrides, field, words):
    from guarantees.services import guarantee_propose
    from tests.guarantees.conftest import guarantee_accept

    today = timezone.localdate()
    guarantee_accept(
        company=cast.company_b, proposer=posted.departure, approver=posted.supervisor,
        reference="GRT-B-0001",
    )  # fmt: skip
    guarantee_accept(
        company=cast.company_a, proposer=posted.departure, approver=posted.supervisor,
        reference="GRT-LATER", valid_from=today + timedelta(days=10),
    )  # fmt: skip
    guarantee_propose(
        actor=posted.departure, company_tax_id=cast.company_a.tax_id, reference="GRT-PROPOSED",
        amount=Decimal("1000000000"), valid_from=today, valid_until=today + timedelta(days=90),
        reason="waiting",
    )  # fmt: skip
    payload = transit_payload(**overrides)
    for name in [name for name, value in overrides.items() if value is None]:
        del payload[name]  # not given at all
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/validate/", payload, format="json"
    )
    assert response.status_code == 400, response.json()
    fields = response.json()["fields"]
    assert field in fields, fields
    assert any(words in message for message in fields[field]), fields[field]


def test_the_preview_shows_what_the_guarantee_must_cover(cast, api, posted, guarantee):
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/validate/", transit_payload(), format="json"
    )
    assert response.status_code == 200, response.json()
    duties = response.json()["duties"]
    assert (duties["basis"], duties["total"]) == ("transit", "0")
    assert Decimal(duties["at_stake"]) > 0


def test_a_draft_submitted_draws_and_a_cancelled_movement_gives_the_guarantee_back(
    cast, api, posted, guarantee, django_capture_on_commit_callbacks
):
    client = api.as_user(cast.trader_a)
    created = client.post("/api/v1/declarations/", transit_payload(), format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert not GuaranteeDraw.objects.exists()  # a draft holds nothing
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(f"/api/v1/declarations/{pk}/submit/").status_code == 202
    guarantee.refresh_from_db()
    at_stake = transit_at_stake(Declaration.objects.get(pk=pk))
    assert guarantee.balance == guarantee.amount - at_stake
    route(Declaration.objects.get(pk=pk), lane="yellow")
    response = client.post(
        f"/api/v1/declarations/{pk}/cancel/", {"reason": "order cancelled"}, format="json"
    )
    assert response.status_code == 200, response.json()
    guarantee.refresh_from_db()
    assert guarantee.balance == guarantee.amount
    assert GuaranteeDraw.objects.get(declaration_id=pk).status == "released"


def test_a_rejected_movement_gives_the_guarantee_back(cast, posted, guarantee, movement):
    from clearance.services import review_reject

    lodged = route(movement(clear=False), lane="yellow")
    review_reject(
        review_id=review_of(lodged, cast.customs).pk, actor=posted.departure, reason="Not ours"
    )
    guarantee.refresh_from_db()
    assert guarantee.balance == guarantee.amount
    assert GuaranteeDraw.objects.get(declaration=lodged).status == "released"


def test_an_amendment_moves_the_draw_to_the_new_version_for_its_new_amount(
    cast, api, guarantee, movement, django_capture_on_commit_callbacks
):
    from tests.factories import item_data

    old = movement(clear=False)
    first = GuaranteeDraw.objects.get(declaration=old).amount
    items = [item_data(value=Decimal("30000.00"))]
    payload = transit_payload(items=items, invoice_number=old.invoice_number)
    with django_capture_on_commit_callbacks(execute=False):
        response = api.as_user(cast.trader_a).post(
            f"/api/v1/declarations/{old.pk}/amend/", payload, format="json"
        )
    assert response.status_code == 201, response.json()
    new = Declaration.objects.get(pk=response.json()["id"])
    draws = {d.declaration_id: d for d in GuaranteeDraw.objects.all()}
    assert draws[old.pk].status == "released"
    assert (draws[new.pk].status, draws[new.pk].amount) == ("drawn", transit_at_stake(new))
    assert draws[new.pk].amount > first
    guarantee.refresh_from_db()
    assert guarantee.balance == guarantee.amount - draws[new.pk].amount


# ---- Release under seal ----------------------------------------------------------------------


def test_a_green_transit_movement_waits_for_its_seals(cast, posted, guarantee, movement):
    lodged = movement(clear=False)
    green = route(lodged, lane="green")
    # Customs approved it by itself, nothing is due, and still it is not released.
    assert (green.status, green.total_due) == (Status.ASSESSED, 0)
    assert not green.seal_numbers and green.transit_deadline is None


def test_release_under_seal_checks_the_seals_and_who_releases(cast, api, posted, movement):
    first, second = movement(), movement()
    released(api, first, posted.departure, seals=["KRSEAL000123"])
    client = api.as_user(posted.departure)
    url = f"/api/v1/movements/{second.pk}/release/"
    for seals, words in [
        (["KRSEAL000123"], "Seal KRSEAL000123 is on movement TR-"),
        (["KRSEAL9", "KRSEAL9"], "given twice"),
        (["no seal!"], "a seal number is"),
    ]:
        response = client.post(url, {"seal_numbers": seals}, format="json")
        assert response.status_code == 400, response.json()
        assert words in " ".join(response.json()["fields"]["seal_numbers"])
    # The office of destination sees the movement but does not release it.
    response = api.as_user(posted.destination).post(
        url, {"seal_numbers": ["KRSEAL000200"]}, format="json"
    )
    assert response.status_code == 403
    assert Declaration.objects.get(pk=second.pk).status == Status.ASSESSED
    released(api, second, posted.departure, seals=["KRSEAL000200"])


def test_a_movement_is_not_released_before_every_review_is_done(cast, api, posted, movement):
    lodged = route(movement(clear=False), lane="yellow")
    response = api.as_user(posted.departure).post(
        f"/api/v1/movements/{lodged.pk}/release/", {"seal_numbers": ["KRSEAL1"]}, format="json"
    )
    assert response.status_code == 409
    assert "under review movement cannot be released under seal" in response.json()["detail"]


def test_the_seals_of_a_discharged_movement_may_be_used_again(cast, api, posted, movement):
    first = released(api, movement(), posted.departure, seals=["KRSEAL000777"])
    assert arrive(api, first, posted.destination).status_code == 200
    assert discharge(api, first, posted.destination).status_code == 200
    released(api, movement(), posted.departure, seals=["KRSEAL000777"])


# ---- At destination: control, discrepancies, four eyes ---------------------------------------


def test_a_seal_alert_makes_a_control_at_destination_mandatory(
    cast, api, posted, guarantee, movement
):
    sealed = released(api, movement(), posted.departure)
    # What the e-seal listener does on a tamper event.
    Declaration.objects.filter(pk=sealed.pk).update(destination_inspection_required=True)
    assert arrive(api, sealed, posted.destination).status_code == 200
    response = discharge(api, sealed, posted.destination)
    assert response.status_code == 409
    assert "requires a control of the goods at destination" in response.json()["detail"]
    guarantee.refresh_from_db()
    assert guarantee.balance < guarantee.amount
    response = api.as_user(posted.destination).post(
        f"/api/v1/movements/{sealed.pk}/control/", {"result": "no_discrepancy"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert discharge(api, sealed, posted.destination).status_code == 200
    guarantee.refresh_from_db()
    assert guarantee.balance == guarantee.amount


def test_discrepancies_keep_the_guarantee_until_a_second_person_resolves_them(
    cast, api, posted, guarantee, movement
):
    sealed = released(api, movement(), posted.departure, seals=["KRSEAL000301"])
    response = arrive(
        api, sealed, posted.supervisor2, seals_intact=False, seal_numbers_found=[],
        discrepancies="2 cartons missing",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    assert response.json()["findings"] == [
        "seals not intact",
        "seals missing: KRSEAL000301",
        "2 cartons missing",
    ]
    draw = GuaranteeDraw.objects.get(declaration=sealed)
    assert draw.status == "kept"
    assert "keep the guarantee" in discharge(api, sealed, posted.destination).json()["detail"]
    url = f"/api/v1/movements/{sealed.pk}/resolve/"
    reason = {"reason": "Cartons found in the carrier's depot and presented"}
    # An officer may not release kept money; nor the supervisor who recorded the arrival.
    assert api.as_user(posted.destination).post(url, reason, format="json").status_code == 403
    response = api.as_user(posted.supervisor2).post(url, reason, format="json")
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Four eyes")
    response = api.as_user(posted.supervisor).post(url, reason, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["arrival"]["resolved_by"] == "supervisor"
    assert discharge(api, sealed, posted.destination).status_code == 200
    draw.refresh_from_db()
    guarantee.refresh_from_db()
    assert draw.status == "released" and guarantee.balance == guarantee.amount
    # The declarant read that customs examines the arrival, never what was found.
    history = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{sealed.pk}/").json()
    text = " ".join(entry["text"] for entry in history["history"])
    assert "Customs examines the arrival" in text
    assert "cartons" not in text and "depot" not in text


def test_an_arrival_cannot_be_in_the_future_nor_before_the_release(cast, api, posted, movement):
    sealed = released(api, movement(), posted.departure)
    for moment in (timezone.now() + timedelta(hours=1), timezone.now() - timedelta(days=1)):
        response = arrive(api, sealed, posted.destination, arrived_at=moment.isoformat())
        assert response.status_code == 400
        assert "arrived_at" in response.json()["fields"]
    assert Declaration.objects.get(pk=sealed.pk).status == Status.RELEASED


# ---- Overdue ---------------------------------------------------------------------------------


def test_an_overdue_movement_alerts_both_offices_and_the_declarant_once_and_keeps_its_guarantee(
    cast, api, posted, guarantee, movement
):
    from clearance.tasks import flag_overdue_transit_movements
    from notifications.models import Notification

    sealed = released(api, movement(), posted.departure, seals=["KRSEAL000501"])
    on_time = released(api, movement(), posted.departure, seals=["KRSEAL000502"])
    past = timezone.now() - timedelta(hours=2)
    Declaration.objects.filter(pk=sealed.pk).update(transit_deadline=past)
    before = Notification.objects.filter(verb="transit_overdue").count()

    assert flag_overdue_transit_movements() == 1
    assert flag_overdue_transit_movements() == 0  # once, however often the job runs

    alerts = Notification.objects.filter(verb="transit_overdue")
    told = set(alerts.values_list("recipient__username", flat=True))
    assert told == {
        "customs_officer", "seoul_officer", "supervisor", "seoul_supervisor", "trader_a",
    }  # fmt: skip
    assert alerts.count() - before == len(told)  # each told once
    assert alerts.get(recipient=cast.trader_a).text.endswith(
        f"Not arrived at KRSEL by {timezone.localtime(past):%Y-%m-%d %H:%M}: "
        "the guarantee stays engaged."
    )
    assert not alerts.filter(recipient=posted.elsewhere).exists()
    draw = GuaranteeDraw.objects.get(declaration=sealed)
    assert draw.status == "kept"
    assert GuaranteeDraw.objects.get(declaration=on_time).status == "drawn"
    guarantee.refresh_from_db()
    assert guarantee.balance == guarantee.amount - draw.amount - on_time.guarantee_draw.amount

    # It arrives late: a discrepancy like any other, settled by a supervisor.
    response = arrive(api, Declaration.objects.get(pk=sealed.pk), posted.destination)
    assert response.json()["findings"] == [
        f"arrived after the time limit ({timezone.localtime(past):%Y-%m-%d %H:%M})"
    ]
    assert discharge(api, sealed, posted.destination).status_code == 409
    api.as_user(posted.supervisor).post(
        f"/api/v1/movements/{sealed.pk}/resolve/",
        {"reason": "Ferry delayed by the typhoon"},
        format="json",
    )
    assert discharge(api, sealed, posted.destination).status_code == 200
    assert GuaranteeDraw.objects.get(declaration=sealed).status == "released"


def test_an_arrival_dated_back_before_the_deadline_still_needs_a_supervisor_once_flagged(
    cast, api, posted, guarantee, movement
):
    from clearance.transit import transit_movements_flag_overdue

    sealed = released(api, movement(), posted.departure, seals=["KRSEAL000511"])
    # Released three days and a half hour ago.
    deadline = timezone.now() - timedelta(minutes=30)
    Declaration.objects.filter(pk=sealed.pk).update(
        transit_deadline=deadline, released_at=deadline - timedelta(days=3)
    )
    assert transit_movements_flag_overdue() == [sealed.pk]
    # Typed as arrived in time: the flag stands, and so does the kept guarantee.
    typed = (deadline - timedelta(minutes=5)).isoformat()
    response = arrive(
        api, Declaration.objects.get(pk=sealed.pk), posted.destination, arrived_at=typed
    )
    assert response.status_code == 200, response.json()
    [finding] = response.json()["findings"]
    assert finding.startswith("flagged overdue at ")
    assert discharge(api, sealed, posted.destination).status_code == 409
    assert GuaranteeDraw.objects.get(declaration=sealed).status == "kept"


def test_the_overdue_job_is_declared_in_the_beat_schedule(settings):
    tasks = {job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "clearance.tasks.flag_overdue_transit_movements" in tasks


# ---- Who sees and acts on a movement ---------------------------------------------------------


def test_movements_answer_404_to_anyone_outside_their_offices(cast, api, posted, movement):
    sealed = released(api, movement(), posted.departure)
    for user in (posted.elsewhere, cast.trader_a, cast.trader_b, cast.food_officer, cast.analyst):
        client = api.as_user(user)
        assert client.get(f"/api/v1/movements/{sealed.pk}/").status_code == 404, user
        assert client.post(f"/api/v1/movements/{sealed.pk}/discharge/").status_code == 404, user
        response = arrive(api, sealed, user)
        assert response.status_code == 404, user
    assert Declaration.objects.get(pk=sealed.pk).status == Status.RELEASED
    # Each end sees it; the list of an office holds what it works.
    for officer, stage in ((posted.departure, ""), (posted.destination, "expected")):
        listed = api.as_user(officer).get("/api/v1/movements/", {"stage": stage}).json()
        assert [m["id"] for m in listed["results"]] == [sealed.pk]
    assert api.as_user(posted.elsewhere).get("/api/v1/movements/").json()["count"] == 0
    assert api.as_user(cast.trader_a).get("/api/v1/movements/").status_code == 404


def test_the_officer_of_departure_does_not_record_the_arrival(cast, api, posted, movement):
    sealed = released(api, movement(), posted.departure)
    assert arrive(api, sealed, posted.departure).status_code == 403
    assert Declaration.objects.get(pk=sealed.pk).status == Status.RELEASED

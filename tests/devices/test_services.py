"""Device events: stored once each, attached to their movement, evaluated, acted on."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clearance.services import device_events_record, device_events_rematch
from declarations.models import Declaration, DeclarationEvent
from devices.models import DeviceEvent, MovementAlert
from devices.services import device_register, device_update, monitoring_profile_set
from notifications.models import Notification
from tests.devices.conftest import (
    BUSAN,
    DAEGU,
    OFF_ROUTE,
    ON_ROUTE,
    SEOUL,
    events,
    message,
    movement,
    new_seal,
    record,
)

pytestmark = pytest.mark.django_db

Outcome = DeviceEvent.Outcome


def test_events_reach_the_movement_under_their_seal(offices, device):
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    at = timezone.now() - timedelta(minutes=30)
    batch = record(
        device.identifier,
        message(seal, at=at, status="closed", lat=ON_ROUTE[0], lon=ON_ROUTE[1], speed=72.5),
        message(seal, at=at + timedelta(minutes=5), lat=ON_ROUTE[0] + 0.05, lon=ON_ROUTE[1]),
    )
    assert [e.outcome for e in batch.events] == [Outcome.APPLIED, Outcome.APPLIED]
    track = list(moving.device_events.order_by("recorded_at"))
    assert [(e.seal_status, e.latitude, e.speed) for e in track] == [
        ("closed", ON_ROUTE[0], 72.5),
        ("", ON_ROUTE[0] + 0.05, None),
    ]
    assert track[0].device == device and track[0].recorded_at == at
    # On the route, seal closed: nothing to say.
    assert not MovementAlert.objects.exists()
    moving.refresh_from_db()
    assert not moving.destination_inspection_required


def test_a_tampered_seal_makes_inspection_at_destination_mandatory_and_tells_both_offices_once(
    offices, device
):
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    record(device.identifier, message(seal, status="tampered", lat=ON_ROUTE[0], lon=ON_ROUTE[1]))
    # Reported again, and again in a later batch: still one alert, one message each.
    record(device.identifier, message(seal, status="tampered"), message(seal, status="tampered"))

    moving.refresh_from_db()
    assert moving.destination_inspection_required
    alert = MovementAlert.objects.get()
    assert (alert.movement, alert.kind) == (moving, MovementAlert.Kind.SEAL_TAMPERED)
    assert f"seal {seal} reported tampered" in alert.detail

    told = Notification.objects.filter(verb="movement_alert")
    assert sorted(told.values_list("recipient__username", flat=True)) == [
        "customs_officer",  # Busan, departure
        "supervisor",  # Seoul, destination
    ]
    assert f"/seals/{moving.pk}/" in told.first().url
    # The trader learns nothing: no notification, and the trail's entry has no notice.
    assert not Notification.objects.filter(recipient__company=offices.company_a).exists()
    entry = DeclarationEvent.objects.get(
        declaration=moving, action="destination_inspection_required"
    )
    assert entry.notice == "" and entry.actor is None
    assert entry.data["alert"] == "seal_tampered"


def test_an_opened_seal_is_its_own_alert(offices, device):
    moving = movement(offices.trader_a)
    record(device.identifier, message(moving.seal_numbers[0], status="opened"))
    assert MovementAlert.objects.get().kind == MovementAlert.Kind.SEAL_OPENED


def test_a_message_received_twice_is_stored_once_and_counted(offices, device):
    moving = movement(offices.trader_a)
    body = message(moving.seal_numbers[0], message_id="m-1", status="opened")
    first = record(device.identifier, body, body)
    again = record(device.identifier, body)
    assert [e.duplicate for e in first.events] == [False, True]
    assert again.events[0].duplicate and again.events[0].pk == first.events[0].pk
    stored = DeviceEvent.objects.get()
    assert (stored.message_id, stored.receipts) == ("m-1", 3)
    assert MovementAlert.objects.count() == 1
    assert Notification.objects.filter(verb="movement_alert").count() == 2


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"\x00\xff garbage", "not JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b'{"message_id": "x", "seal": "S", "at": "2026-01-01T00:00:00+00:00", "lat": NaN}',
         "not JSON"),
        (b'{"seal": "S", "at": "2026-01-01T00:00:00+00:00"}', "message_id: required"),
        (b'{"message_id": "x", "seal": "S", "at": "2026-01-01T00:00:00"}', "at: give the offset"),
        (b'{"message_id": "x", "seal": "S", "at": "yesterday"}', "not an ISO 8601 time"),
        (b'{"message_id": "x", "seal": "S", "at": "2026-01-01T00:00:00Z", "lat": 95, "lon": 1}',
         "lat: 95 is outside -90 to 90"),
        (b'{"message_id": "x", "seal": "S", "at": "2026-01-01T00:00:00Z", "lat": 35}',
         "lat, lon: give both or neither"),
        (b'{"message_id": "x", "seal": "S", "at": "2026-01-01T00:00:00Z", "status": "ajar"}',
         "status: one of"),
        (b'{"message_id": "x", "seal": "S\\u0000", "at": "2026-01-01T00:00:00Z", '
         b'"temperature": "warm"}', "temperature: a number is expected"),
        (b'{"message_id": "x", "at": "2026-01-01T00:00:00Z", "deep": ' + b"[" * 50 + b"]" * 50
         + b"}", "nested deeper than"),
        (b"{" * 5000, "larger than 4096 bytes"),
    ],
)  # fmt: skip
def test_garbage_is_stored_as_malformed_naming_the_problem(offices, device, payload, problem):
    batch = record(device.identifier, payload)
    stored = DeviceEvent.objects.get()
    assert stored.outcome == Outcome.MALFORMED and batch.events[0].pk == stored.pk
    assert problem in stored.problem
    assert stored.movement is None
    # The message itself is kept: the object as it came, or its text.
    assert stored.payload


def test_what_a_device_wrote_is_stored_exactly_whatever_characters_it_holds(offices, device):
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    awkward = 'say "NULL", {a,b}\\ \\"x\\" \t tab, 서울, \U0001f69a'
    body = message(seal, message_id='id "1",{x}\\', status="closed", note=awkward, lat=36.5)
    body["lon"] = 127.81234567890123
    nul = message(seal, message_id="nul-1", note="before\x00after")
    record(device.identifier, body, nul, b'{"message_id": "raw\\"q", "seal": "S", "at": 1}')
    stored = DeviceEvent.objects.get(message_id='id "1",{x}\\')
    assert stored.outcome == Outcome.APPLIED and stored.payload == body
    assert stored.payload["note"] == awkward and stored.longitude == 127.81234567890123
    # PostgreSQL keeps no NUL character: replaced, and the rest kept.
    assert DeviceEvent.objects.get(message_id="nul-1").payload["note"] == "before\ufffdafter"
    garbled = DeviceEvent.objects.get(outcome=Outcome.MALFORMED)
    assert garbled.message_id == 'raw"q' and garbled.problem.startswith("at: required")


def test_garbage_received_twice_is_one_event(offices, device):
    record(device.identifier, b"not json at all", b"not json at all")
    assert DeviceEvent.objects.get().receipts == 2


def test_a_batch_of_good_and_bad_messages_keeps_every_one(offices, device):
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    batch = record(
        device.identifier,
        message(seal, status="closed"),
        b"\x00garbage",
        message("NO-SUCH-SEAL", status="tampered"),
        message(seal, status="opened"),
    )
    assert [e.outcome for e in batch.events] == [
        Outcome.APPLIED,
        Outcome.MALFORMED,
        Outcome.UNKNOWN_SEAL,
        Outcome.APPLIED,
    ]
    assert DeviceEvent.objects.count() == 4
    assert list(MovementAlert.objects.values_list("kind", flat=True)) == ["seal_opened"]


def test_an_unknown_or_inactive_device_is_kept_and_not_acted_on(offices, device):
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    record("not-registered", message(seal, status="tampered"))
    device_update(device=device, actor=offices.admin, active=False)
    record(device.identifier, message(seal, status="tampered"))
    assert list(DeviceEvent.objects.values_list("outcome", flat=True)) == [
        Outcome.UNKNOWN_DEVICE,
        Outcome.UNKNOWN_DEVICE,
    ]
    assert not MovementAlert.objects.exists()


def test_events_of_a_seal_no_movement_carries_yet_wait_for_its_release(offices, device):
    seal = new_seal()
    record(device.identifier, message(seal, status="closed"), message(seal, status="opened"))
    assert set(DeviceEvent.objects.values_list("outcome", flat=True)) == {Outcome.UNKNOWN_SEAL}

    moving = movement(offices.trader_a, seals=[seal])
    alerts = device_events_rematch(declaration_id=moving.pk)
    assert [a.kind for a in alerts] == ["seal_opened"]
    assert set(moving.device_events.values_list("outcome", flat=True)) == {Outcome.APPLIED}
    moving.refresh_from_db()
    assert moving.destination_inspection_required
    # Idempotent: nothing waits any more.
    assert device_events_rematch(declaration_id=moving.pk) == []


def test_a_seal_number_used_before_this_movement_was_lodged_is_not_its(offices, device):
    seal = new_seal()
    old = timezone.now() - timedelta(days=3)
    record(device.identifier, message(seal, at=old, status="opened"))
    moving = movement(offices.trader_a, seals=[seal], lodged_at=timezone.now() - timedelta(hours=1))
    assert device_events_rematch(declaration_id=moving.pk) == []
    record(device.identifier, message(seal, at=old + timedelta(minutes=1), status="opened"))
    assert not moving.device_events.exists()


def test_after_the_arrival_events_are_kept_on_the_track_but_not_evaluated(offices, device):
    moving = movement(offices.trader_a, status=Declaration.Status.ARRIVED)
    arrival = timezone.now() - timedelta(minutes=10)
    DeclarationEvent.objects.create(
        declaration=moving, seq=99, at=arrival, action="status", to_status="arrived",
        prev_hash="0" * 64, hash="0" * 64, key_id="dev",
    )  # fmt: skip
    seal = moving.seal_numbers[0]
    batch = record(
        device.identifier,
        # Opened by the office of destination, after the arrival: expected.
        message(seal, at=arrival + timedelta(minutes=5), status="opened"),
        # Recorded on the way, delivered late: it counts.
        message(seal, at=arrival - timedelta(hours=1), lat=OFF_ROUTE[0], lon=OFF_ROUTE[1]),
    )
    assert [e.outcome for e in batch.events] == [Outcome.AFTER_ARRIVAL, Outcome.APPLIED]
    assert list(MovementAlert.objects.values_list("kind", flat=True)) == ["off_route"]


def test_a_position_off_the_route_alerts_once(offices, device):
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    record(device.identifier, message(seal, lat=ON_ROUTE[0], lon=ON_ROUTE[1]))
    assert not MovementAlert.objects.exists()
    record(
        device.identifier,
        message(seal, lat=OFF_ROUTE[0], lon=OFF_ROUTE[1]),
        message(seal, lat=OFF_ROUTE[0] + 0.1, lon=OFF_ROUTE[1]),
    )
    alert = MovementAlert.objects.get()
    assert alert.kind == "off_route" and "km off the route (corridor 15 km)" in alert.detail


def test_the_route_runs_through_the_itinerary_offices(offices, device):
    # Straight from Busan to Seoul, the road by Daegu is 30 km off the line; by way of
    # Daegu it is on the route.
    direct = movement(offices.trader_a, itinerary=[])
    via_daegu = movement(offices.trader_a, itinerary=["KRTAE"])
    near_daegu = (35.95, 128.55)
    record(
        device.identifier,
        message(direct.seal_numbers[0], lat=near_daegu[0], lon=near_daegu[1]),
        message(via_daegu.seal_numbers[0], lat=near_daegu[0], lon=near_daegu[1]),
    )
    assert list(MovementAlert.objects.values_list("movement", "kind")) == [(direct.pk, "off_route")]


def test_a_long_stop_is_found_whatever_order_the_positions_arrive_in(offices, device):
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    start = timezone.now() - timedelta(hours=3)
    at = [start + timedelta(minutes=m) for m in (0, 20, 40, 61)]
    # A few metres apart each time: the truck has not moved.
    spot = [(ON_ROUTE[0] + i * 0.0002, ON_ROUTE[1]) for i in range(4)]
    # The last reading first, then the earlier ones: only all four show the stop.
    record(device.identifier, message(seal, at=at[3], lat=spot[3][0], lon=spot[3][1]))
    record(device.identifier, message(seal, at=at[1], lat=spot[1][0], lon=spot[1][1]))
    assert not MovementAlert.objects.exists()
    record(
        device.identifier,
        message(seal, at=at[2], lat=spot[2][0], lon=spot[2][1]),
        message(seal, at=at[0], lat=spot[0][0], lon=spot[0][1]),
    )
    alert = MovementAlert.objects.get()
    assert alert.kind == "long_stop" and alert.detail.startswith("stopped 61 min (at most 60)")


def test_moving_on_or_waiting_at_the_offices_is_no_stop(offices, device):
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    start = timezone.now() - timedelta(hours=5)
    bodies = [
        # Two hours at the office of departure, then on the road, then at destination.
        message(seal, at=start, lat=BUSAN[0], lon=BUSAN[1]),
        message(seal, at=start + timedelta(minutes=120), lat=BUSAN[0] + 0.001, lon=BUSAN[1]),
        message(seal, at=start + timedelta(minutes=150), lat=ON_ROUTE[0], lon=ON_ROUTE[1]),
        message(seal, at=start + timedelta(minutes=200), lat=37.10, lon=127.43),
        message(seal, at=start + timedelta(minutes=230), lat=SEOUL[0], lon=SEOUL[1]),
        message(seal, at=start + timedelta(minutes=300), lat=SEOUL[0], lon=SEOUL[1] + 0.001),
    ]
    record(device.identifier, *bodies)
    assert not MovementAlert.objects.exists()


def test_temperature_is_watched_once_customs_sets_a_range(offices, device):
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    record(device.identifier, message(seal, temperature=12.0))
    assert not MovementAlert.objects.exists()  # no range: not watched
    monitoring_profile_set(
        movement_id=moving.pk,
        actor=offices.customs_officer,
        corridor_km=10,
        max_stop_minutes=45,
        temperature_min=-2,
        temperature_max=8,
    )
    record(device.identifier, message(seal, temperature=4.5))
    assert not MovementAlert.objects.exists()
    record(device.identifier, message(seal, temperature=9.5))
    assert MovementAlert.objects.get().detail.startswith("9.5 °C, outside -2 to 8 °C")


def test_monitoring_only_tightens_and_only_customs_at_the_movements_offices_set_it(offices, device):
    moving = movement(offices.trader_a)
    tight = {"corridor_km": 5, "max_stop_minutes": 30, "temperature_min": 0, "temperature_max": 5}
    for outsider in (
        offices.trader_a,
        offices.incheon_officer,  # customs, another office
        offices.seoul_food_officer,  # the destination office, another agency
        offices.analyst,
    ):
        with pytest.raises(PermissionDenied):
            monitoring_profile_set(movement_id=moving.pk, actor=outsider, **tight)
    monitoring_profile_set(movement_id=moving.pk, actor=offices.supervisor, **tight)
    for looser, field in (
        ({**tight, "corridor_km": 8}, "corridor_km"),
        ({**tight, "max_stop_minutes": 60}, "max_stop_minutes"),
        ({**tight, "temperature_max": 9}, "temperature_max"),
        ({**tight, "temperature_min": None, "temperature_max": None}, "temperature_min"),
    ):
        with pytest.raises(ValidationError) as refused, transaction.atomic():
            monitoring_profile_set(movement_id=moving.pk, actor=offices.customs_officer, **looser)
        assert field in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        monitoring_profile_set(
            movement_id=moving.pk, actor=offices.customs_officer, **{**tight, "temperature_min": 6}
        )
    assert "temperature_min" in refused.value.message_dict


def test_only_administrators_register_devices(cast):
    for user in (cast.trader_a, cast.customs_officer, cast.analyst):
        with pytest.raises(PermissionDenied):
            device_register(identifier="x-1", kind="seal", actor=user)
    with pytest.raises(ValidationError) as refused:
        device_register(identifier="bad/name", kind="seal", actor=cast.admin)
    assert "identifier" in refused.value.message_dict


def _along_the_route(fraction: float) -> tuple[float, float]:
    return (
        DAEGU[0] + fraction * (SEOUL[0] - DAEGU[0]),
        DAEGU[1] + fraction * (SEOUL[1] - DAEGU[1]),
    )


def _statements(device, bodies) -> int:
    parsed = events(device.identifier, *bodies)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        device_events_record(events=parsed)
    return len(queries)


def test_a_batch_costs_the_same_statements_whatever_its_size(offices, device):
    movements = [movement(offices.trader_a) for _ in range(3)]

    def moving_on(n: int) -> list[dict]:
        start = timezone.now() - timedelta(hours=6)
        return [
            message(
                movements[i % 3].seal_numbers[0],
                at=start + timedelta(minutes=i),
                lat=_along_the_route(0.1 + 0.8 * i / n)[0],
                lon=_along_the_route(0.1 + 0.8 * i / n)[1],
                temperature=5,
            )
            for i in range(n)
        ]

    assert _statements(device, moving_on(10)) == _statements(device, moving_on(300))
    assert not MovementAlert.objects.exists()


def test_alerts_on_many_movements_cost_the_same_statements_as_on_one(offices, device):
    one = movement(offices.trader_a)
    five = [movement(offices.trader_a) for _ in range(5)]
    alone = _statements(device, [message(one.seal_numbers[0], status="tampered")])
    together = _statements(device, [message(m.seal_numbers[0], status="opened") for m in five])
    assert alone == together
    assert MovementAlert.objects.count() == 6
    assert Notification.objects.filter(verb="movement_alert").count() == 12


def test_a_stop_reported_rarely_is_judged_on_the_whole_track(offices, device):
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    start = timezone.now() - timedelta(hours=5)  # the movement was lodged 6 hours ago
    spot = (ON_ROUTE[0], ON_ROUTE[1])
    # Two readings 50 min apart at one place: a stop within the limit so far.
    record(
        device.identifier,
        message(seal, at=start - timedelta(minutes=30), lat=35.5, lon=128.7),
        message(seal, at=start, lat=spot[0], lon=spot[1]),
        message(seal, at=start + timedelta(minutes=50), lat=spot[0], lon=spot[1] + 0.0005),
    )
    assert not MovementAlert.objects.exists()
    # Four hours later, still there: the stop began long before what is read first.
    record(
        device.identifier,
        message(seal, at=start + timedelta(hours=4), lat=spot[0] + 0.0005, lon=spot[1]),
    )
    alert = MovementAlert.objects.get()
    assert alert.kind == "long_stop" and alert.detail.startswith("stopped 240 min")


def test_a_stop_is_found_across_a_batch_boundary_in_order(offices, device):
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    start = timezone.now() - timedelta(hours=3)
    for minutes in range(0, 80, 10):
        record(
            device.identifier,
            message(seal, at=start + timedelta(minutes=minutes), lat=ON_ROUTE[0], lon=ON_ROUTE[1]),
        )
    assert MovementAlert.objects.get().detail.startswith("stopped 70 min")

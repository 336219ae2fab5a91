"""The listener against a real MQTT broker: events published by a device reach their
movement, once; garbage is harmless; nothing is lost to a restart of the listener,
of the broker, or to a listener killed mid-batch."""

import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from declarations.models import Declaration
from devices.models import DeviceEvent, MovementAlert
from notifications.models import Notification
from tests.conftest import wait_for
from tests.devices.conftest import ON_ROUTE, message, movement
from tests.devices.mqtt import MOSQUITTO, Mosquitto, listening

pytestmark = pytest.mark.django_db(transaction=True)

Outcome = DeviceEvent.Outcome


def stored(count: int, **filters):
    return lambda: DeviceEvent.objects.filter(**filters).count() >= count


def test_published_events_reach_their_movement_and_a_tamper_obliges_inspection(
    mqtt_broker, offices, device, tmp_path
):
    url, protocol = mqtt_broker
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    start = timezone.now() - timedelta(hours=2)
    tamper = message(seal, at=start + timedelta(minutes=30), status="tampered")
    with listening(url, tmp_path, protocol=protocol) as (listener, device_side):
        device_side.publish(
            device.identifier,
            # Out of order: the later readings first.
            message(seal, at=start + timedelta(minutes=20), lat=ON_ROUTE[0], lon=ON_ROUTE[1]),
            message(seal, at=start, status="closed", lat=ON_ROUTE[0] - 0.1, lon=ON_ROUTE[1]),
            tamper,
            tamper,  # the device sent it twice
            b"\xff\xfe not json",
            message("NO-SUCH-SEAL", status="opened"),
        )
        device_side.publish("unregistered-device", message(seal, status="opened"))
        wait_for(stored(6))
        wait_for(lambda: DeviceEvent.objects.get(message_id=tamper["message_id"]).receipts == 2)
        device_side.publish(device.identifier, tamper)  # and once more, later
        wait_for(lambda: DeviceEvent.objects.get(message_id=tamper["message_id"]).receipts == 3)
        assert listener.process.poll() is None

    outcomes = sorted(DeviceEvent.objects.values_list("outcome", flat=True))
    assert outcomes == sorted(
        [Outcome.APPLIED] * 3 + [Outcome.MALFORMED, Outcome.UNKNOWN_SEAL, Outcome.UNKNOWN_DEVICE]
    )
    track = list(moving.device_events.order_by("recorded_at").values_list("seal_status", flat=True))
    assert track == ["closed", "", "tampered"]
    moving.refresh_from_db()
    assert moving.destination_inspection_required
    assert list(MovementAlert.objects.values_list("kind", flat=True)) == ["seal_tampered"]
    told = Notification.objects.filter(verb="movement_alert")
    assert sorted(told.values_list("recipient__username", flat=True)) == [
        "customs_officer",
        "supervisor",
    ]


def test_what_is_published_while_the_listener_is_down_waits_for_it(
    mqtt_broker, offices, device, tmp_path
):
    url, protocol = mqtt_broker
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    with listening(url, tmp_path, protocol=protocol) as (listener, device_side):
        device_side.publish(device.identifier, message(seal, status="closed"))
        wait_for(stored(1))
        listener.stop()
        device_side.publish(
            device.identifier, *[message(seal, lat=ON_ROUTE[0], lon=ON_ROUTE[1]) for _ in range(50)]
        )
        assert DeviceEvent.objects.count() == 1
        listener.start()
        wait_for(stored(51))
    assert moving.device_events.count() == 51
    assert "session resumed" in listener.log.read_text()


def test_a_listener_killed_mid_stream_loses_nothing_and_counts_nothing_twice(
    mqtt_broker, offices, device, tmp_path
):
    url, protocol = mqtt_broker
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    # Fewer than a default Mosquitto queues for a client (max_queued_messages 1000; the
    # platform's broker configuration raises it: docker/mosquitto/mosquitto.conf).
    bodies = [message(seal, lat=ON_ROUTE[0], lon=ON_ROUTE[1]) for _ in range(900)]
    # Small batches, so that it is killed with some committed and some not.
    with listening(url, tmp_path, protocol=protocol, DEVICE_BATCH_SIZE="50") as (
        listener,
        device_side,
    ):
        device_side.publish(device.identifier, *bodies)
        wait_for(stored(100), interval=0.01)
        listener.stop(signal.SIGKILL)
        assert DeviceEvent.objects.count() < len(bodies)
        listener.start()
        wait_for(stored(len(bodies)), timeout=60)
    assert moving.device_events.count() == len(bodies)
    assert {e.message_id for e in moving.device_events.all()} == {b["message_id"] for b in bodies}


@pytest.mark.skipif(MOSQUITTO is None, reason="the broker restart needs the mosquitto binary")
def test_the_listener_survives_a_broker_restart_and_gets_what_was_published_meanwhile(
    offices, device, tmp_path
):
    broker = Mosquitto(tmp_path)
    broker.start()
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    try:
        # The listener waits 3 s before reconnecting: what is published right after
        # the broker is back waits in the listener's session.
        with listening(broker.url, tmp_path, MQTT_RECONNECT_MIN_SECONDS="3") as (
            listener,
            device_side,
        ):
            device_side.publish(device.identifier, message(seal, status="closed"))
            wait_for(stored(1))
            device_side.close()
            broker.stop()
            broker.start()
            from tests.devices.mqtt import Publisher

            device_side = Publisher(broker.url, listener.prefix)
            device_side.publish(
                device.identifier,
                message(seal, status="opened"),
                *[message(seal, lat=ON_ROUTE[0], lon=ON_ROUTE[1]) for _ in range(20)],
            )
            published_while_away = listener.connections() == 1
            listener.wait_connected(2)
            wait_for(stored(22))
            assert listener.process.poll() is None
    finally:
        broker.stop()
    assert published_while_away
    log = listener.log.read_text()
    assert "disconnected" in log and log.count("session resumed") == 1
    assert moving.device_events.count() == 22
    moving.refresh_from_db()
    assert moving.destination_inspection_required
    assert Declaration.objects.get(pk=moving.pk).movement_alerts.get().kind == "seal_opened"


def test_the_embedded_broker_of_dev_start_carries_events_to_the_listener(offices, device, tmp_path):
    """amqtt, which `./dev start` runs when no MQTT_URL is given (MQTT 3.1.1)."""
    from tests.devices.mqtt import EmbeddedBroker

    broker = EmbeddedBroker(tmp_path)
    broker.start()
    moving = movement(offices.trader_a)
    try:
        with listening(broker.url, tmp_path, protocol="3.1.1") as (_listener, device_side):
            device_side.publish(
                device.identifier,
                message(moving.seal_numbers[0], status="opened"),
                b"garbage",
            )
            wait_for(stored(2))
    finally:
        broker.stop()
    assert moving.movement_alerts.get().kind == "seal_opened"


def test_while_the_database_is_down_nothing_is_acknowledged_and_nothing_lost(
    mqtt_broker, offices, device, tmp_path
):
    from urllib.parse import urlsplit, urlunsplit

    from tests.conftest import _test_database_url
    from tests.devices.mqtt import TcpProxy

    url, protocol = mqtt_broker
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    database = urlsplit(_test_database_url())
    proxy = TcpProxy(database.port or 5432)
    proxy.start()
    through_proxy = urlunsplit(
        database._replace(netloc=f"{database.username}@127.0.0.1:{proxy.port}")
    )
    with listening(
        url, tmp_path, protocol=protocol, DATABASE_URL=through_proxy, CONN_MAX_AGE="60"
    ) as (listener, device_side):
        device_side.publish(device.identifier, message(seal, status="closed"))
        wait_for(stored(1))
        proxy.cut()
        device_side.publish(
            device.identifier, *[message(seal, lat=ON_ROUTE[0], lon=ON_ROUTE[1]) for _ in range(30)]
        )
        wait_for(lambda: "database unavailable" in listener.log.read_text())
        assert DeviceEvent.objects.count() == 1
        proxy.start()
        wait_for(stored(31), timeout=60)
        assert listener.process.poll() is None
    assert moving.device_events.count() == 31

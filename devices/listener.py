"""The MQTT listener: devices' messages in, stored in batches, acknowledged after.

One persistent session at the broker (a fixed client id, never a clean start):
what devices publish while the listener is away or reconnecting waits at the
broker for it. Subscriptions are QoS 1 and acknowledged by hand, each message
only once the batch holding it is committed; a listener killed at any moment
gets the unacknowledged messages again from the broker, and storing is
idempotent (each device's message id once), so nothing is lost and nothing is
counted twice.

paho's network thread only queues what arrives; the main thread takes a batch
(up to `batch_size` messages, or what came within `batch_ms` of the first),
records it in one transaction and acknowledges it. While the database is down
the batch is retried with a growing pause and nothing is acknowledged; the
broker stops sending once the unacknowledged messages reach the receive
maximum, so memory stays bounded.
"""

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices.messages import event_from_message, topic_device
from devices.models import DeviceEvent

logger = logging.getLogger("devices.listener")

# MQTT 5's "never expires": the session outlives any outage of the listener.
SESSION_NEVER_EXPIRES = 0xFFFFFFFF
PROTOCOLS = {"5": mqtt.MQTTv5, "3.1.1": mqtt.MQTTv311}


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> "Broker":
        """mqtt://[user[:password]@]host[:port], or mqtts:// for TLS."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"MQTT_URL must be mqtt://host:port or mqtts://host:port, not {url!r}")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class Received(NamedTuple):
    # A tuple: thousands are made a second, in paho's thread.
    topic: str
    payload: bytes
    mid: int
    qos: int
    # The connection it came on: an acknowledgement is only valid on that one (the
    # broker sends anything unacknowledged again on the next).
    connection: int
    # Parsed as it arrives, in paho's thread, while the main thread waits on the
    # database with the previous batch; `parsed` is its (outcome, problem) then.
    event: DeviceEvent
    parsed: tuple[str, str]


class DeviceListener:
    def __init__(
        self,
        *,
        url: str,
        client_id: str,
        topic_prefix: str,
        record: Callable[[list[DeviceEvent]], object],
        batch_size: int = 500,
        batch_ms: int = 50,
        reconnect_min_seconds: int = 1,
        reconnect_max_seconds: int = 30,
        protocol: str = "5",
        report_seconds: float = 10.0,
    ):
        self.broker = Broker.from_url(url)
        self.topic_prefix = topic_prefix.rstrip("/")
        self.record = record
        self.batch_size, self.batch_seconds = batch_size, batch_ms / 1000
        self.reconnect_max = reconnect_max_seconds
        self.report_seconds = report_seconds
        # Unbounded (the broker's receive maximum bounds what is in flight) and in C.
        self.inbox: queue.SimpleQueue[Received] = queue.SimpleQueue()
        self.stopping = threading.Event()
        self.connection = 0
        self.counts: Counter = Counter()
        self.protocol = PROTOCOLS[protocol]
        self.client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            # MQTT 3.1.1 keeps the session with clean_session False; MQTT 5 asks for
            # it at each connect (clean_start False, below).
            clean_session=False if self.protocol == mqtt.MQTTv311 else None,
            protocol=self.protocol,
            manual_ack=True,
        )
        if self.broker.username:
            self.client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            self.client.tls_set()
        self.client.reconnect_delay_set(
            min_delay=reconnect_min_seconds, max_delay=reconnect_max_seconds
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    @property
    def topic(self) -> str:
        return f"{self.topic_prefix}/+/events"

    # --- paho's network thread -----------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            logger.warning("broker refused the connection: %s", reason_code)
            return
        self.connection += 1
        logger.info(
            "connected to %s:%s (session %s)",
            self.broker.host,
            self.broker.port,
            "resumed" if flags.session_present else "new",
        )
        # Again on every connection: harmless when the session kept it, needed when not.
        client.subscribe(self.topic, qos=1)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if not self.stopping.is_set():
            logger.warning("disconnected (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        topic = message.topic
        event = self._event(topic, message.payload)
        self.inbox.put(
            Received(
                topic,
                message.payload,
                message.mid,
                message.qos,
                self.connection,
                event,
                (event.outcome, event.problem),
            )
        )

    def _event(self, topic: str, payload: bytes) -> DeviceEvent:
        device = topic_device(topic, self.topic_prefix) or topic[-64:]
        received_at = timezone.now()
        try:
            return event_from_message(
                payload,
                device_identifier=device,
                channel=DeviceEvent.Channel.MQTT,
                received_at=received_at,
            )
        except Exception as exc:
            # Never out of paho's thread, which would stop reading: kept as unreadable.
            logger.exception("message on %s could not be parsed", topic)
            return event_from_message(
                f"unparsed: {type(exc).__name__}".encode(),
                device_identifier=device,
                channel=DeviceEvent.Channel.MQTT,
                received_at=received_at,
            )

    # --- the main thread --------------------------------------------------------------------

    def start(self) -> None:
        properties = None
        if self.protocol == mqtt.MQTTv5:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = SESSION_NEVER_EXPIRES
            # Enough unacknowledged messages in flight to fill the next batch while
            # this one is committed (brokers default to far fewer, 20 for Mosquitto).
            properties.ReceiveMaximum = min(65535, max(100, 2 * self.batch_size))
        self.client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=30,
            clean_start=False if self.protocol == mqtt.MQTTv5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=properties,
        )
        # paho's thread connects, reconnects forever with backoff, and reads.
        self.client.loop_start()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        """Take batches until stopped; what is queued but not recorded when it stops is
        not acknowledged, and the broker sends it again."""
        self.start()
        next_report = time.monotonic() + self.report_seconds
        try:
            while not self.stopping.is_set():
                batch = self._next_batch()
                if batch:
                    self._record(batch)
                if time.monotonic() >= next_report:
                    self._report()
                    next_report = time.monotonic() + self.report_seconds
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            self._report()

    def _next_batch(self) -> list[Received]:
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_seconds
        while len(batch) < self.batch_size:
            try:
                # What is already there, without looking at the clock.
                batch.append(self.inbox.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self.inbox.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _events(self, batch: list[Received]) -> list[DeviceEvent]:
        """The batch's events as parsed: a failed attempt may have marked them."""
        for message in batch:
            event = message.event
            event.pk = event.movement_id = None
            event.outcome, event.problem = message.parsed
        return [message.event for message in batch]

    def _record(self, batch: list[Received]) -> None:
        """Store the batch, retrying while the database is unavailable, then acknowledge."""
        pause = 1.0
        while True:
            try:
                stored = self._attempt(batch)
                break
            except (OperationalError, InterfaceError) as exc:
                # The database (or the connection to it) is down: nothing was stored
                # and nothing is acknowledged; the same batch is tried again.
                logger.warning("database unavailable (%s); retrying in %g s", exc, pause)
            close_old_connections()
            if self.stopping.wait(pause):
                return
            pause = min(pause * 2, self.reconnect_max)
        for message in batch:
            if message.qos and message.connection == self.connection:
                self.client.ack(message.mid, message.qos)
        self.counts["messages"] += len(batch)
        self.counts["batches"] += 1
        for part in stored:
            self.counts["duplicates"] += part.duplicates
            for event in part.events:
                if not event.duplicate:
                    self.counts[event.outcome] += 1
            self.counts["alerts"] += len(part.alerts)

    def _attempt(self, batch: list[Received]) -> list:
        """Record the batch; should it fail for any reason but the database being down,
        record its messages one by one, and keep one that still fails as malformed,
        naming the error: one bad message never holds the others up, nor stops the
        listener in a loop of redeliveries."""
        try:
            return [self.record(self._events(batch))]
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:
            close_old_connections()
            if len(batch) > 1:
                logger.exception("a batch of %d messages failed; one by one", len(batch))
                return [part for message in batch for part in self._attempt([message])]
            logger.exception("message %s on %s failed", batch[0].mid, batch[0].topic)
            events = self._events(batch)
            for event in events:
                event.outcome = DeviceEvent.Outcome.MALFORMED
                event.movement_id = None
                event.problem = f"could not be processed: {type(exc).__name__}: {exc}"[:300]
            return [self.record(events)]

    def _report(self) -> None:
        if self.counts:
            logger.info(
                "stored %s",
                ", ".join(f"{name} {count}" for name, count in sorted(self.counts.items())),
            )
            self.counts.clear()

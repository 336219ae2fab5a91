"""The broker connection the platform configures survives Redis dying under it.

These run kombu itself against a redis-server of our own (never the machine's
Redis), with the transport and options the settings give the workers.
"""

import contextlib
import os
import subprocess
import sys
import time

from django.conf import settings
from kombu import Connection, Exchange, Queue

from tests.conftest import ROOT
from tests.risk.conftest import own_redis


def _connection(url: str) -> Connection:
    options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "visibility_timeout": 1,
        "unacked_restore_throttle": 1,
    }
    transport = getattr(settings, "CELERY_BROKER_TRANSPORT", None)
    return Connection(url, transport=transport, transport_options=options)


def _take_without_ack(connection: Connection, channel, queue: Queue, count: int) -> list:
    taken = []
    consumer = connection.Consumer(
        queue, channel=channel, callbacks=[lambda body, message: taken.append(body)]
    )
    consumer.consume()
    deadline = time.monotonic() + 10
    while len(taken) < count and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            connection.drain_events(timeout=0.5)
    consumer.cancel()
    return taken


def test_a_channel_holding_unacked_messages_closes_after_the_broker_died_and_loses_none():
    """Redis dies while a consumer holds unacknowledged messages and another channel
    waits on BRPOP (as a worker's do). Dropping the connection and closing the
    channels must not raise anything but connection errors (celery ignores those;
    anything else kills the worker: "Unrecoverable error: AttributeError('NoneType'
    object has no attribute 'hostname')"), and once Redis is back the messages are
    delivered again."""
    with own_redis(appendonly=True) as redis_server:
        connection = _connection(redis_server.url)
        holding = connection.channel()
        queue = Queue("outage-q", Exchange("outage-q", "direct"), "outage-q", channel=holding)
        queue.declare()
        producer = connection.Producer(channel=holding)
        for number in range(2):
            producer.publish({"n": number}, exchange=queue.exchange, routing_key="outage-q")
        assert len(_take_without_ack(connection, holding, queue, 2)) == 2

        waiting = connection.channel()
        other = Queue("outage-other", Exchange("outage-other", "direct"), "outage-other")
        connection.Consumer(other(waiting), channel=waiting).consume()
        with contextlib.suppress(TimeoutError):
            connection.drain_events(timeout=0.3)  # its BRPOP is now pending

        redis_server.stop()
        # What the worker's consumer does on a lost connection, then at shutdown.
        connection.collect()
        holding.close()
        waiting.close()

        redis_server.start()
        again = _connection(redis_server.url)
        try:
            channel = again.channel()
            redelivered = _take_without_ack(again, channel, queue(channel), 2)
            assert sorted(body["n"] for body in redelivered) == [0, 1]
        finally:
            again.release()


SCHEDULE = (
    "from django.conf import settings; "
    "print(settings.CELERY_BEAT_SCHEDULE['clearance-sweep-unscored']['schedule'])"
)


def _sweep_schedule(**env) -> float:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "singlewindow.settings", **env}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {SCHEDULE}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip())


def test_the_sweeper_runs_at_half_the_age_it_waits_for_and_at_most_every_10_seconds():
    assert _sweep_schedule(RISK_SWEEP_AFTER_SECONDS="600") == 300
    assert _sweep_schedule(RISK_SWEEP_AFTER_SECONDS="120") == 60
    assert _sweep_schedule(RISK_SWEEP_AFTER_SECONDS="4") == 10

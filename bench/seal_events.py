"""E-seal events benchmark: how many device events per second the listener stores and
evaluates, end to end, and how long each waits.

Publishes N events over MQTT (QoS 1, as devices do) from M devices, each
reporting on the seal of a transit movement released under seal, to a listener
started here exactly as `./dev start` runs it (`manage.py listen_devices`, the
settings' batch size and window), and measures:

- throughput: events stored and evaluated per second, from the first publish
  to the last event visible in the database (committed);
- latency percentiles: publish to visible in the database (polled every 20 ms);
- what was stored: every event once, a few duplicates and malformed messages
  included as devices send them, and the alerts raised.

The broker is a Mosquitto started here with the platform's settings
(docker/mosquitto/mosquitto.conf: persistence, no low cap on the listener's
queue), or the one at --mqtt-url. Needs PostgreSQL (DATABASE_URL); prepares its
database itself (migrations, reference data, demo users).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/sw_bench DEBUG=true \\
        .venv/bin/python bench/seal_events.py [-n 20000] [--devices 200] [--mqtt-url URL]
"""

import argparse
import getpass
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "singlewindow.settings")
os.environ.setdefault("DEBUG", "true")

RUN = uuid.uuid4().hex[:6]
# Busan, then Daegu, then Seoul: the movements' route.
ROUTE = [(35.0762, 128.8237), (35.8714, 128.6014), (37.5122, 127.0333)]


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ensure_database() -> None:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg2

    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = psycopg2.connect(urlunsplit(url._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def prepare() -> None:
    from django.core.management import call_command

    from accounts.models import User
    from reference.models import HsCode

    call_command("migrate", verbosity=0)
    if not HsCode.objects.exists():
        call_command("load_reference_data", verbosity=0)
    if not User.objects.filter(username="trader_a").exists():
        call_command("seed_demo", verbosity=0)
    else:
        from demo.rates import exchange_rates_publish_today

        exchange_rates_publish_today()


def movements_with_devices(count: int) -> list[tuple[str, str]]:
    """`count` transit movements released under seal, each with a registered device
    reporting on its seal: [(device id, seal)]."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import User
    from declarations.models import Declaration
    from declarations.services import declaration_create
    from devices.services import device_register

    trader = User.objects.get(username="trader_a")
    admin = User.objects.get(username="admin")
    pairs = []
    with transaction.atomic():
        for n in range(count):
            header = {
                "type": "TR", "procedure": "8000", "exporter_name": "Busan Forwarding",
                "exporter_country": "CN", "country_of_export": "CN",
                "country_of_destination": "KR", "office_of_departure": "KRPUS",
                "office_of_destination": "KRSEL", "itinerary": ["KRTAE"], "transport_mode": "3",
                "transport_document": f"TR{RUN}{n}", "invoice_number": f"BENCH-{RUN}-{n}",
                "currency": "USD", "incoterm": "FOB", "invoice_total": "15000.00",
                "packages": 10, "gross_mass_kg": "30.000",
            }  # fmt: skip
            item = {
                "hs_code": "851713", "description": "Smartphones", "origin_country": "CN",
                "quantity": "100", "unit": "NAR", "net_mass_kg": "25.000",
                "gross_mass_kg": "30.000", "value": "15000.00",
            }  # fmt: skip
            declaration = declaration_create(actor=trader, header=header, items=[item])
            seal = f"BENCH{RUN}{n:05d}".upper()
            Declaration.objects.filter(pk=declaration.pk).update(
                status="released",
                lane="green",
                submitted_at=timezone.now() - timedelta(days=1),
                seal_numbers=[seal],
            )
            device, _ = device_register(identifier=f"bench-{RUN}-{n}", kind="seal", actor=admin)
            pairs.append((device.identifier, seal))
    return pairs


def start_mosquitto(workdir: Path) -> tuple[subprocess.Popen, str]:
    """A Mosquitto with the platform's settings, on a free port, persisting in workdir."""
    import socket

    from scripts.devstack import mosquitto_binary

    binary = mosquitto_binary()
    if binary is None:
        sys.exit("No mosquitto binary: install mosquitto, or give --mqtt-url.")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = (ROOT / "docker" / "mosquitto" / "mosquitto.conf").read_text()
    keep = [
        line
        for line in settings.splitlines()
        if line.startswith(("persistence ", "autosave_interval", "max_queued"))
    ]
    config = workdir / "mosquitto.conf"
    config.write_text(
        "\n".join(
            [
                f"listener {port} 127.0.0.1",
                "allow_anonymous true",
                *keep,
                f"persistence_location {workdir}/",
                f"user {getpass.getuser()}",
                "",
            ]
        )
    )
    process = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"mqtt://127.0.0.1:{port}"
        if time.monotonic() > deadline:
            raise RuntimeError("mosquitto did not start")
        time.sleep(0.05)


def start_listener(
    mqtt_url: str, prefix: str, client_id: str, log: Path, command_prefix=()
) -> subprocess.Popen:
    """The listener as ./dev start runs it (scripts/devstack.py), on this database;
    returns once it is connected and subscribed."""
    env = {
        **os.environ,
        "MQTT_URL": mqtt_url,
        "MQTT_CLIENT_ID": client_id,
        "MQTT_TOPIC_PREFIX": prefix,
        "LOG_LEVEL": "WARNING",
    }
    connected = log.read_text().count("listener connected") if log.exists() else 0
    with open(log, "a") as out:
        process = subprocess.Popen(
            [sys.executable, *command_prefix, str(ROOT / "manage.py"), "listen_devices"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while log.read_text().count("listener connected") <= connected:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the listener did not start: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    # What starting took (imports, Django, the connection) is no part of its work.
    process.cpu_at_start = cpu_seconds(process.pid)
    time.sleep(0.5)  # subscribed
    return process


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user and system) a process has used so far, where /proc tells."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def messages(pairs, total: int) -> list[tuple[str, bytes, str | None]]:
    """(device id, payload, message id) in publishing order: each device reports its
    position every 30 s of device time along the route, mostly seal closed; a few
    seals opened, a few messages sent twice, a few garbled."""
    rng = random.Random(7)
    per_device = max(1, total // len(pairs))
    start = time.time() - per_device * 30 - 3600
    out = []
    for step in range(per_device):
        fraction = step / max(1, per_device - 1)
        leg = 0 if fraction < 0.5 else 1
        t = (fraction - 0.5 * leg) * 2
        (lat1, lon1), (lat2, lon2) = ROUTE[leg], ROUTE[leg + 1]
        for device_id, seal in pairs:
            if len(out) >= total:
                break
            roll = rng.random()
            if roll < 0.005:
                out.append((device_id, b"\x00garbled frame", None))
                continue
            message_id = uuid.uuid4().hex
            body = {
                "message_id": message_id,
                "seal": seal,
                "at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(start + step * 30)),
                "status": "opened" if roll > 0.999 else "closed",
                "lat": round(lat1 + t * (lat2 - lat1) + rng.uniform(-0.01, 0.01), 5),
                "lon": round(lon1 + t * (lon2 - lon1) + rng.uniform(-0.01, 0.01), 5),
                "temperature": round(rng.uniform(2, 6), 1),
                "speed": round(rng.uniform(60, 90), 1),
            }
            out.append((device_id, body, message_id))
            if 0.005 <= roll < 0.01:
                out.append((device_id, body, message_id))  # sent twice
    return out


def publish(mqtt_url: str, prefix: str, batch, sent: dict, rate: float = 0) -> tuple[float, float]:
    import paho.mqtt.client as mqtt

    from devices.listener import Broker

    broker = Broker.from_url(mqtt_url)
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{RUN}"
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    client.max_inflight_messages_set(1000)
    client.connect(broker.host, broker.port)
    client.loop_start()
    first = time.time()
    infos = []
    for n, (device_id, body, message_id) in enumerate(batch):
        now = time.time()
        if rate and (ahead := first + n / rate - now) > 0:
            time.sleep(ahead)
            now = time.time()
        if isinstance(body, dict):
            body = {**body, "sent": now}
            sent.setdefault(message_id, now)
            payload = json.dumps(body)
        else:
            payload = body
        infos.append(client.publish(f"{prefix}/{device_id}/events", payload, qos=1))
    for info in infos:
        info.wait_for_publish(60)
    last = time.time()
    client.disconnect()
    client.loop_stop()
    return first, last


def forget_session(mqtt_url: str, client_id: str) -> None:
    """End the listener's session at a shared broker: no one will use it again."""
    import paho.mqtt.client as mqtt

    from devices.listener import Broker

    broker = Broker.from_url(mqtt_url)
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    client.connect(broker.host, broker.port, clean_start=True)
    client.loop_start()
    time.sleep(0.3)
    client.disconnect()
    client.loop_stop()


def watch(expected: int, seen: dict, stop: threading.Event) -> None:
    """Note when each event becomes visible in the database (committed), by (device,
    message id): garbage is named by its digest, the same for every device."""
    from django.db import connection

    last_id = 0
    with connection.cursor() as cursor:
        while not stop.is_set() and len(seen) < expected:
            cursor.execute(
                "SELECT id, device_identifier, message_id FROM devices_deviceevent "
                "WHERE id > %s AND device_identifier LIKE %s ORDER BY id",
                [last_id, f"bench-{RUN}-%"],
            )
            now = time.time()
            for row_id, device, message_id in cursor.fetchall():
                seen.setdefault((device, message_id), now)
                last_id = max(last_id, row_id)
            time.sleep(0.02)
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--events", type=int, default=20000)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--mqtt-url", default="", help="an existing broker (default: own)")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--drain",
        action="store_true",
        help="publish everything while the listener is stopped, then time how fast it "
        "drains the backlog (its own rate, the publisher not competing for the CPU)",
    )
    parser.add_argument("--profile", help="write the listener's cProfile to this file")
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="publish at most this many events/s (latency "
        "at a load the listener keeps up with); 0: as fast as the broker takes them",
    )
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.db import connection

    from devices.models import DeviceEvent, MovementAlert

    prepare()
    pairs = movements_with_devices(args.devices)
    workdir = Path(tempfile.mkdtemp(prefix="bench-seal-"))
    broker = None
    mqtt_url = args.mqtt_url
    if not mqtt_url:
        broker, mqtt_url = start_mosquitto(workdir)
    prefix = f"bench-{RUN}/devices"
    log = workdir / "listener.log"
    client_id = f"bench-listener-{RUN}"
    profile = ("-m", "cProfile", "-o", args.profile) if args.profile else ()
    listener = start_listener(mqtt_url, prefix, client_id, log, profile)
    batch = messages(pairs, args.events)
    unique = {message_id for _, _, message_id in batch if message_id}
    garbled = sum(1 for _, _, message_id in batch if message_id is None)
    # Identical garbage from one device is one event (named by its digest).
    expected = len(unique) + len({device for device, _, message_id in batch if not message_id})
    sent: dict[str, float] = {}
    seen: dict[tuple[str, str], float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(expected, seen, stop))
    load_before = os.getloadavg()[0]
    watcher.start()
    cpu_used = None
    try:
        if args.drain:
            # The session and its subscription exist: what is published now waits.
            listener.terminate()
            listener.wait(30)
            publish(mqtt_url, prefix, batch, sent)
            first = published = time.time()
            sent = dict.fromkeys(sent, first)
            listener = start_listener(mqtt_url, prefix, client_id, log, profile)
        else:
            first, published = publish(mqtt_url, prefix, batch, sent, args.rate)
        watcher.join(args.timeout)
    finally:
        stop.set()
        watcher.join()
        cpu_now = cpu_seconds(listener.pid)
        if cpu_now is not None and listener.cpu_at_start is not None:
            cpu_used = cpu_now - listener.cpu_at_start
        listener.terminate()
        listener.wait(30)
        if broker is not None:
            broker.terminate()
            broker.wait(10)
        else:
            forget_session(mqtt_url, f"bench-listener-{RUN}")
    connection.close()
    events = DeviceEvent.objects.filter(device_identifier__startswith=f"bench-{RUN}-")
    stored = events.count()
    if args.drain:
        # From the listener's first message on: its start (imports, connection) is no
        # part of its rate.
        from django.db.models import Min

        first = events.aggregate(first=Min("received_at"))["first"].timestamp()
        sent = dict.fromkeys(sent, first)
    last = max(seen.values()) if seen else time.time()
    readable = {(device, m) for device, _, m in batch if m}
    latencies = [seen[key] - sent[key[1]] for key in readable if key in seen]
    result = {
        "published": len(batch),
        "distinct_events": expected,
        "stored": stored,
        "lost": expected - stored,
        "duplicates_received": len(batch) - len(unique) - garbled,
        "receipts_counted": sum(events.values_list("receipts", flat=True)),
        "malformed": events.filter(outcome="malformed").count(),
        "alerts": MovementAlert.objects.filter(
            movement__invoice_number__startswith=f"BENCH-{RUN}"
        ).count(),
        "devices": len(pairs),
        "mode": "drain (published first, then the listener started)"
        if args.drain
        else f"live, paced at {args.rate:g}/s"
        if args.rate
        else "live",
        "publish_rate": None if args.drain else round(len(batch) / max(published - first, 1e-9)),
        "end_to_end_seconds": round(last - first, 3),
        "events_per_second": round(stored / max(last - first, 1e-9)),
        "latency_ms": {
            "p50": round(percentile(latencies, 50) * 1000),
            "p95": round(percentile(latencies, 95) * 1000),
            "p99": round(percentile(latencies, 99) * 1000),
            "max": round(max(latencies) * 1000),
            "mean": round(statistics.mean(latencies) * 1000),
        }
        if latencies
        else {},
        # The listener's own CPU time: what the rate cost, whatever else loads the machine.
        "listener_cpu_seconds": None if cpu_used is None else round(cpu_used, 2),
        "listener_cpu_us_per_event": None
        if cpu_used is None
        else round(cpu_used / max(stored, 1) * 1e6),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "broker": "own mosquitto (docker/mosquitto settings)" if broker else mqtt_url,
        "batch_size": int(os.environ.get("DEVICE_BATCH_SIZE", "500")),
        "batch_ms": int(os.environ.get("DEVICE_BATCH_MS", "50")),
        "listener_log": [line for line in log.read_text().splitlines() if "stored" in line],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

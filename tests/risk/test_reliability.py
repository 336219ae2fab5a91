"""Exactly one lane decision per declaration whatever happens to workers and the broker.

Each test starts its own worker process (and, for the broker restart, its own
redis-server) on a queue of its own, so it can kill them without touching the
shared test worker or the machine's Redis.
"""

import os
import shutil
import subprocess
import time
import uuid

import psutil
import psycopg2
import pytest
from django.db import connection
from django.utils import timezone
from redis import Redis

from accounts.services import api_token_issue
from agencies.models import Agency, Review
from declarations.models import Declaration
from declarations.services import declaration_transition
from risk.models import LaneDecision, ScoringFailure, live_rule_set_id
from tests.conftest import _test_database_url, run_django_script, wait_for
from tests.factories import item_data, make_declaration
from tests.risk.conftest import (
    delete_queue,
    kill_group,
    own_redis,
    own_worker,
    publisher,
    rabbitmq_or_skip,
    send_score,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

_numbers = iter(range(1, 10_000))


def queue_name() -> str:
    return f"risk-rel-{uuid.uuid4().hex[:8]}"


def lodged(cast) -> int:
    """A submitted declaration whose scoring message the test sends itself."""
    declaration = make_declaration(
        actor=cast.trader_a, items=[item_data()], invoice_number=f"INV-REL-{next(_numbers)}"
    )
    declaration_transition(
        declaration_id=declaration.pk,
        to_status=Declaration.Status.SUBMITTED,
        actor=cast.trader_a,
        changes={"submitted_at": timezone.now()},
    )
    return declaration.pk


def decisions(declaration_id: int) -> int:
    return LaneDecision.objects.filter(declaration_id=declaration_id).count()


def assert_scored_once(declaration_id: int) -> None:
    declaration = Declaration.objects.get(pk=declaration_id)
    # Routed once: under review, or assessed already when green cleared it.
    cleared = declaration.lane == "green"
    assert declaration.status == ("assessed" if cleared else Declaration.Status.UNDER_REVIEW)
    assert decisions(declaration_id) == 1
    assert (
        Review.objects.filter(declaration_id=declaration_id, agency__is_customs=True).count() == 1
    )
    lane_events = declaration.events.filter(to_status=Declaration.Status.UNDER_REVIEW)
    assert lane_events.count() == 1


def test_duplicate_messages_racing_on_two_processes_leave_one_decision(cast):
    queue = queue_name()
    ids = [lodged(cast) for _ in range(5)]
    with own_worker(queue=queue, concurrency=2):
        app = publisher(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
        for declaration_id in ids:
            for _ in range(4):
                send_score(app, queue, declaration_id)
        wait_for(lambda: all(decisions(i) for i in ids), timeout=60)
        time.sleep(1.5)  # let the duplicate messages run too
    for declaration_id in ids:
        assert_scored_once(declaration_id)


def _block_the_decision_insert(declaration_id: int):
    """Hold an uncommitted decision row so the worker's own insert waits on the unique index."""
    raw = psycopg2.connect(_test_database_url())
    cursor = raw.cursor()
    cursor.execute(
        f"INSERT INTO {LaneDecision._meta.db_table} (declaration_id, lane, score, reasons, "
        "rule_set_version, model_version, randomly_selected, timings, decided_at, duration_ms) "
        "VALUES (%s, 'green', 0, '[]', 'x', '', '', '{}', now(), 0)",
        [declaration_id],
    )
    return raw


def _workers_waiting_on_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s",
            [f"%INSERT INTO%{LaneDecision._meta.db_table}%"],
        )
        return cursor.fetchone()[0]


def _worker_waiting_on_lock() -> bool:
    return _workers_waiting_on_lock() > 0


@pytest.mark.parametrize("killed", ["pool process", "whole worker"])
def test_a_worker_sigkilled_mid_task_is_redelivered_and_scores_once(cast, killed):
    queue = queue_name()
    declaration_id = lodged(cast)
    blocker = _block_the_decision_insert(declaration_id)
    try:
        with own_worker(queue=queue) as worker:
            send_score(publisher(os.environ["REDIS_URL"]), queue, declaration_id)
            # The task has opened reviews and moved the status in its transaction,
            # and now waits to insert its decision: it is mid-task.
            wait_for(_worker_waiting_on_lock, timeout=30)
            if killed == "pool process":
                # The parent sees its child die; reject_on_worker_lost puts the message back.
                for child in psutil.Process(worker.pid).children(recursive=True):
                    child.kill()
            else:
                # Nothing survives to reject the message: it was never acknowledged, and
                # comes back after the visibility timeout to whichever worker is there.
                kill_group(worker)
            blocker.rollback()
            if killed == "pool process":
                wait_for(lambda: decisions(declaration_id), timeout=60)
        if killed == "whole worker":
            # A worker killed while it swept for abandoned messages leaves kombu's sweep
            # mutex to expire (5 minutes; the sweeper covers that time in production).
            Redis.from_url(os.environ["REDIS_URL"]).delete("unacked_mutex")
            with own_worker(queue=queue):
                wait_for(lambda: decisions(declaration_id), timeout=60)
    finally:
        blocker.close()
    assert_scored_once(declaration_id)


def test_a_broker_restart_loses_nothing(cast):
    queue = queue_name()
    before = [lodged(cast) for _ in range(3)]
    during = [lodged(cast) for _ in range(3)]
    with (
        own_redis() as redis_server,
        own_worker(queue=queue, redis_url=redis_server.url, RISK_SWEEP_AFTER_SECONDS=0),
    ):
        app = publisher(redis_server.url)
        for declaration_id in before:
            send_score(app, queue, declaration_id)
        wait_for(lambda: all(decisions(i) for i in before), timeout=60)

        # Redis dies (without saving): messages sent now are refused or lost.
        redis_server.stop()
        for declaration_id in during:
            with pytest.raises(Exception):  # noqa: B017 - any connection error will do
                publisher(redis_server.url).send_task(
                    "clearance.tasks.score_declaration",
                    args=[declaration_id],
                    queue=queue,
                    retry=False,
                )
        redis_server.start()
        # The worker reconnects; the sweeper finds the declarations still without a lane.
        app = publisher(redis_server.url)
        wait_for(lambda: app.control.ping(timeout=0.5) and True, timeout=60)
        app.send_task("clearance.tasks.sweep_unscored_declarations", queue=queue)
        wait_for(lambda: all(decisions(i) for i in during), timeout=60)
        # A second sweep and duplicate messages change nothing.
        app.send_task("clearance.tasks.sweep_unscored_declarations", queue=queue)
        for declaration_id in before:
            send_score(app, queue, declaration_id)
        time.sleep(2)
    for declaration_id in before + during:
        assert_scored_once(declaration_id)


SUBMIT_WITHOUT_BROKER = """
import json, sys
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from rest_framework.test import APIClient
client = APIClient()
client.credentials(HTTP_AUTHORIZATION="Token " + sys.argv[1])
out = []
for _ in range(2):
    url = f"/api/v1/declarations/{sys.argv[2]}/submit/"
    response = client.post(url, HTTP_IDEMPOTENCY_KEY="k-1")
    out.append([response.status_code, response.json().get("status"), response.json().get("id")])
print(json.dumps(out))
"""


def test_with_redis_down_the_submission_stands_and_the_sweeper_routes_it(cast):
    draft = make_declaration(actor=cast.trader_a, invoice_number="INV-REL-DOWN")
    _, token = api_token_issue(user=cast.trader_a)
    dead = f"redis://127.0.0.1:{_closed_port()}/0"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": dead,
        "DJANGO_SETTINGS_MODULE": "singlewindow.settings",
    }
    started = time.monotonic()
    answers = run_django_script(SUBMIT_WITHOUT_BROKER, token, str(draft.pk), env=env)
    # Accepted once; the retry with the same key is answered from the first response.
    assert answers == [[202, "submitted", draft.pk], [202, "submitted", draft.pk]]
    assert time.monotonic() - started < 60
    assert Declaration.objects.get(pk=draft.pk).status == Declaration.Status.SUBMITTED
    assert Declaration.objects.filter(invoice_number="INV-REL-DOWN").count() == 1

    queue = queue_name()
    with own_worker(queue=queue, RISK_SWEEP_AFTER_SECONDS=0):
        publisher(os.environ["REDIS_URL"]).send_task(
            "clearance.tasks.sweep_unscored_declarations", queue=queue
        )
        wait_for(lambda: decisions(draft.pk), timeout=60)
    assert_scored_once(draft.pk)


def _closed_port() -> int:
    from tests.risk.conftest import free_port

    return free_port()


def test_a_task_that_always_fails_holds_the_declaration_for_manual_review(cast):
    # Without a customs agency no review can open: every attempt fails the same way.
    declaration_id = lodged(cast)
    queue = queue_name()
    Agency.objects.filter(pk=cast.customs.pk).update(is_customs=False)
    with own_worker(queue=queue, RISK_SWEEP_AFTER_SECONDS=0):
        app = publisher(os.environ["REDIS_URL"])
        send_score(app, queue, declaration_id)
        wait_for(
            lambda: Declaration.objects.get(pk=declaration_id).status == Declaration.Status.HELD,
            timeout=60,
        )
        # The sweeper looks for submitted declarations only: a held one is not queued again.
        app.send_task("clearance.tasks.sweep_unscored_declarations", queue=queue)
        time.sleep(2)
    declaration = Declaration.objects.get(pk=declaration_id)
    assert declaration.status == Declaration.Status.HELD
    assert decisions(declaration_id) == 0
    assert ScoringFailure.objects.get(declaration_id=declaration_id).attempts == 3
    held = declaration.events.get(to_status=Declaration.Status.HELD)
    assert held.reason == "risk scoring failed 3 times; held for manual review"
    assert held.actor is None
    assert "DoesNotExist" in held.data["risk_error"]


def _answers(broker_url: str, hostname: str) -> bool:
    try:
        return bool(publisher(broker_url).control.ping([hostname], timeout=0.5))
    except Exception:  # our own client's pooled connection may have died with Redis
        return False


def _read(path: str) -> str:
    with open(path) as log:
        return log.read()


def test_redis_killed_while_a_loaded_worker_holds_unacked_tasks_recovers_by_itself(
    cast, no_random_selection
):
    """The worker outlives the outage and every declaration gets its lane, no hand on it.

    Both pool processes are mid-task (their decision inserts wait on our locks) and
    more messages wait in the queue when redis-server is SIGKILLed; it comes back on
    the same port with its append-only file, as the production Redis does.
    """
    live_rule_set_id()  # created now, not by two racing tasks
    queue = queue_name()
    ids = [lodged(cast) for _ in range(6)]
    blockers = [_block_the_decision_insert(declaration_id) for declaration_id in ids[:2]]
    try:
        with (
            own_redis(appendonly=True) as redis_server,
            own_worker(
                queue=queue, redis_url=redis_server.url, concurrency=2, RISK_BATCH_SIZE=1
            ) as worker,
        ):
            app = publisher(redis_server.url)
            for declaration_id in ids:
                send_score(app, queue, declaration_id)
            wait_for(lambda: _workers_waiting_on_lock() == 2, timeout=30)

            redis_server.stop()
            # The worker notices, and the two tasks finish while it tries to reconnect:
            # they cannot be acknowledged.
            wait_for(lambda: "Cannot connect to" in _read(worker.log_path), timeout=30)
            for blocker in blockers:
                blocker.rollback()
            wait_for(lambda: all(decisions(i) for i in ids[:2]), timeout=30)
            # Redis stays away for a second attempt to reconnect, then comes back.
            wait_for(lambda: _read(worker.log_path).count("Cannot connect to") >= 2, timeout=30)
            redis_server.start()

            wait_for(lambda: all(decisions(i) for i in ids), timeout=90)
            assert worker.poll() is None, "the worker process died in the outage"
            # The worker answers control commands again (what /health/ asks).
            wait_for(lambda: _answers(redis_server.url, worker.hostname), timeout=30)
            # Redelivered copies of the two tasks that could not be acknowledged run too.
            wait_for(lambda: not Redis.from_url(redis_server.url).hlen("unacked"), timeout=30)
    finally:
        for blocker in blockers:
            blocker.close()
    for declaration_id in ids:
        assert_scored_once(declaration_id)


# ---- RabbitMQ, the production broker: the machine's server, queues of our own ------------------


def test_on_rabbitmq_a_worker_sigkilled_mid_task_is_redelivered_at_once(cast):
    """RabbitMQ gives the message back as soon as the dead worker's connection closes:
    no visibility timeout, no mutex to clear."""
    broker = rabbitmq_or_skip()
    queue = queue_name()
    declaration_id = lodged(cast)
    blocker = _block_the_decision_insert(declaration_id)
    try:
        with own_worker(queue=queue, broker_url=broker) as worker:
            send_score(publisher(broker), queue, declaration_id)
            wait_for(_worker_waiting_on_lock, timeout=30)
            kill_group(worker)
        blocker.rollback()
        with own_worker(queue=queue, broker_url=broker):
            wait_for(lambda: decisions(declaration_id), timeout=60)
    finally:
        blocker.close()
        delete_queue(broker, queue)
    assert_scored_once(declaration_id)


def _rabbitmq_connections_of(process) -> list[str]:
    """RabbitMQ's ids of the connections of this worker (found by their local ports)."""
    ports = {
        c.laddr.port
        for c in psutil.Process(process.pid).net_connections(kind="tcp")
        if c.raddr and c.raddr.port == 5672
    }
    listed = subprocess.run(
        ["rabbitmqctl", "--quiet", "list_connections", "pid", "peer_port"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    ids = []
    for line in listed.splitlines():
        pid, _, port = line.rpartition("\t")
        if port.strip().isdigit() and int(port) in ports:
            ids.append(pid)
    return ids


def test_on_rabbitmq_a_dropped_connection_redelivers_and_the_worker_carries_on(cast):
    broker = rabbitmq_or_skip()
    if not shutil.which("rabbitmqctl"):
        pytest.skip("rabbitmqctl is needed to close the worker's connection")
    queue = queue_name()
    declaration_id, later = lodged(cast), lodged(cast)
    blocker = _block_the_decision_insert(declaration_id)
    try:
        with own_worker(queue=queue, broker_url=broker) as worker:
            send_score(publisher(broker), queue, declaration_id)
            wait_for(_worker_waiting_on_lock, timeout=30)
            # The broker drops the worker's connections (only this worker's; closing
            # one may make the worker drop the others before we get to them).
            closed = [
                subprocess.run(
                    ["rabbitmqctl", "--quiet", "close_connection", pid, "test: dropped"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
                for pid in wait_for(lambda: _rabbitmq_connections_of(worker), timeout=10)
            ]
            assert any(result.returncode == 0 for result in closed), closed
            blocker.rollback()
            wait_for(lambda: decisions(declaration_id), timeout=60)
            # The worker reconnected and consumes: a new message is scored too.
            send_score(publisher(broker), queue, later)
            wait_for(lambda: decisions(later), timeout=60)
            assert worker.poll() is None
    finally:
        blocker.close()
        delete_queue(broker, queue)
    assert_scored_once(declaration_id)
    assert_scored_once(later)

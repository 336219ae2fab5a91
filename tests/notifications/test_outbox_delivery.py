"""Each e-mail arrives once whatever happens to the worker between the commit and the send.

Real worker processes (started and SIGKILLed by the test, on this session's
queue) deliver to a real SMTP server in the test process. Where the beat job
would run, the test publishes `sweep_outbox` as beat does, once a second.
"""

import collections

import pytest
from django.conf import settings
from django.db import transaction
from redis import Redis

from declarations.models import Declaration
from notifications.models import Notification, OutboxMessage
from notifications.services import notify
from tests.agencies.conftest import MEAT, ORANGES, regulated_item
from tests.conftest import wait_for
from tests.notifications.conftest import give_addresses, worker_mail_env
from tests.risk.conftest import kill_group, own_worker, publisher, submitted

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SWEEP = "notifications.tasks.sweep_outbox"


@pytest.fixture
def queue():
    """The queue this process publishes to, emptied of anything earlier tests left, with
    the test's own worker its only consumer: the suite's shared worker (tests/conftest.py),
    which has no mail server, stops consuming it for the test and takes it up again after."""
    name = settings.CELERY_TASK_DEFAULT_QUEUE
    Redis.from_url(settings.REDIS_URL).delete(name)
    control = publisher(settings.REDIS_URL).control
    consumers = [
        worker
        for worker, queues in (control.inspect(timeout=1.0).active_queues() or {}).items()
        if name in {q["name"] for q in queues}
    ]
    for worker in consumers:
        control.cancel_consumer(name, destination=[worker], reply=True)
    yield name
    for worker in consumers:
        control.add_consumer(name, destination=[worker], reply=True)


def sweeping(queue: str, until):
    """A predicate for wait_for that ticks like beat: publish the sweep, then look."""
    app = publisher(settings.REDIS_URL)

    def tick():
        app.send_task(SWEEP, queue=queue)
        return until()

    return tick


def wait_until_idle(worker, queue: str) -> None:
    """Nothing left to run: the queue empty, nothing unacknowledged (a dead worker's
    message redelivered and done), the worker holding no task."""
    redis = Redis.from_url(settings.REDIS_URL)
    inspect = publisher(settings.REDIS_URL).control.inspect(
        destination=[worker.hostname], timeout=0.5
    )

    def idle() -> bool:
        if redis.llen(queue) or redis.hlen("unacked"):
            return False
        return not any([*(inspect.active() or {}).values(), *(inspect.reserved() or {}).values()])

    wait_for(idle, timeout=30, interval=0.3)


def test_a_scoring_emails_each_user_it_tells_exactly_once(
    cast, no_random_selection, smtp_sink, queue
):
    users = [cast.trader_a, cast.customs_officer, cast.supervisor]
    users += [cast.food_officer, cast.plant_officer, cast.analyst]
    addresses = give_addresses(*users)
    items = [regulated_item(code, holder=cast.company_a) for code in (MEAT, ORANGES)]
    with own_worker(queue=queue, **worker_mail_env(smtp_sink)) as worker:
        declaration = submitted(cast.trader_a, items=items)
        wait_for(lambda: Declaration.objects.get(pk=declaration.pk).lane, timeout=60)
        told = Notification.objects.filter(created_at__gte=declaration.submitted_at)
        expected = collections.Counter(
            (addresses[n.recipient_id], f"Single Window: {n.text[:80]}")
            for n in told
            if n.recipient_id in addresses
        )
        wait_for(lambda: len(smtp_sink.messages) >= expected.total(), timeout=60)
        wait_until_idle(worker, queue)
    received = collections.Counter((m["To"], m["Subject"]) for m in smtp_sink.messages)
    assert received == expected
    assert set(expected.values()) == {1}
    # The scoring opened the agencies' reviews and told their officers.
    officers = {addresses[cast.food_officer.pk], addresses[cast.plant_officer.pk]}
    assert officers <= {to for to, _ in received}
    assert len(set(smtp_sink.message_ids())) == len(smtp_sink.messages)


@pytest.mark.parametrize("held", ["before_accept", "after_accept"])
def test_a_worker_killed_in_the_middle_of_sending_loses_no_email(
    cast, smtp_sink, mail_settings, queue, held
):
    """SIGKILL while the SMTP server sits on the message. Not yet accepted: the next
    worker sends it once. Accepted but not yet answered (the only window left):
    it is sent again as the same message, same Message-ID, which receivers
    de-duplicate."""
    address = give_addresses(cast.food_officer)[cast.food_officer.pk]
    env = worker_mail_env(smtp_sink, OUTBOX_LEASE_SECONDS="2")
    smtp_sink.hold(held)
    with own_worker(queue=queue, **env) as first:
        with transaction.atomic():
            notify(
                recipient_ids=[cast.food_officer.pk],
                verb="review_opened",
                text="IM-00000009/1: a review waits for your agency",
                url="/reviews/9/",
            )
        assert smtp_sink.holding.wait(30), "the worker never reached the SMTP server"
        kill_group(first)
    smtp_sink.release()

    arrivals = 1 if held == "before_accept" else 2
    with own_worker(queue=queue, **env) as second:
        wait_for(sweeping(queue, lambda: len(smtp_sink.to(address)) >= arrivals), interval=1)
        wait_until_idle(second, queue)
    received = smtp_sink.to(address)
    assert len(received) == arrivals
    assert len({m["Message-ID"] for m in received}) == 1
    assert received[0]["Subject"].endswith("a review waits for your agency")
    assert Notification.objects.filter(recipient=cast.food_officer).count() == 1
    assert list(OutboxMessage.objects.values_list("status", flat=True)) == ["sent"]


def test_an_email_whose_task_was_lost_after_the_commit_is_sent_by_the_sweep(
    cast, smtp_sink, mail_settings, queue
):
    """The step committed and its delivery task never reached a worker (the process
    died before publishing, or the broker lost the message): beat's sweep sends it."""
    address = give_addresses(cast.trader_a)[cast.trader_a.pk]
    with transaction.atomic():
        notify(recipient_ids=[cast.trader_a.pk], verb="released", text="IM-1: goods released")
    Redis.from_url(settings.REDIS_URL).delete(queue)  # the task is lost
    with own_worker(queue=queue, **worker_mail_env(smtp_sink)) as worker:
        wait_for(sweeping(queue, lambda: smtp_sink.to(address)), interval=1)
        wait_until_idle(worker, queue)
    assert len(smtp_sink.to(address)) == 1
    assert Notification.objects.filter(recipient=cast.trader_a).count() == 1

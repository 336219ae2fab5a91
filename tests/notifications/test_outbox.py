"""E-mail of notifications goes through the outbox: written with the step, sent from there."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clearance.services import review_approve
from notifications.models import Notification, OutboxMessage
from notifications.outbox import email_message_id, outbox_deliver_pending, outbox_message_deliver
from notifications.selectors import outbox_backlog
from notifications.services import notify
from tests.agencies.conftest import review_of
from tests.notifications.conftest import give_addresses

pytestmark = pytest.mark.django_db


def test_the_email_is_stored_with_the_notification_and_sent_once(cast, mail_settings, smtp_sink):
    addresses = give_addresses(cast.trader_a)  # trader_b has no address: no e-mail
    notify(
        recipient_ids=[cast.trader_a.pk, cast.trader_b.pk],
        verb="released",
        text="IM-1: goods released",
        url="/declarations/1/",
    )
    (row,) = OutboxMessage.objects.all()
    assert row.notification.recipient == cast.trader_a
    assert smtp_sink.messages == []  # nothing leaves before a delivery runs

    assert outbox_message_deliver(message_id=row.pk) is True
    assert outbox_message_deliver(message_id=row.pk) is False
    assert outbox_deliver_pending() == 0
    (email,) = smtp_sink.messages
    assert email["To"] == addresses[cast.trader_a.pk]
    assert email["Subject"] == "Single Window: IM-1: goods released"
    assert email["Message-ID"] == email_message_id(row)
    assert "/declarations/1/" in email.get_payload()
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 1)
    assert outbox_backlog()["pending"] == 0


def test_a_step_rolled_back_emails_nobody(cast, reviewed, mail_settings, smtp_sink):
    give_addresses(cast.trader_a)
    declaration = reviewed()
    told_before = OutboxMessage.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        review_approve(review_id=review_of(declaration, cast.food).pk, actor=cast.food_officer)
        assert OutboxMessage.objects.count() > told_before
        raise RuntimeError("the request failed after the approval")
    assert OutboxMessage.objects.count() == told_before
    # What was told before the approval goes out; nothing of the approval does.
    assert outbox_deliver_pending() == told_before == len(smtp_sink.messages)


def test_without_a_mail_host_nothing_is_queued_and_what_was_waits_for_one(
    cast, mail_settings, smtp_sink
):
    give_addresses(cast.trader_a)
    notify(recipient_ids=[cast.trader_a.pk], verb="released", text="First")
    mail_settings.EMAIL_HOST = ""
    notify(recipient_ids=[cast.trader_a.pk], verb="released", text="Second")
    assert Notification.objects.filter(recipient=cast.trader_a).count() == 2
    assert OutboxMessage.objects.count() == 1  # the second step was not to be e-mailed

    # The mail host went away with an e-mail still to send: it waits, visibly.
    assert outbox_deliver_pending() == 0
    assert outbox_backlog()["pending"] == 1
    mail_settings.EMAIL_HOST = "127.0.0.1"
    assert outbox_deliver_pending() == 1
    assert [m["Subject"] for m in smtp_sink.messages] == ["Single Window: First"]


def test_a_temporary_refusal_is_retried_later_and_sent_once(cast, mail_settings, smtp_sink):
    address = give_addresses(cast.trader_a)[cast.trader_a.pk]
    smtp_sink.refuse[address] = "451 4.3.0 mailbox busy, try later"
    (row,) = notify(recipient_ids=[cast.trader_a.pk], verb="released", text="Released")[
        0
    ].outbox_messages.all()
    before = timezone.now()
    assert outbox_message_deliver(message_id=row.pk) is False
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "451" in row.last_error
    assert row.next_attempt_at >= before + timedelta(seconds=mail_settings.OUTBOX_RETRY_SECONDS)
    assert outbox_backlog()["retrying"] == 1

    del smtp_sink.refuse[address]
    assert outbox_deliver_pending() == 0  # not before its time
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert outbox_deliver_pending() == 1
    assert [m["To"] for m in smtp_sink.messages] == [address]
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")


def test_a_refused_address_fails_for_good_and_the_administrator_sees_it(
    cast, mail_settings, smtp_sink, login
):
    address = give_addresses(cast.trader_a)[cast.trader_a.pk]
    smtp_sink.refuse[address] = "550 5.1.1 no such mailbox"
    notify(recipient_ids=[cast.trader_a.pk], verb="released", text="Released")
    assert outbox_deliver_pending() == 0
    (row,) = OutboxMessage.objects.all()
    assert (row.status, row.attempts) == ("failed", 1)
    assert outbox_backlog() | {"oldest_pending_at": None} == {
        "pending": 0,
        "retrying": 0,
        "failed": 1,
        "oldest_pending_at": None,
    }
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert outbox_deliver_pending() == 0  # given up: not tried again

    page = login(cast.admin).get("/admin/notifications/outboxmessage/")
    assert page.status_code == 200
    text = page.content.decode()
    assert address in text and "no such mailbox" in text
    assert login(cast.admin).get("/admin/notifications/outboxmessage/add/").status_code == 403
    assert login(cast.food_officer).get("/admin/notifications/outboxmessage/").status_code == 302


def test_the_admin_opens_on_what_is_not_delivered(cast, mail_settings, smtp_sink, login):
    give_addresses(cast.trader_a)
    notify(recipient_ids=[cast.trader_a.pk], verb="released", text="Delivered one")
    outbox_deliver_pending()
    notify(recipient_ids=[cast.trader_a.pk], verb="released", text="Waiting one")
    browser = login(cast.admin)
    undelivered = browser.get("/admin/notifications/outboxmessage/").context["cl"].result_list
    assert [row.payload["subject"] for row in undelivered] == ["Single Window: Waiting one"]
    everything = browser.get("/admin/notifications/outboxmessage/?delivery=all")
    assert len(everything.context["cl"].result_list) == 2


def test_e_mailing_a_step_costs_the_same_statements_for_any_number_of_recipients(
    cast, mail_settings
):
    few = [cast.trader_a, cast.trader_b]
    many = [*few, cast.food_officer, cast.plant_officer, cast.supervisor, cast.customs_officer]
    give_addresses(*many)
    counts = []
    for users in (few, many):
        with CaptureQueriesContext(connection) as captured:
            notify(recipient_ids=[u.pk for u in users], verb="released", text="Released")
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
    assert OutboxMessage.objects.count() == len(few) + len(many)


def test_beat_sweeps_the_outbox(settings):
    from singlewindow.celery import app

    app.loader.import_default_modules()
    swept = [job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "notifications.tasks.sweep_outbox" in swept
    assert "notifications.tasks.sweep_outbox" in app.tasks

"""The outbox: messages to other systems, stored with the change that causes them.

A caller writes its messages in its own transaction (`outbox_messages_add`), so
they commit with the change or not at all. Once it commits a task delivers
them at once; the beat job `sweep_outbox` delivers whatever is still pending,
so a worker killed, a Redis outage or a lost task message between the commit
and the send delays a delivery, never loses it.

Each delivery claims its row with a guarded UPDATE that takes a lease
(`OUTBOX_LEASE_SECONDS`) and counts the attempt; the result is written only by
the attempt that holds the row. A failure is retried with a doubling delay;
a permanent refusal, or `MAX_ATTEMPTS` failures, leaves the row `failed` for an
administrator to see (admin, `selectors.outbox_backlog`).

Exactly once, as far as SMTP allows: the e-mail carries a Message-ID derived
from the row's key, and the row is marked sent right after the server accepts
it. If the worker dies in between (the server said 250, the UPDATE never
committed), the lease lapses and the same message, same Message-ID, is sent
again; receivers and their mail stores de-duplicate by Message-ID. That window
(milliseconds) is the only one where a recipient can see a message twice; no
window loses one. Deliveries must run outside any transaction, so that a claim
is visible to other workers at once and no lock is held across the network.
"""

import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications.models import OutboxMessage

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status

MAX_ATTEMPTS = 8
MAX_RETRY_DELAY = timedelta(hours=1)
# A sweep delivers at most this many; the next one takes the rest.
SWEEP_BATCH = 500


class PermanentDeliveryError(Exception):
    """The receiver refused the message for good; trying again would not help."""


# ---- Channels -------------------------------------------------------------------------------


def email_message_id(message: OutboxMessage) -> str:
    """The same Message-ID on every attempt, whichever worker makes it."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<{message.key}@{domain}>"


def _email_send(message: OutboxMessage) -> None:
    payload = message.payload
    email = EmailMessage(
        subject=payload["subject"],
        body=payload["body"],
        to=[payload["to"]],
        headers={"Message-ID": email_message_id(message)},
    )
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as error:
        if all(code >= 500 for code, _ in error.recipients.values()):
            raise PermanentDeliveryError(str(error)) from error
        raise
    except smtplib.SMTPResponseException as error:
        if error.smtp_code >= 500:
            raise PermanentDeliveryError(str(error)) from error
        raise


def _email_enabled() -> bool:
    # E-mail goes out only where a mail host is configured; rows written while it
    # was stay pending (and show in the backlog) until one is configured again.
    return bool(settings.EMAIL_HOST)


# A channel is its sender and whether it is configured here. Messages to partner
# systems add theirs.
CHANNELS: dict[str, tuple[Callable[[OutboxMessage], None], Callable[[], bool]]] = {
    OutboxMessage.Channel.EMAIL: (_email_send, _email_enabled),
}


def _enabled_channels() -> list[str]:
    return [channel for channel, (_, enabled) in CHANNELS.items() if enabled()]


# ---- Writing --------------------------------------------------------------------------------


@transaction.atomic
def outbox_messages_add(*, messages: list[OutboxMessage]) -> list[OutboxMessage]:
    """Store messages in the caller's transaction; deliver them once it commits."""
    if not messages:
        return []
    now = timezone.now()
    for message in messages:
        message.created_at = message.next_attempt_at = now
    created = OutboxMessage.objects.bulk_create(messages)
    ids = [message.pk for message in created]

    def deliver_now() -> None:
        from notifications.tasks import deliver_outbox_messages

        deliver_outbox_messages.delay(ids)

    # Robust: with the broker down the change still stands and the sweep delivers.
    transaction.on_commit(deliver_now, robust=True)
    return created


# ---- Delivering -----------------------------------------------------------------------------


def _claimable(now):
    return OutboxMessage.objects.filter(
        status=Status.PENDING, next_attempt_at__lte=now, attempts__lt=MAX_ATTEMPTS
    ).filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))


def _retry_delay(attempts: int) -> timedelta:
    delay = timedelta(seconds=settings.OUTBOX_RETRY_SECONDS * 2 ** (attempts - 1))
    return min(delay, MAX_RETRY_DELAY)


def outbox_message_deliver(*, message_id: int) -> bool:
    """Deliver one message unless it is sent, failed, leased, waiting for a retry, or
    its channel is not configured here. Returns whether this call delivered it."""
    now = timezone.now()
    claimable = _claimable(now).filter(pk=message_id, channel__in=_enabled_channels())
    claimed = claimable.update(
        leased_until=now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return False
    message = OutboxMessage.objects.get(pk=message_id)
    # Only the attempt that holds the row writes its outcome: one whose lease
    # lapsed (it hung) must not release a row another attempt now holds.
    held = OutboxMessage.objects.filter(
        pk=message_id, status=Status.PENDING, attempts=message.attempts
    )
    send, _ = CHANNELS[message.channel]
    try:
        send(message)
    except Exception as error:
        permanent = isinstance(error, PermanentDeliveryError)
        gave_up = permanent or message.attempts >= MAX_ATTEMPTS
        held.update(
            status=Status.FAILED if gave_up else Status.PENDING,
            leased_until=None,
            next_attempt_at=timezone.now() + _retry_delay(message.attempts),
            last_error=f"{type(error).__name__}: {error}"[:2000],
        )
        logger.warning(
            "outbox %s %s: attempt %d failed%s: %s",
            message.channel,
            message.key,
            message.attempts,
            " for good" if gave_up else "",
            error,
        )
        return False
    held.update(status=Status.SENT, sent_at=timezone.now(), leased_until=None, last_error="")
    return True


def outbox_deliver_pending(*, limit: int = SWEEP_BATCH) -> int:
    """Deliver what is due and unclaimed, oldest first; return how many were sent.

    A message whose last allowed attempt never reported back (its worker died
    holding it) is marked failed here, so that it shows instead of waiting forever.
    """
    now = timezone.now()
    OutboxMessage.objects.filter(
        status=Status.PENDING, attempts__gte=MAX_ATTEMPTS, leased_until__lt=now
    ).update(
        status=Status.FAILED,
        leased_until=None,
        last_error="The last attempt never reported back (its worker stopped).",
    )
    due = list(
        _claimable(now)
        .filter(channel__in=_enabled_channels())
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(outbox_message_deliver(message_id=pk) for pk in due)

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from notifications.models import Notification, OutboxMessage
from notifications.outbox import outbox_messages_add

logger = logging.getLogger(__name__)


def recipients_of_companies(company_ids) -> dict[int, list[int]]:
    """Every active user of each company, by company, in one query."""
    User = get_user_model()
    recipients: dict[int, list[int]] = {}
    for company_id, pk in User.objects.filter(
        company_id__in=company_ids, is_active=True
    ).values_list("company_id", "pk"):
        recipients.setdefault(company_id, []).append(pk)
    return recipients


def recipients_with_roles(*, roles, agency_id: int | None = None, office_codes=None) -> list[int]:
    """Active users with one of these roles (of one agency, and posted at one of these
    offices, if given)."""
    User = get_user_model()
    users = User.objects.filter(is_active=True, role__in=roles)
    if agency_id is not None:
        users = users.filter(agency_id=agency_id)
    if office_codes is not None:
        users = users.filter(offices__code__in=list(office_codes)).distinct()
    return list(users.values_list("pk", flat=True))


def recipients_of_agencies_at_offices(pairs) -> dict[tuple[int, str], list[int]]:
    """The officers and supervisors told about new work, by (agency id, office code):
    those of the agency posted at the office whose queue the work is in."""
    User = get_user_model()
    pairs = set(pairs)
    recipients: dict[tuple[int, str], list[int]] = {}
    for agency_id, office, pk in User.objects.filter(
        agency_id__in={agency_id for agency_id, _ in pairs},
        offices__code__in={office for _, office in pairs},
        is_active=True,
        role__in=["officer", "supervisor"],
    ).values_list("agency_id", "offices__code", "pk"):
        if (agency_id, office) in pairs:
            recipients.setdefault((agency_id, office), []).append(pk)
    return recipients


def recipients_at_offices(office_codes, *, customs_only: bool = True) -> list[int]:
    """The officers and supervisors posted at any of these customs offices (of
    customs alone, unless told otherwise): who is told of a movement's alerts."""
    User = get_user_model()
    users = User.objects.filter(
        is_active=True, role__in=["officer", "supervisor"], offices__code__in=list(office_codes)
    )
    if customs_only:
        users = users.filter(agency__is_customs=True)
    return list(users.values_list("pk", flat=True).distinct())


def recipients_by_office(office_codes, *, customs_only: bool = True) -> dict[str, list[int]]:
    """recipients_at_offices for many offices at once, by office, in one query."""
    Posting = get_user_model().offices.through
    postings = Posting.objects.filter(
        office_id__in=list(office_codes),
        user__is_active=True,
        user__role__in=["officer", "supervisor"],
    )
    if customs_only:
        postings = postings.filter(user__agency__is_customs=True)
    recipients: dict[str, list[int]] = {}
    for office, user in postings.values_list("office_id", "user_id"):
        recipients.setdefault(office, []).append(user)
    return recipients


@dataclass(frozen=True)
class Message:
    recipient_ids: list[int]
    verb: str
    text: str
    url: str = ""


@transaction.atomic
def notify_many(*, messages: list[Message]) -> list[Notification]:
    """Store one notification per recipient of each message, in one statement, and
    their e-mails in the outbox.

    Called in the transaction of the step being told about: the notification and
    its e-mail commit with it or not at all, and are read (sent) once the step is
    visible. Nothing is sent from here: the outbox delivers after the commit.
    """
    now = timezone.now()
    created = Notification.objects.bulk_create(
        Notification(
            recipient_id=pk, verb=message.verb, text=message.text[:300], url=message.url,
            created_at=now,
        )
        for message in messages
        for pk in dict.fromkeys(message.recipient_ids)
    )  # fmt: skip
    if settings.EMAIL_HOST and created:
        notification_emails_add(notifications=created)
    return created


def notify(*, recipient_ids: list[int], verb: str, text: str, url: str = "") -> list[Notification]:
    return notify_many(messages=[Message(recipient_ids, verb, text, url)])


def notification_emails_add(*, notifications: list[Notification]) -> list[OutboxMessage]:
    """Put the e-mail of each notification whose recipient has an address in the
    outbox, in the caller's transaction (the same statements for any number).

    Only while EMAIL_HOST is configured: a platform that starts e-mailing later
    does not send a backlog of old news. The address is the one the user had
    when the step happened.
    """
    User = get_user_model()
    addresses = dict(
        User.objects.filter(pk__in={n.recipient_id for n in notifications})
        .exclude(email="")
        .values_list("pk", "email")
    )
    return outbox_messages_add(
        messages=[
            OutboxMessage(
                channel=OutboxMessage.Channel.EMAIL,
                notification=notification,
                payload={
                    "to": addresses[notification.recipient_id],
                    "subject": f"Single Window: {notification.text[:80]}",
                    "body": f"{notification.text}\n\n{notification.url}",
                },
            )
            for notification in notifications
            if notification.recipient_id in addresses
        ]
    )


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when ids is None)."""
    queryset = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        queryset = queryset.filter(pk__in=ids)
    return queryset.update(read_at=timezone.now())

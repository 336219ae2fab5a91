from django.db.models import Count, Min, Q, QuerySet

from notifications.models import Notification, OutboxMessage


def notification_list(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def unread_count(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def outbox_backlog() -> dict:
    """What the outbox has not delivered, for an operator (health page, monitoring):
    `pending` (to send, `retrying` of them after a failure), `failed` (given up:
    see the admin), `oldest_pending_at`. One query on the unsent rows' index."""
    Status = OutboxMessage.Status
    return OutboxMessage.objects.exclude(status=Status.SENT).aggregate(
        pending=Count("pk", filter=Q(status=Status.PENDING)),
        retrying=Count("pk", filter=Q(status=Status.PENDING, attempts__gt=0)),
        failed=Count("pk", filter=Q(status=Status.FAILED)),
        oldest_pending_at=Min("created_at", filter=Q(status=Status.PENDING)),
    )

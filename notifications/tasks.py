from celery import shared_task

from notifications.outbox import outbox_deliver_pending, outbox_message_deliver


@shared_task(acks_late=True)
def deliver_outbox_messages(message_ids: list[int]) -> None:
    """Queued once a change with outbox messages commits: deliver them now.

    Run twice, or after the sweep took them, it finds them sent or leased and does
    nothing. A failure is recorded on the row and retried by the sweep.
    """
    for message_id in message_ids:
        outbox_message_deliver(message_id=message_id)


@shared_task
def sweep_outbox() -> int:
    """Beat: deliver what the task queued on commit did not (lost message, dead
    worker, lapsed lease) and what is due for a retry."""
    return outbox_deliver_pending()

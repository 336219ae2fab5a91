"""What the broker holds: how many tasks wait in the platform's queue."""

from django.conf import settings
from redis import Redis

from singlewindow.celery import app as celery_app

# kombu's Redis transport keeps a queue's messages of each priority step in a list of
# its own: the queue's name for the first, the name, this separator and the step for
# the others (kombu.transport.redis.PRIORITY_STEPS).
REDIS_PRIORITY_SEPARATOR = "\x06\x16"
REDIS_PRIORITY_STEPS = (0, 3, 6, 9)


def broker_queue_depth(queue: str | None = None) -> int:
    """Tasks waiting in the queue (not those a worker holds), read from the broker: LLEN
    of its lists on Redis, a passive declare on RabbitMQ. Raises when the broker cannot
    be reached within a second or two."""
    queue = queue or settings.CELERY_TASK_DEFAULT_QUEUE
    if settings.BROKER_IS_AMQP:
        with celery_app.connection_for_read(settings.CELERY_BROKER_URL, connect_timeout=1) as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
    client = Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        keys = [queue] + [
            f"{queue}{REDIS_PRIORITY_SEPARATOR}{step}" for step in REDIS_PRIORITY_STEPS[1:]
        ]
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.llen(key)
        return sum(pipe.execute())
    finally:
        client.close()

import logging
import os

from celery import Celery
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "singlewindow.settings")

logger = logging.getLogger(__name__)


class RedisQoS(kombu_redis.QoS):
    """kombu's Redis QoS, whose early restore of unacked messages never raises.

    When a channel closes, kombu pushes the messages it delivered but that were
    not acknowledged back onto their queue. After a broker outage that push
    cannot work: Redis is unreachable (a connection error), or the consumer has
    already collected the connection, so the channel's transport has no client
    left and kombu fails with AttributeError("'NoneType' object has no attribute
    'hostname'"). Celery ignores connection errors there but not that one, and
    the worker exits with "Unrecoverable error" (kombu 5.7.0, celery 5.7.0; see
    celery/celery#10205 for the related restore_visible path, fixed in 5.7.0).
    Nothing is lost by skipping the push: the messages stay in Redis's
    `unacked` hash and any worker restores them after the visibility timeout,
    and the sweeper re-queues every declaration still without a lane.
    """

    def restore_unacked(self, client=None):
        transport = self.channel.connection
        if client is None and (transport is None or transport.client is None):
            self._leave_for_visibility_timeout("the connection is closed")
            return
        try:
            super().restore_unacked(client)
        except self.channel.connection_errors as exc:
            self._leave_for_visibility_timeout(f"{type(exc).__name__}: {exc}")

    def _leave_for_visibility_timeout(self, why: str) -> None:
        if self._delivered:
            logger.warning(
                "%d unacknowledged message(s) not restored now (%s); "
                "they come back after the visibility timeout",
                len(self._delivered),
                why,
            )
        self._delivered.clear()


class RedisChannel(kombu_redis.Channel):
    QoS = RedisQoS


class RedisTransport(kombu_redis.Transport):
    """The Redis transport, with a restore that survives outages (see RedisQoS)."""

    Channel = RedisChannel

    def close_connection(self, connection):
        # kombu stops at the first channel that fails to close (a channel waiting
        # on BRPOP fails to read from the dead socket), leaving the rest open to
        # be closed later, after the connection lost its client. Close them all.
        self.cycle.close()
        failure = None
        for channels in self._avail_channels, self.channels:
            while channels:
                channel = channels.pop()
                try:
                    channel.close()
                except self.connection_errors as exc:
                    failure = failure or exc
        if failure is not None:
            raise failure


app = Celery("singlewindow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

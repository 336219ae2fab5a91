import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.defaults import page_not_found
from redis import Redis

from core.middleware import database_unavailable_response
from notifications.selectors import outbox_backlog
from singlewindow.celery import app as celery_app

logger = logging.getLogger(__name__)


def home(request):
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    if user.is_agency_staff:
        return redirect("agencies:queue")
    if user.is_cashier:
        return redirect("payments:cashier")
    if user.is_platform_admin:
        return redirect("admin:index")
    return redirect("declarations:list")


def not_found(request, exception):
    """An address under /api/ that no route matches answers as the API's own 404s
    do (JSON with a `detail`); a client reading JSON never gets an HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def server_error(request):
    """handler500: what Django answers, in production, for an exception nothing caught.

    A database failure outside DatabaseUnavailableMiddleware's reach (in a
    middleware before it, or after the response) is a 503 too.
    """
    exception = sys.exc_info()[1]
    if isinstance(exception, OperationalError | InterfaceError):
        return database_unavailable_response(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error."}, status=500)
    return HttpResponse(loader.render_to_string("500.html"), status=500)


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _check_redis() -> str:
    client = Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _check_broker() -> str:
    with _broker_connection() as connection:
        connection.ensure_connection(max_retries=1, timeout=1)
    return "ok"


def _broker_connection():
    # A connection of its own, not one from the pool: after a broker restart a
    # pooled one is dead until used once, and health must not report that.
    return celery_app.connection_for_write(settings.CELERY_BROKER_URL, connect_timeout=1)


def _check_workers() -> str:
    """Some worker consumes the queue the platform sends its tasks to."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    with _broker_connection() as connection:
        replies = (
            celery_app.control.inspect(connection=connection, timeout=1.0).active_queues() or {}
        )
    consuming = [name for name, queues in replies.items() if queue in {q["name"] for q in queues}]
    if not consuming:
        raise RuntimeError(
            f"no worker consumes queue {queue!r} ({len(replies)} other worker(s) answered)"
        )
    return f"ok ({len(consuming)} worker{'s' if len(consuming) != 1 else ''} on {queue})"


@never_cache
def health(request):
    """200 with the state of each part, or 503 naming the part that is down."""
    checks = {"database": _check_database, "redis": _check_redis}
    broker = "redis"
    if settings.CELERY_BROKER_URL != settings.REDIS_URL:
        checks["broker"] = _check_broker
        broker = "broker"
    checks["workers"] = _check_workers
    state, healthy = {}, True
    for name, check in checks.items():
        if name == "workers" and state.get(broker) != "ok":
            state[name] = f"unknown ({broker} is down)"
            healthy = False
            continue
        try:
            state[name] = check()
        except Exception as exc:  # every failure is reported, none is raised
            logger.warning("health check %s failed: %s", name, exc)
            state[name] = f"down: {exc.__class__.__name__}: {exc}"[:200]
            healthy = False
    body = {"status": "ok" if healthy else "degraded", "checks": state}
    if state["database"] == "ok":
        # For monitoring, not for the status: a mail server refusing is no reason to
        # take the web process out of service.
        body["outbox"] = outbox_backlog()
    return JsonResponse(body, status=200 if healthy else 503)

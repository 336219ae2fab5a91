"""Request-wide handling that is no view's business."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
UNAVAILABLE = "The service is temporarily unavailable; try again shortly."


class DatabaseUnavailableMiddleware:
    """While the database cannot be reached, answer 503 with Retry-After, not a 500.

    OperationalError and InterfaceError are what Django raises when PostgreSQL
    is down, restarting or refusing connections (and for other conditions
    outside the request's control, which a retry may also cure). API clients
    get the usual JSON error body; browsers a short page that reads nothing
    from the database.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error(
            "database unavailable during %s %s: %s", request.method, request.path, exception
        )
        return database_unavailable_response(request)


def database_unavailable_response(request) -> HttpResponse:
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": UNAVAILABLE}, status=503)
    else:
        # Rendered without the request: context processors would read the
        # session and the user, that is the database.
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response

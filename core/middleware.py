"""Request-wide handling that is no view's business."""

import logging
from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
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
        # The middleware after this one (the second factor's) reads the session and
        # the user: read them here, where a failure can still be answered (Django
        # turns an exception of a later middleware into its 500 before we see it).
        try:
            request.user.is_authenticated  # noqa: B018 - loads the session and the user
        except (OperationalError, InterfaceError) as exception:
            return self.process_exception(request, exception)
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


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware; form-action also allows the payer's bank when one is set.

    Paying posts a form to the platform, which redirects the browser to
    PAYMENT_BANK_URL; browsers hold that redirect to the page's form-action.
    The bank is read per request, as the setting may change without a restart
    of this code (tests point it at a sandbox bank they start).
    """

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        bank = _origin(settings.PAYMENT_BANK_URL)
        if bank and not report_only:
            parts.update = {**(parts.update or {})}
            parts.update["form-action"] = [*parts.update.get("form-action", []), bank]
        return parts


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not (parts.scheme and parts.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc}"


class PermissionsPolicyMiddleware:
    """Permissions-Policy: the platform uses no powerful browser feature, so none is allowed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response

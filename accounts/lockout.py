"""Who is logging in from where, and what a locked-out login is told.

django-axes counts failed logins (settings: AXES_*) on the login page, the
admin login and the API's token endpoint; these two callables are its hooks.
"""

import math

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


class LockoutHandler(AxesDatabaseHandler):
    """django-axes's database handler, with a limit of its own for an address.

    An account is locked after AXES_FAILURE_LIMIT failures; an address only after
    AUTH_ADDRESS_FAILURE_LIMIT, higher, since a broker's office or an agency's
    network shows the platform one address for all its users: a few colleagues'
    typos must not lock them all out, a script guessing across accounts must.
    axes compares the most failures of any of AXES_LOCKOUT_PARAMETERS (account,
    address) with one limit, so the address's count is scaled to it.
    """

    def get_failures(self, request, credentials=None) -> int:
        account, address = (
            attempts.aggregate(failures=Sum("failures_since_start"))["failures"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        scaled = address * settings.AXES_FAILURE_LIMIT // settings.AUTH_ADDRESS_FAILURE_LIMIT
        return max(account, scaled)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the peer's, or behind TRUSTED_PROXY_COUNT proxies the
    one the outermost of them appended to X-Forwarded-For (anything to its left
    was written by the client). The same rule as DRF's throttles (NUM_PROXIES)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies and forwarded:
        addresses = [address.strip() for address in forwarded.split(",")]
        return addresses[-min(proxies, len(addresses))]
    return request.META.get("REMOTE_ADDR")


def lockout_minutes() -> int:
    return math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)


def lockout_message() -> str:
    # Every failed try during the lockout starts the wait again, so the wait is
    # the whole cool-off from now.
    minutes = lockout_minutes()
    return (
        f"Too many failed attempts; try again in {minutes} minute{'s' if minutes != 1 else ''} "
        "or ask an administrator."
    )


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """429 with the wait named: JSON `detail` on the API, the login page otherwise."""
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": lockout_message()}, status=429)
    else:
        response = render(
            request,
            "registration/login.html",
            {"lockout_message": lockout_message(), "username": (credentials or {}).get("username")},
            status=429,
        )
    response["Retry-After"] = retry_after
    return response

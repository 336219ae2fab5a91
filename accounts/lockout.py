"""Who is logging in from where, and what a locked-out login is told.

django-axes counts failed logins (settings: AXES_*) on the login page, the
admin login and the API's token endpoint; these two callables are its hooks.
"""

import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


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

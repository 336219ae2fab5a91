from functools import cached_property
from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.selectors import second_factor_enrolled, second_factor_required

# The session remembers, from the login on, that its user needs no second
# factor, so that their pages cost no query more. Logging out clears it; a role
# newly required by the policy applies from the user's next login.
NOT_NEEDED_SESSION_KEY = "second_factor_not_needed"


def second_factor_needed(user) -> bool:
    return second_factor_enrolled(user) or second_factor_required(user)


def remember_at_login(sender, request, user, **kwargs):
    """On user_logged_in: whether the new session must pass the second step."""
    if request is None or not hasattr(request, "session"):
        return
    if second_factor_needed(user):
        request.session.pop(NOT_NEEDED_SESSION_KEY, None)
    else:
        request.session[NOT_NEEDED_SESSION_KEY] = user.pk


class SecondFactorMiddleware:
    """A password alone logs in nobody who has a second factor, or whose role requires one.

    After django-otp's OTPMiddleware: until the session is verified, such a
    user reaches only the second step (or the setup, when the role requires a
    second factor they lack), logging out, static files and the health check.
    Pages redirect there; the API answers 403. Calls with a token do not pass
    here as a user: the token endpoint asks for the code itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    @cached_property
    def open_paths(self) -> tuple[str, ...]:
        return (
            reverse("accounts:login-code"),
            reverse("accounts:second-factor-setup"),
            reverse("logout"),
            reverse("health"),
            reverse("api:token"),
            "/" + settings.STATIC_URL.lstrip("/"),
        )

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and request.session.get(NOT_NEEDED_SESSION_KEY) != user.pk
            and not request.path.startswith(self.open_paths)
        ):
            if second_factor_enrolled(user):
                target = "accounts:login-code"
            elif second_factor_required(user):
                target = "accounts:second-factor-setup"
            else:
                request.session[NOT_NEEDED_SESSION_KEY] = user.pk
                return self.get_response(request)
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": "Confirm your login with your second factor first."}, status=403
                )
            next_path = request.get_full_path() if request.method == "GET" else request.path
            return redirect(f"{reverse(target)}?{urlencode({'next': next_path})}")
        return self.get_response(request)

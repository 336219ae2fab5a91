"""The user's own account: the password, the API tokens, and the second factor (the
login's second step, setting it up, recovery codes)."""

from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from accounts.forms import OwnPasswordChangeForm, SecondFactorCodeForm
from accounts.selectors import (
    api_token_list,
    get_api_token_for_owner,
    recovery_codes_left,
    second_factor_allowed,
    second_factor_enrolled,
    second_factor_required,
)
from accounts.services import (
    api_token_revoke,
    recovery_codes_regenerate,
    second_factor_disable,
    second_factor_enrol_confirm,
    second_factor_enrol_start,
    second_factor_verify,
)


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = OwnPasswordChangeForm
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("api-tokens")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(
            self.request,
            "Your password was changed. Your API tokens were revoked with the old one.",
        )
        return response


@login_required
def api_tokens(request):
    return render(
        request, "accounts/api_tokens.html", {"tokens": api_token_list(user=request.user)}
    )


@login_required
@require_POST
def api_token_revoke_view(request, pk):
    token = get_api_token_for_owner(user=request.user, token_id=pk)
    api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token {token.prefix}… revoked.")
    return redirect("api-tokens")


def _next_url(request) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _verified(request, device) -> None:
    # The session now carries more than a password: give it a new key.
    request.session.cycle_key()
    otp_login(request, device)


def _require_staff(user) -> None:
    if not second_factor_allowed(user):
        raise Http404


@login_required
def login_code_page(request):
    """The second step of a login: a code of the app, or a recovery code."""
    user = request.user
    if user.is_verified() or not second_factor_enrolled(user):
        return redirect(_next_url(request))
    form = SecondFactorCodeForm(request.POST or None)
    if form.is_valid():
        try:
            device = second_factor_verify(user=user, code=form.cleaned_data["otp"])
        except ValidationError as error:
            form.add_error(None, error)
            # A wrong code is a failed login, for whatever counts them (lockout).
            user_login_failed.send(
                sender=__name__, credentials={"username": user.get_username()}, request=request
            )
        else:
            _verified(request, device)
            if isinstance(device, StaticDevice):
                messages.warning(
                    request,
                    f"You used a recovery code; {recovery_codes_left(user)} left. "
                    "Make new ones on the Second factor page if you are running out.",
                )
            return redirect(_next_url(request))
    return render(
        request,
        "registration/login_code.html",
        {"form": form, "next": _next_url(request), "second_step": True},
    )


def _qr_svg(url: str) -> str:
    # Drawn here as inline SVG: the secret never leaves the platform.
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    # Markup drawn by qrcode from our own URL, nothing a user typed.
    return mark_safe(image.to_string(encoding="unicode"))


@login_required
def second_factor_setup_page(request):
    """Set up an authenticator app: its secret and QR code, then a code it shows.

    Opening the page keeps one unconfirmed app for the user, so the secret
    stays the same across reloads until a code confirms it.
    """
    user = request.user
    _require_staff(user)
    if second_factor_enrolled(user):
        return redirect("accounts:second-factor")
    device = second_factor_enrol_start(actor=user)
    form = SecondFactorCodeForm(request.POST or None)
    if form.is_valid():
        try:
            device, codes = second_factor_enrol_confirm(code=form.cleaned_data["otp"], actor=user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _verified(request, device)
            return render(
                request, "accounts/recovery_codes.html", {"codes": codes, "new_setup": True}
            )
    required = second_factor_required(user)
    return render(
        request,
        "accounts/second_factor_setup.html",
        {
            "form": form,
            "secret": b32encode(device.bin_key).decode(),
            "qr_svg": _qr_svg(device.config_url),
            "required": required,
            "second_step": required and not user.is_verified(),
        },
    )


@login_required
def second_factor_page(request):
    """Whether a second factor is set up, and what can be done with it."""
    user = request.user
    _require_staff(user)
    return render(
        request,
        "accounts/second_factor.html",
        {
            "enrolled": second_factor_enrolled(user),
            "required": second_factor_required(user),
            "codes_left": recovery_codes_left(user),
            "form": SecondFactorCodeForm(),
        },
    )


def _refused(request, error: ValidationError):
    for errors in error.message_dict.values():
        messages.error(request, " ".join(errors))
    return redirect("accounts:second-factor")


@login_required
@require_POST
def recovery_codes_regenerate_page(request):
    """New recovery codes, shown once, for a current code of the app."""
    _require_staff(request.user)
    form = SecondFactorCodeForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({"otp": "Enter the code from your authenticator app."})
        device, codes = recovery_codes_regenerate(code=form.cleaned_data["otp"], actor=request.user)
    except ValidationError as error:
        return _refused(request, error)
    otp_login(request, device)
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@login_required
@require_POST
def second_factor_disable_page(request):
    _require_staff(request.user)
    form = SecondFactorCodeForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({"otp": "Enter a code from your authenticator app."})
        second_factor_disable(code=form.cleaned_data["otp"], actor=request.user)
    except ValidationError as error:
        return _refused(request, error)
    except PermissionDenied:
        raise Http404 from None
    messages.success(request, "Your second factor is turned off.")
    return redirect("accounts:second-factor")

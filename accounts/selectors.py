"""Reads of the accounts app that depend on who is asking."""

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import SECOND_FACTOR_ROLES, ApiToken, SecurityPolicy, User


def api_token_list(*, user: User):
    """The user's own tokens that still authenticate, newest first."""
    return ApiToken.objects.filter(
        user=user,
        expires_at__gt=timezone.now(),
        password_fingerprint=ApiToken.fingerprint_of(user),
    )


def get_api_token_for_owner(*, user: User, token_id) -> ApiToken:
    """One of the user's live tokens; anyone else's, or an ended one, is not found."""
    try:
        return api_token_list(user=user).get(pk=int(token_id))
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def user_list(*, user, role: str = "", office: str = "") -> QuerySet[User]:
    """Every user, with their company, agency and offices, for platform administrators;
    anyone else: 404 (the directory of staff is not theirs to read)."""
    if not (user.is_authenticated and user.is_platform_admin):
        raise Http404
    users = User.objects.select_related("company", "agency").prefetch_related("offices")
    if role:
        users = users.filter(role=role)
    if office:
        users = users.filter(offices__code=office)
    return users.order_by("username", "pk")


def get_user_for_admin(*, user, pk) -> User:
    try:
        return user_list(user=user).get(pk=int(pk))
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def security_policy_get() -> SecurityPolicy:
    # Migration 0006 creates the row; an empty database (a flushed test) reads as no policy.
    return SecurityPolicy.objects.filter(pk=1).first() or SecurityPolicy()


def second_factor_allowed(user: User) -> bool:
    return user.is_authenticated and user.role in SECOND_FACTOR_ROLES


def second_factor_required(user: User) -> bool:
    return second_factor_allowed(user) and user.role in security_policy_get().second_factor_roles


def second_factor_enrolled(user: User) -> bool:
    """Whether the user confirmed an authenticator app; recovery codes come with one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()

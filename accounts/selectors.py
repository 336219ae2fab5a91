"""Reads of the accounts app that depend on who is asking."""

from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import SECOND_FACTOR_ROLES, SecurityPolicy, User


def security_policy_get() -> SecurityPolicy:
    # Migration 0005 creates the row; an empty database (a flushed test) reads as no policy.
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

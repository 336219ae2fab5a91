"""Every write of the accounts app: companies and users, and the groups they belong to.

Object permissions are granted to the group of a company or an agency
(django-guardian), so what a user may see follows group membership: these
services keep it in step with the user's company or agency.
"""

import secrets

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, Company, User
from agencies.models import Agency

# tax_id is not here: it is fixed once the company exists, its group is named after it.
COMPANY_CHANGEABLE = ("name", "country", "aeo_status")
USER_CHANGEABLE = ("role", "company", "agency", "first_name", "last_name", "email", "is_active")


def _ensure_platform_admin(actor) -> None:
    if actor is not None and not actor.is_platform_admin:
        raise PermissionDenied


def _refuse_unknown(fields: dict, allowed: tuple[str, ...], entity: str) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValueError(f"not a changeable {entity} field: {', '.join(sorted(unknown))}")


@transaction.atomic
def company_create(
    *, name: str, tax_id: str, country: str = "KR", aeo_status: str = "none", actor=None
) -> Company:
    _ensure_platform_admin(actor)
    group = Group.objects.create(name=f"company:{tax_id}")
    company = Company(name=name, tax_id=tax_id, country=country, aeo_status=aeo_status, group=group)
    company.full_clean()
    company.save()
    return company


@transaction.atomic
def company_update(*, company: Company, actor, **fields) -> Company:
    _ensure_platform_admin(actor)
    _refuse_unknown(fields, COMPANY_CHANGEABLE, "company")
    company = Company.objects.select_for_update().get(pk=company.pk)
    for name, value in fields.items():
        setattr(company, name, value)
    company.full_clean()
    company.save()
    return company


def _derive_privileges(user: User) -> None:
    # Admin access follows the role; nobody is given it field by field.
    user.is_staff = user.is_superuser = user.role == User.Role.ADMIN


def _affiliation_groups(user: User) -> set[Group]:
    return {owner.group for owner in (user.company, user.agency) if owner is not None}


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    company: Company | None = None,
    agency: Agency | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    actor=None,
) -> User:
    _ensure_platform_admin(actor)
    user = User(
        username=username,
        role=role,
        company=company,
        agency=agency,
        email=email,
        first_name=first_name,
        last_name=last_name,
    )
    _derive_privileges(user)
    user.set_password(password)
    user.full_clean()
    user.save()
    user.groups.add(*_affiliation_groups(user))
    return user


@transaction.atomic
def user_update(*, user: User, actor, **fields) -> User:
    """Change a user; moving to another company or agency moves them to its group."""
    _ensure_platform_admin(actor)
    _refuse_unknown(fields, USER_CHANGEABLE, "user")
    user = User.objects.select_for_update().get(pk=user.pk)
    before = _affiliation_groups(user)
    for name, value in fields.items():
        setattr(user, name, value)
    _derive_privileges(user)
    user.full_clean()
    user.save()
    after = _affiliation_groups(user)
    user.groups.remove(*(before - after))
    user.groups.add(*after)
    return user


@transaction.atomic
def user_password_set(*, user: User, password: str | None, actor) -> User:
    """Give the user a new password (None: no password login at all), by themselves
    or an administrator: every API token they hold ends with the old one.

    Works on the instance given, so that the page changing one's own password
    can keep its session with the new hash.
    """
    if actor != user:
        _ensure_platform_admin(actor)
    if password is None:
        user.set_unusable_password()
    else:
        password_validation.validate_password(password, user)
        user.set_password(password)
    user.save(update_fields=["password"])
    user.api_tokens.all().delete()
    return user


def user_login_unlock(*, user: User, actor) -> int:
    """Lift the lockout of a user's account after failed logins; returns how many
    records of failures were cleared. An address locked out for failures against
    several accounts is unlocked on the admin's access attempts page."""
    _ensure_platform_admin(actor)
    return AxesProxyHandler.reset_attempts(username=user.username)


@transaction.atomic
def api_token_issue(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new API token for a user who has just proved their password; returns the
    token and its key, which is shown this once and stored only as a digest."""
    key = secrets.token_hex(20)
    token = ApiToken(
        user=user,
        digest=ApiToken.digest_of(key),
        prefix=key[:8],
        name=name,
        password_fingerprint=ApiToken.fingerprint_of(user),
        expires_at=timezone.now() + settings.API_TOKEN_TTL,
    )
    token.full_clean()
    token.save()
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor) -> None:
    """End a token, by its owner or an administrator."""
    if actor != token.user:
        _ensure_platform_admin(actor)
    token.delete()


def api_tokens_delete_expired() -> int:
    """Remove the rows of tokens past their expiry (they no longer authenticate)."""
    count, _ = ApiToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return count

"""Every write of the accounts app: companies and users, and the groups they belong to.

Object permissions are granted to the group of a company or an agency
(django-guardian), so what a user may see follows group membership: these
services keep it in step with the user's company or agency.
"""

import secrets
from collections.abc import Iterable

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import (
    SECOND_FACTOR_ROLES,
    ApiToken,
    Company,
    SecurityPolicy,
    SecurityPolicyChange,
    User,
)
from accounts.selectors import (
    second_factor_allowed,
    second_factor_enrolled,
    second_factor_required,
)
from agencies.models import Agency
from reference.models import Office

# tax_id is not here: it is fixed once the company exists, its group is named after it.
COMPANY_CHANGEABLE = ("name", "country", "aeo_status")
# offices: reference.Office rows or their codes, set as a whole (user_offices_resolve).
USER_CHANGEABLE = (
    "role", "company", "agency", "offices", "first_name", "last_name", "email", "is_active",
)  # fmt: skip


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


def user_offices_resolve(offices: Iterable[Office | str]) -> list[Office]:
    """The offices named (rows or UN/LOCODEs), or a refusal on the field `offices`
    naming the codes that are no customs office."""
    codes = sorted({o.code if isinstance(o, Office) else str(o) for o in offices})
    found = list(Office.objects.filter(code__in=codes))
    unknown = sorted(set(codes) - {office.code for office in found})
    if unknown:
        raise ValidationError({"offices": f"Not a customs office: {', '.join(unknown)}."})
    return found


def _post_at_offices(user: User, offices: list[Office]) -> None:
    user.offices.set(offices)
    user._office_codes = sorted(office.code for office in offices)


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    company: Company | None = None,
    agency: Agency | None = None,
    offices: Iterable[Office | str] = (),
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    actor=None,
) -> User:
    """A new user. Officers are posted at one customs office, supervisors at one or
    more (User.office_error); `offices` are rows or their codes."""
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
    user.offices_chosen = user_offices_resolve(offices)
    _derive_privileges(user)
    user.set_password(password)
    user.full_clean()
    user.save()
    user.groups.add(*_affiliation_groups(user))
    _post_at_offices(user, user.offices_chosen)
    return user


def _refuse_self_lockout(user: User, fields: dict) -> None:
    # The platform must keep an administrator who can act: another one takes
    # away an administrator's role or account.
    if fields.get("role", user.role) != User.Role.ADMIN:
        raise ValidationError({"role": "Another administrator must change your role."})
    if not fields.get("is_active", True):
        raise ValidationError({"is_active": "Another administrator must deactivate you."})


@transaction.atomic
def user_update(*, user: User, actor, **fields) -> User:
    """Change a user; moving to another company or agency moves them to its group.

    `offices`, when given, replaces the offices the user is posted at: their
    queue is those offices' from their next page on.
    """
    _ensure_platform_admin(actor)
    _refuse_unknown(fields, USER_CHANGEABLE, "user")
    offices = fields.pop("offices", None)
    user = User.objects.select_for_update().get(pk=user.pk)
    if actor is not None and actor.pk == user.pk:
        _refuse_self_lockout(user, fields)
    before = _affiliation_groups(user)
    for name, value in fields.items():
        setattr(user, name, value)
    if offices is not None:
        user.offices_chosen = user_offices_resolve(offices)
    _derive_privileges(user)
    user.full_clean()
    user.save()
    after = _affiliation_groups(user)
    user.groups.remove(*(before - after))
    user.groups.add(*after)
    if offices is not None:
        _post_at_offices(user, user.offices_chosen)
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


# --- Second factor -----------------------------------------------------------
#
# An authenticator app (TOTP) and, with it, single-use recovery codes. A code is
# checked in its own small transaction that is committed whatever follows:
# django-otp counts wrong codes on the device (and makes the next try wait),
# and a used recovery code is deleted, and neither may be rolled back by the
# refusal raised afterwards.

RECOVERY_CODE_COUNT = 10
WRONG_CODE = "This code is not right, or was used already."


def _normalise_code(code: str) -> str:
    return "".join((code or "").split()).lower()


def _device_accepting(*, user: User, code: str, recovery: bool = True) -> Device:
    """The user's device that accepts the code, or a refusal on the field `otp`.

    Six digits are the app's code, anything else a recovery code, so a
    recovery code does not count as a wrong code of the app (nor the reverse).
    """
    code = _normalise_code(code)
    if not code:
        raise ValidationError({"otp": "Enter the code from your authenticator app."})
    is_app_code = code.isdigit() and len(code) == 6
    if not is_app_code and not recovery:
        raise ValidationError({"otp": "Enter the 6-digit code from your authenticator app."})
    model = TOTPDevice if is_app_code else StaticDevice
    with transaction.atomic():
        device = model.objects.devices_for_user(user, confirmed=True).select_for_update().first()
        if device is not None and device.verify_token(code):
            return device
    if device is not None:
        allowed, why = device.verify_is_allowed()
        if not allowed and why and why.get("locked_until"):
            wait = max(1, int((why["locked_until"] - timezone.now()).total_seconds()) + 1)
            raise ValidationError({"otp": f"Too many wrong codes: try again in {wait} seconds."})
    raise ValidationError({"otp": WRONG_CODE})


def second_factor_verify(*, user: User, code: str) -> Device:
    """The second step of a login: the app's code or a recovery code (which is burnt)."""
    return _device_accepting(user=user, code=code)


def second_factor_check(*, user: User, code: str) -> None:
    """What the token endpoint asks after the password: nothing of a user without a
    second factor (unless their role requires one), a valid code of one who has it."""
    if second_factor_enrolled(user):
        second_factor_verify(user=user, code=code)
    elif second_factor_required(user):
        raise ValidationError(
            {"otp": "Your role requires a second factor: set it up on the website first."}
        )


def _ensure_may_use_second_factor(actor: User) -> None:
    if not second_factor_allowed(actor):
        raise PermissionDenied


@transaction.atomic
def second_factor_enrol_start(*, actor: User) -> TOTPDevice:
    """The authenticator app being set up: its secret stays the same until confirmed."""
    _ensure_may_use_second_factor(actor)
    if second_factor_enrolled(actor):
        raise ValidationError({"otp": "Your second factor is set up already."})
    device = TOTPDevice.objects.filter(user=actor, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice(user=actor, name="Authenticator app", confirmed=False)
        device.full_clean()
        device.save()
    return device


def _recovery_codes_replace(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def second_factor_enrol_confirm(*, code: str, actor: User) -> tuple[TOTPDevice, list[str]]:
    """Confirm the app with a code it shows; returns it and the recovery codes,
    which are shown this once."""
    _ensure_may_use_second_factor(actor)
    code = _normalise_code(code)
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=actor, confirmed=False)
            .order_by("pk")
            .first()
        )
        accepted = device is not None and code.isdigit() and device.verify_token(code)
    if device is None:
        raise ValidationError({"otp": "Start the setup again: no app is waiting for a code."})
    if not accepted:
        raise ValidationError({"otp": WRONG_CODE})
    with transaction.atomic():
        TOTPDevice.objects.filter(user=actor).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return device, _recovery_codes_replace(actor)


def recovery_codes_regenerate(*, code: str, actor: User) -> tuple[Device, list[str]]:
    """New recovery codes for a code of the app; the old ones stop working.
    Returns the app, which now verifies the session (a session verified by an
    old recovery code would lose it), and the codes, shown this once."""
    device = _device_accepting(user=actor, code=code, recovery=False)
    with transaction.atomic():
        return device, _recovery_codes_replace(actor)


def second_factor_disable(*, code: str, actor: User) -> None:
    """Remove the app and the recovery codes, for a current code; refused to a role
    that requires a second factor."""
    if second_factor_required(actor):
        raise ValidationError(
            {"otp": "Your role requires a second factor: it cannot be turned off."}
        )
    _device_accepting(user=actor, code=code)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=actor).delete()
        StaticDevice.objects.filter(user=actor).delete()


@transaction.atomic
def second_factor_reset(*, user: User, actor: User) -> None:
    """An administrator removes a user's second factor (a lost phone and lost codes);
    the user sets it up again at the next login if their role requires it."""
    if not actor.is_platform_admin:
        raise PermissionDenied
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


@transaction.atomic
def security_policy_update(
    *, second_factor_roles: list[str], reason: str = "", actor: User
) -> SecurityPolicy:
    """Administrators choose the roles that must use a second factor.

    Requiring it of a role applies at once (to each login from then on).
    Releasing a role lowers the bar, so it needs a reason; both are kept in the
    append-only change log. One administrator suffices: an administrator can
    already create users and set their passwords alone, so a second one here
    would not stop a dishonest one, while the log names who did it.
    """
    if not actor.is_platform_admin:
        raise PermissionDenied
    allowed = {role.value for role in SECOND_FACTOR_ROLES}
    unknown = set(second_factor_roles) - allowed
    if unknown:
        raise ValidationError(
            {"second_factor_roles": f"Not a staff role: {', '.join(sorted(unknown))}."}
        )
    # The row exists since migration 0006; a flushed test database lacks it.
    policy, _ = SecurityPolicy.objects.select_for_update().get_or_create(pk=1)
    before = list(policy.second_factor_roles)
    after = [role.value for role in SECOND_FACTOR_ROLES if role.value in second_factor_roles]
    released = set(before) - set(after)
    if released and not reason.strip():
        raise ValidationError(
            {"reason": "Say why the second factor is no longer required of "
             f"{', '.join(sorted(released))}."}
        )  # fmt: skip
    if set(after) == set(before):
        return policy
    policy.second_factor_roles = after
    policy.full_clean()
    policy.save()
    SecurityPolicyChange.objects.create(
        at=timezone.now(),
        changed_by=actor,
        before={"second_factor_roles": before},
        after={"second_factor_roles": after},
        reason=reason.strip(),
    )
    return policy

"""Every write of the accounts app: companies and users, and the groups they belong to.

Object permissions are granted to the group of a company or an agency
(django-guardian), so what a user may see follows group membership: these
services keep it in step with the user's company or agency.
"""

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.models import Company, User
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

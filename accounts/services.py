from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import Company, User
from agencies.models import Agency


@transaction.atomic
def company_create(
    *, name: str, tax_id: str, country: str = "KR", aeo_status: str = "none"
) -> Company:
    group = Group.objects.create(name=f"company:{tax_id}")
    company = Company(name=name, tax_id=tax_id, country=country, aeo_status=aeo_status, group=group)
    company.full_clean()
    company.save()
    return company


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
) -> User:
    user = User(
        username=username,
        role=role,
        company=company,
        agency=agency,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=role == User.Role.ADMIN,
        is_superuser=role == User.Role.ADMIN,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    if company is not None:
        user.groups.add(company.group)
    if agency is not None:
        user.groups.add(agency.group)
    return user

"""The real admin views, driven as the cast's platform administrator."""

import pytest

from accounts.models import User
from tests.factories import TEST_OFFICE

ADMIN_PASSWORD = "Sturdy-customs-passphrase-7"


@pytest.fixture
def as_admin(cast, login):
    return login(cast.admin)


def form_errors(response) -> dict:
    """The errors of the admin form a response shows again (status 200)."""
    assert response.status_code == 200, response.status_code
    return response.context["adminform"].form.errors


def add_agency(client, *, code: str, name: str):
    response = client.post("/admin/agencies/agency/add/", {"code": code, "name": name})
    assert response.status_code == 302, form_errors(response)


def add_company(client, *, name: str, tax_id: str, aeo_status: str = "none"):
    response = client.post(
        "/admin/accounts/company/add/",
        {"name": name, "tax_id": tax_id, "country": "KR", "aeo_status": aeo_status},
    )
    assert response.status_code == 302, form_errors(response)


def user_add_data(username: str, role: str, *, company=None, agency=None, offices=None) -> dict:
    """The add form's fields; officers and supervisors ticked at TEST_OFFICE unless
    `offices` names theirs (codes)."""
    if offices is None:
        offices = [TEST_OFFICE] if role in ("officer", "supervisor") else []
    return {
        "username": username,
        "password1": ADMIN_PASSWORD,
        "password2": ADMIN_PASSWORD,
        "role": role,
        "company": company.pk if company else "",
        "agency": agency.pk if agency else "",
        "offices": offices,
        "first_name": "Added",
        "last_name": "In The Admin",
        "email": f"{username}@example.org",
    }


def add_user(client, username: str, role: str, *, company=None, agency=None, offices=None) -> User:
    response = client.post(
        "/admin/accounts/user/add/",
        user_add_data(username, role, company=company, agency=agency, offices=offices),
    )
    assert response.status_code == 302, form_errors(response)
    return User.objects.get(username=username)


def user_change_data(user: User, **changes) -> dict:
    """What the change form posts back for the user, with some fields changed."""
    values = {
        "role": user.role,
        "company": user.company,
        "agency": user.agency,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": user.is_active,
        **changes,
    }
    data = {name: getattr(value, "pk", value) or "" for name, value in values.items()}
    data["offices"] = changes.get("offices", user.office_codes)
    if not values["is_active"]:
        del data["is_active"]  # an unticked box is not posted
    else:
        data["is_active"] = "on"
    return data

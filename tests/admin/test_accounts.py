"""Agencies, companies and users made in the admin work like those seed_demo makes."""

import pytest
from django.db import transaction

from accounts.models import Company, User
from agencies.models import Agency
from clearance.services import declaration_assess_risk, declaration_submit
from declarations.models import Declaration
from tests.admin.conftest import (
    ADMIN_PASSWORD,
    add_agency,
    add_company,
    add_user,
    form_errors,
    user_add_data,
    user_change_data,
)
from tests.factories import api_payload, item_data, make_declaration, permit_citations

pytestmark = pytest.mark.django_db


def group_names(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_an_agency_added_in_the_admin_has_its_group(as_admin):
    add_agency(as_admin, code="radio", name="Radio Spectrum Agency")
    agency = Agency.objects.get(code="radio")
    assert agency.group.name == "agency:radio"
    assert not agency.is_customs


def test_an_officer_added_in_the_admin_works_the_reviews_of_the_agency(
    cast, as_admin, api, django_capture_on_commit_callbacks
):
    add_agency(as_admin, code="radio", name="Radio Spectrum Agency")
    radio = Agency.objects.get(code="radio")
    officer = add_user(as_admin, "radio_officer", "officer", agency=radio)
    assert group_names(officer) == {"agency:radio"}
    assert officer.check_password(ADMIN_PASSWORD)
    assert not officer.is_staff and not officer.is_superuser
    response = as_admin.post(
        "/admin/agencies/jurisdictionrule/add/",
        {
            "agency": radio.pk,
            "hs_prefix": "8517",
            "declaration_types": ["IM"],
            "origin_countries": "",
            "procedure_codes": "",
        },
    )
    assert response.status_code == 302, form_errors(response)

    phones = make_declaration(actor=cast.trader_a, items=[item_data(hs_code="851713")])
    beef = item_data(hs_code="020130")
    beef["permits"] = permit_citations(beef, holder=cast.company_a)
    meat = make_declaration(
        actor=cast.trader_a,
        items=[beef],
        invoice_number="INV-MEAT",
    )
    # Scored here, synchronously, rather than by the task queued on commit.
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        for declaration in (phones, meat):
            declaration_submit(declaration=declaration, actor=cast.trader_a)
    for declaration in (phones, meat):
        declaration_assess_risk(declaration_id=declaration.pk)

    reviews = api.as_user(officer).get("/api/v1/reviews/").json()["results"]
    assert [(r["agency"], r["declaration"]) for r in reviews] == [("radio", phones.pk)]
    others = api.as_user(cast.food_officer).get("/api/v1/reviews/").json()["results"]
    assert [r["declaration"] for r in others] == [meat.pk]


def test_a_trader_of_a_company_added_in_the_admin_files_for_that_company_only(cast, as_admin, api):
    add_company(as_admin, name="Seoul Imports", tax_id="KR5550001111")
    company = Company.objects.get(tax_id="KR5550001111")
    assert company.group.name == "company:KR5550001111"
    trader = add_user(as_admin, "seoul_trader", "trader", company=company)
    assert group_names(trader) == {"company:KR5550001111"}

    filed = api.as_user(trader).post("/api/v1/declarations/", api_payload(), format="json")
    assert filed.status_code == 201, filed.json()
    assert Declaration.objects.get(pk=filed.json()["id"]).company == company
    assert api.as_user(trader).get(filed["Location"]).status_code == 200
    assert api.as_user(cast.trader_a).get(filed["Location"]).status_code == 404


def test_changing_a_user_s_company_in_the_admin_moves_their_access(cast, as_admin, api):
    of_a = make_declaration(actor=cast.trader_a, invoice_number="INV-A")
    of_b = make_declaration(actor=cast.trader_b, invoice_number="INV-B")
    response = as_admin.post(
        f"/admin/accounts/user/{cast.trader_a.pk}/change/",
        user_change_data(cast.trader_a, company=cast.company_b),
    )
    assert response.status_code == 302, form_errors(response)
    assert group_names(cast.trader_a) == {cast.company_b.group.name}
    client = api.as_user(cast.trader_a)
    assert client.get(f"/api/v1/declarations/{of_b.pk}/").status_code == 200
    assert client.get(f"/api/v1/declarations/{of_a.pk}/").status_code == 404


def test_a_trader_without_a_company_is_refused_on_the_form(cast, as_admin):
    response = as_admin.post("/admin/accounts/user/add/", user_add_data("lost", "trader"))
    assert "company" in form_errors(response)
    assert not User.objects.filter(username="lost").exists()

    response = as_admin.post(
        "/admin/accounts/user/add/", user_add_data("both", "officer", company=cast.company_a)
    )
    assert set(form_errors(response)) == {"agency", "company"}


def test_a_role_change_refused_on_the_change_form_leaves_the_user_as_they_were(cast, as_admin):
    response = as_admin.post(
        f"/admin/accounts/user/{cast.trader_a.pk}/change/",
        user_change_data(cast.trader_a, role="officer"),
    )
    # An officer also works at a customs office, which a trader has not.
    assert set(form_errors(response)) == {"agency", "company", "offices"}
    cast.trader_a.refresh_from_db()
    assert cast.trader_a.role == "trader"


def test_admin_access_and_groups_are_derived_not_edited(cast, as_admin):
    response = as_admin.post(
        f"/admin/accounts/user/{cast.trader_a.pk}/change/",
        {
            **user_change_data(cast.trader_a, first_name="Renamed"),
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [cast.food.group.pk],
            "username": "taken_over",
        },
    )
    assert response.status_code == 302, form_errors(response)
    trader = User.objects.get(pk=cast.trader_a.pk)
    assert (trader.username, trader.first_name) == ("trader_a", "Renamed")
    assert not trader.is_staff and not trader.is_superuser
    assert group_names(trader) == {cast.company_a.group.name}

    administrator = add_user(as_admin, "second_admin", "admin")
    assert administrator.is_staff and administrator.is_superuser
    assert group_names(administrator) == set()


def test_code_and_tax_id_are_fixed_and_names_change_through_the_services(cast, as_admin):
    response = as_admin.post(
        f"/admin/agencies/agency/{cast.food.pk}/change/",
        {"name": "Food Safety", "code": "other", "is_customs": "on"},
    )
    assert response.status_code == 302, form_errors(response)
    food = Agency.objects.get(pk=cast.food.pk)
    assert (food.code, food.name, food.is_customs) == ("food", "Food Safety", False)

    response = as_admin.post(
        f"/admin/accounts/company/{cast.company_a.pk}/change/",
        {"name": "Company A Ltd.", "tax_id": "OTHER", "country": "KR", "aeo_status": "aeo_c"},
    )
    assert response.status_code == 302, form_errors(response)
    company = Company.objects.get(pk=cast.company_a.pk)
    assert (company.tax_id, company.name, company.aeo_status) == (
        cast.company_a.tax_id,
        "Company A Ltd.",
        "aeo_c",
    )


@pytest.mark.parametrize(
    "url",
    [
        "/admin/agencies/agency/{food}/delete/",
        "/admin/accounts/company/{company_a}/delete/",
        "/admin/accounts/user/{trader_a}/delete/",
        "/admin/auth/group/{group}/delete/",
    ],
)
def test_agencies_companies_users_and_groups_are_not_deleted_in_the_admin(cast, as_admin, url):
    ids = {
        "food": cast.food.pk,
        "company_a": cast.company_a.pk,
        "trader_a": cast.trader_a.pk,
        "group": cast.food.group.pk,
    }
    assert as_admin.post(url.format(**ids), {"post": "yes"}).status_code == 403
    assert Agency.objects.filter(pk=cast.food.pk).exists()
    assert Company.objects.filter(pk=cast.company_a.pk).exists()
    assert User.objects.filter(pk=cast.trader_a.pk).exists()


def test_groups_are_not_edited_in_the_admin(cast, as_admin):
    response = as_admin.post(f"/admin/auth/group/{cast.food.group.pk}/change/", {"name": "renamed"})
    assert response.status_code == 403
    assert as_admin.post("/admin/auth/group/add/", {"name": "agency:ghost"}).status_code == 403


def test_only_platform_administrators_reach_the_admin(cast, login):
    client = login(cast.analyst)
    response = client.post(
        "/admin/accounts/company/add/",
        {"name": "Sneaky", "tax_id": "KR0000000001", "country": "KR", "aeo_status": "none"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not Company.objects.filter(tax_id="KR0000000001").exists()


def test_the_forms_ask_only_what_the_services_take(cast, as_admin):
    add = as_admin.get("/admin/accounts/user/add/").context["adminform"].form
    assert list(add.fields) == [
        "username",
        "password1",
        "password2",
        "role",
        "company",
        "agency",
        "offices",
        "first_name",
        "last_name",
        "email",
    ]
    change = as_admin.get(f"/admin/accounts/user/{cast.trader_a.pk}/change/")
    assert set(change.context["adminform"].form.fields) == {
        "password",
        "role",
        "company",
        "agency",
        "offices",
        "first_name",
        "last_name",
        "email",
        "is_active",
    }
    assert as_admin.get(f"/admin/accounts/user/{cast.trader_a.pk}/password/").status_code == 200
    for url, fields in [
        ("/admin/agencies/agency/add/", {"code", "name", "is_customs"}),
        (f"/admin/agencies/agency/{cast.food.pk}/change/", {"name"}),
        ("/admin/accounts/company/add/", {"name", "tax_id", "country", "aeo_status"}),
        (f"/admin/accounts/company/{cast.company_a.pk}/change/", {"name", "country", "aeo_status"}),
    ]:
        assert set(as_admin.get(url).context["adminform"].form.fields) == fields, url
    assert as_admin.get(f"/admin/auth/group/{cast.food.group.pk}/change/").status_code == 200


def test_officers_are_posted_at_their_office_in_the_admin(cast, as_admin):
    officer = add_user(as_admin, "icn_officer", "officer", agency=cast.customs, offices=["KRICN"])
    assert officer.office_codes == ["KRICN"]
    response = as_admin.post(
        "/admin/accounts/user/add/",
        user_add_data("nowhere", "supervisor", agency=cast.customs, offices=[]),
    )
    assert form_errors(response)["offices"] == [
        "A supervisor oversees one or more customs offices: choose them."
    ]
    response = as_admin.post(
        f"/admin/accounts/user/{officer.pk}/change/",
        user_change_data(officer, offices=["KRICN", "KRPUS"]),
    )
    assert "one customs office only" in form_errors(response)["offices"][0]
    assert list(officer.offices.values_list("code", flat=True)) == ["KRICN"]
    response = as_admin.post(
        f"/admin/accounts/user/{officer.pk}/change/", user_change_data(officer, offices=["KRPUS"])
    )
    assert response.status_code == 302, form_errors(response)
    assert list(officer.offices.values_list("code", flat=True)) == ["KRPUS"]
    listing = as_admin.get("/admin/accounts/user/?offices__code__exact=KRPUS").content.decode()
    assert "icn_officer" in listing and "trader_a" not in listing

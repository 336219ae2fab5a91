"""The emergencies API: administrators declare, extend and end (two of them each time),
everyone signed in reads what is in force, traders ask to be humanitarian consignees;
and every API response says, in a header, whether an emergency is in force."""

from datetime import timedelta

import pytest
from django.utils import timezone

from emergencies.models import Emergency, HumanitarianConsignee
from tests.emergencies.conftest import declare
from tests.factories import TEST_OFFICE, CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db


def declare_body(**overrides) -> dict:
    now = timezone.now()
    body = {
        "name": "Earthquake Pohang",
        "description": "Magnitude 6.4",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=14)).isoformat(),
        "hs_prefixes": ["3004", "6306", "8421.21"],
        "office_codes": [TEST_OFFICE],
        "duty_relief": True,
        "documents_within_days": 10,
        "reason": "Hospitals damaged; tents needed",
    }
    body.update(overrides)
    return body


def test_declaring_over_the_api_takes_two_administrators(cast, second_admin, api):
    client = api.as_user(cast.admin)
    response = client.post("/api/v1/emergencies/", declare_body(), format="json")
    assert response.status_code == 201, response.json()
    proposal = response.json()
    assert (proposal["kind"], proposal["status"], proposal["proposed_by"]) == (
        "declare", "proposed", "admin",
    )  # fmt: skip
    emergency = Emergency.objects.get(pk=proposal["emergency"])
    assert emergency.hs_prefixes == ["3004", "6306", "842121"]
    # Defaults of the measures not given; those given kept.
    assert (emergency.priority, emergency.duty_relief, emergency.documents_within_days) == (
        True, True, 10,
    )  # fmt: skip

    waiting = client.get("/api/v1/emergency-proposals/").json()
    assert [p["id"] for p in waiting["results"]] == [proposal["id"]]
    response = client.post(f"/api/v1/emergency-proposals/{proposal['id']}/approve/")
    assert response.status_code == 409
    assert "Four eyes" in response.json()["detail"]

    response = api.as_user(second_admin).post(
        f"/api/v1/emergency-proposals/{proposal['id']}/approve/"
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decided_by"]) == ("approved", "admin2")
    detail = client.get(f"/api/v1/emergencies/{emergency.pk}/").json()
    assert (detail["status"], detail["in_force"]) == ("active", True)
    assert [p["kind"] for p in detail["proposals"]] == ["declare"]
    assert [o["code"] for o in detail["offices"]] == [TEST_OFFICE]
    listed = client.get("/api/v1/emergencies/").json()
    assert [e["id"] for e in listed["results"]] == [emergency.pk]


def test_invalid_input_is_refused_naming_the_field(cast, api):
    client = api.as_user(cast.admin)
    now = timezone.now()
    cases = [
        ({"hs_prefixes": []}, "hs_prefixes"),
        ({"hs_prefixes": ["3"]}, "hs_prefixes"),
        ({"office_codes": ["XXNOP"]}, "office_codes"),
        ({"office_codes": []}, "office_codes"),
        ({"ends_at": (now - timedelta(days=1)).isoformat()}, "ends_at"),
        ({"documents_within_days": 0}, "documents_within_days"),
        ({"name": ""}, "name"),
        ({"reason": ""}, "reason"),
    ]
    for overrides, field in cases:
        response = client.post("/api/v1/emergencies/", declare_body(**overrides), format="json")
        assert response.status_code == 400, (field, response.json())
        assert field in response.json()["fields"], (field, response.json())
        assert field in response.json()["detail"]
    assert not Emergency.objects.exists()


def test_extending_and_ending_over_the_api(cast, second_admin, api):
    emergency = declare(cast.admin, second_admin)
    client = api.as_user(cast.admin)
    response = client.post(
        f"/api/v1/emergencies/{emergency.pk}/extend/",
        {"ends_at": emergency.starts_at.isoformat(), "reason": "longer"},
        format="json",
    )
    assert response.status_code == 400 and "ends_at" in response.json()["fields"]
    later = emergency.ends_at + timedelta(days=7)
    response = client.post(
        f"/api/v1/emergencies/{emergency.pk}/extend/",
        {"ends_at": later.isoformat(), "reason": "Aftershocks"},
        format="json",
    )
    assert response.status_code == 201
    extension = response.json()["id"]
    # One proposal at a time.
    response = client.post(f"/api/v1/emergencies/{emergency.pk}/end/", {"reason": "Over"})
    assert response.status_code == 409
    api.as_user(second_admin).post(f"/api/v1/emergency-proposals/{extension}/approve/")
    emergency.refresh_from_db()
    assert emergency.ends_at == later

    response = client.post(f"/api/v1/emergencies/{emergency.pk}/end/", {"reason": ""})
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    ending = client.post(f"/api/v1/emergencies/{emergency.pk}/end/", {"reason": "Over"}).json()
    # The proposer withdraws it after all: nothing changes.
    response = client.post(
        f"/api/v1/emergency-proposals/{ending['id']}/refuse/", {"reason": "Too early"}
    )
    assert response.json()["status"] == "refused"
    emergency.refresh_from_db()
    assert emergency.status == "active"


@pytest.mark.parametrize("role", ["trader_a", "customs_officer", "supervisor", "analyst"])
def test_emergencies_are_the_administrators_but_what_is_in_force_is_everyones(
    cast, second_admin, api, role
):
    emergency = declare(cast.admin, second_admin, name="Typhoon Mawar")
    client = api.as_user(getattr(cast, role))
    for method, url in (
        ("get", "/api/v1/emergencies/"),
        ("post", "/api/v1/emergencies/"),
        ("get", f"/api/v1/emergencies/{emergency.pk}/"),
        ("get", "/api/v1/emergency-proposals/"),
    ):
        response = getattr(client, method)(url, declare_body(), format="json")
        assert response.status_code == 404, (method, url, response.status_code)
    assert Emergency.objects.count() == 1

    in_force = client.get("/api/v1/emergencies/in-force/")
    assert in_force.status_code == 200
    (shown,) = in_force.json()
    assert shown["name"] == "Typhoon Mawar"
    assert shown["offices"] == [
        {"code": TEST_OFFICE, "name": "Busan Main Customs (Busan New Port)"}
    ]
    assert shown["hs_prefixes"] == ["3004", "6306", "842121"]
    assert "no import duty or VAT" in shown["measures"]
    # What anyone may know, and nothing of the administrators' deliberation.
    assert not {"reason", "proposals", "description", "status"} & set(shown)


def test_nothing_is_in_force_without_an_approved_emergency(cast, api):
    api.as_user(cast.admin).post("/api/v1/emergencies/", declare_body(), format="json")
    assert api.as_user(cast.trader_a).get("/api/v1/emergencies/in-force/").json() == []


# ---- The Emergency-In-Force header -----------------------------------------------------------


def test_every_api_response_carries_the_header_while_an_emergency_is_in_force(
    cast, second_admin, api
):
    client = api.as_user(cast.trader_a)
    assert "Emergency-In-Force" not in client.get("/api/v1/declarations/")

    emergency = declare(cast.admin, second_admin, name="Typhoon Mawar")
    until = emergency.ends_at.isoformat().replace("+00:00", "Z")
    expected = f'{emergency.pk}; name="Typhoon Mawar"; until="{until}"; offices="{TEST_OFFICE}"'
    for response in (
        client.get("/api/v1/declarations/"),
        client.get("/api/v1/declarations/999999/"),  # errors too
        client.post("/api/v1/declarations/validate/", {}, format="json"),
        api.as_user(cast.customs_officer).get("/api/v1/reviews/"),
    ):
        assert response["Emergency-In-Force"] == expected
    # Not to a caller nobody knows, and not on the pages.
    api.credentials()
    assert "Emergency-In-Force" not in api.get("/api/v1/declarations/")


def test_the_header_lists_each_emergency_and_encodes_names_beyond_ascii(cast, second_admin, api):
    first = declare(cast.admin, second_admin, name='Flood "Nakdong"')
    second = declare(cast.admin, second_admin, name="태풍 힌남노", office_codes=["KRINC"])
    value = api.as_user(cast.trader_a).get("/api/v1/emergencies/in-force/")["Emergency-In-Force"]
    entries = value.split(", ")
    assert entries[0].startswith(f'{first.pk}; name="Flood \\"Nakdong\\""; until="')
    assert entries[1].startswith(f'{second.pk}; name=%"%ed%83%9c%ed%92%8d %ed%9e%8c%eb')
    assert entries[1].endswith('offices="KRINC"')


def test_the_schema_documents_the_header(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    header = schema["components"]["headers"]["EmergencyInForce"]
    assert header["schema"] == {"type": "string"}
    assert "GET /api/v1/emergencies/in-force/" in header["description"]
    responses = schema["paths"]["/api/v1/declarations/"]["get"]["responses"]
    assert responses["200"]["headers"]["Emergency-In-Force"] == {
        "$ref": "#/components/headers/EmergencyInForce"
    }


# ---- Humanitarian consignees -----------------------------------------------------------------


def test_a_trader_registers_their_company_and_an_administrator_approves(cast, second_admin, api):
    ngo = UserFactory(username="ngo_api", company=CompanyFactory(name="Shelter Now"))
    client = api.as_user(ngo)
    response = client.post("/api/v1/humanitarian-consignees/", {"kind": "alien", "mission": "x"})
    assert response.status_code == 400 and "kind" in response.json()["fields"]
    response = client.post(
        "/api/v1/humanitarian-consignees/", {"kind": "ngo", "mission": "Shelter kits"}
    )
    assert response.status_code == 201
    registered = response.json()
    assert (registered["company"], registered["status"]) == ("Shelter Now", "requested")
    again = client.post("/api/v1/humanitarian-consignees/", {"kind": "ngo", "mission": "again"})
    assert again.status_code == 400 and "company_tax_id" in again.json()["fields"]
    # The trader reads their own registration, and decides nothing.
    assert client.get("/api/v1/humanitarian-consignees/").json()["count"] == 1
    assert client.get(f"/api/v1/humanitarian-consignees/{registered['id']}/").status_code == 200
    response = client.post(
        f"/api/v1/humanitarian-consignees/{registered['id']}/decide/", {"status": "approved"}
    )
    assert response.status_code == 404

    admin = api.as_user(cast.admin)
    response = admin.post(
        f"/api/v1/humanitarian-consignees/{registered['id']}/decide/", {"status": "suspended"}
    )
    assert response.status_code == 400 and "note" in response.json()["fields"]
    response = admin.post(
        f"/api/v1/humanitarian-consignees/{registered['id']}/decide/", {"status": "approved"}
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decided_by"]) == ("approved", "admin")
    assert HumanitarianConsignee.objects.get().status == "approved"


def test_other_companies_and_roles_see_no_registration(cast, api):
    ngo = UserFactory(username="ngo_api", company=CompanyFactory(name="Shelter Now"))
    api.as_user(ngo).post(
        "/api/v1/humanitarian-consignees/", {"kind": "ngo", "mission": "Shelter kits"}
    )
    consignee = HumanitarianConsignee.objects.get()
    trader_a = api.as_user(cast.trader_a)
    assert trader_a.get("/api/v1/humanitarian-consignees/").json()["count"] == 0
    assert trader_a.get(f"/api/v1/humanitarian-consignees/{consignee.pk}/").status_code == 404
    officer = api.as_user(cast.customs_officer)
    assert officer.get("/api/v1/humanitarian-consignees/").status_code == 404
    response = officer.post("/api/v1/humanitarian-consignees/", {"kind": "ngo", "mission": "x"})
    assert response.status_code == 404
    assert api.as_user(cast.admin).get("/api/v1/humanitarian-consignees/").json()["count"] == 1

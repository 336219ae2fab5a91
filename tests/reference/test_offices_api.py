"""GET /api/v1/offices/: the customs offices a declaration may name, for brokers' systems."""

import pytest

from reference.models import Office

pytestmark = pytest.mark.django_db


def test_the_active_offices_are_listed_with_their_kind_and_position(cast, api):
    Office.objects.filter(code="KRDRS").update(active=False)
    response = api.as_user(cast.trader_a).get("/api/v1/offices/")
    assert response.status_code == 200
    offices = {office["code"]: office for office in response.json()}
    assert len(offices) == 10 and "KRDRS" not in offices
    assert offices["KRPUS"] == {
        "code": "KRPUS",
        "name": "Busan Main Customs (Busan New Port)",
        "country": "KR",
        "kind": "seaport",
        "position": {"latitude": 35.0762, "longitude": 128.8237},
    }
    Office.objects.filter(code="KRTAE").update(latitude=None, longitude=None)
    daegu = api.as_user(cast.trader_a).get("/api/v1/offices/KRTAE/").json()
    assert daegu["position"] is None


def test_offices_filter_by_kind_and_country(cast, api):
    client = api.as_user(cast.trader_b)
    airports = client.get("/api/v1/offices/?kind=airport").json()
    assert [office["code"] for office in airports] == ["KRCJU", "KRICN"]
    assert client.get("/api/v1/offices/?country=kr&kind=land").json()[0]["code"] == "KRDRS"
    assert client.get("/api/v1/offices/?country=JP").json() == []


def test_one_office_by_its_code_and_a_closed_or_unknown_one_is_not_found(cast, api):
    client = api.as_user(cast.customs_officer)
    assert client.get("/api/v1/offices/kricn/").json()["name"] == "Incheon Airport Customs"
    Office.objects.filter(code="KRDRS").update(active=False)
    assert client.get("/api/v1/offices/KRDRS/").status_code == 404
    assert client.get("/api/v1/offices/XXNOPE/").status_code == 404


def test_the_offices_need_a_login_and_are_in_the_schema(client):
    assert client.get("/api/v1/offices/").status_code == 401
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/offices/" in schema["paths"]
    assert "/api/v1/users/" in schema["paths"]

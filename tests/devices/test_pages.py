"""The officers' movement pages: customs staff at the movement's offices only; traders,
other agencies and other offices get 404."""

import pytest

from devices.models import MonitoringProfile
from tests.devices.conftest import ON_ROUTE, message, movement, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def watched(offices, device):
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    record(
        device.identifier,
        message(seal, status="closed", lat=ON_ROUTE[0], lon=ON_ROUTE[1], temperature=4.0),
        message(seal, status="tampered", lat=ON_ROUTE[0] + 0.01, lon=ON_ROUTE[1]),
    )
    return moving


def test_customs_at_the_movements_offices_see_its_track_timeline_and_alerts(
    offices, login, watched
):
    for officer in (offices.customs_officer, offices.supervisor):
        page = login(officer).get(f"/seals/{watched.pk}/")
        assert page.status_code == 200
        html = page.content.decode()
        assert "Seal tampered with" in html and "Required" in html
        assert 'id="movement-map-data"' in html and "vendor/leaflet/leaflet.js" in html
        assert page.context["map"]["route"][0] == [35.0762, 128.8237]  # Busan
        assert [p["status"] for p in page.context["map"]["points"]] == ["closed", "tampered"]
        assert page.context["map"]["points"][1]["alert"] == "Seal tampered with"
        listed = login(officer).get("/seals/")
        assert watched.reference in listed.content.decode()


def test_everyone_else_gets_404(offices, login, watched):
    for outsider in (
        offices.trader_a,  # the declarant: targeting is confidential
        offices.trader_b,
        offices.incheon_officer,  # customs, another office
        offices.seoul_food_officer,  # the destination office, another agency
        offices.food_officer,
        offices.analyst,
        offices.admin,
    ):
        client = login(outsider)
        assert client.get(f"/seals/{watched.pk}/").status_code == 404, outsider
        assert (
            client.post(
                f"/seals/{watched.pk}/monitoring/",
                {"corridor_km": 5, "max_stop_minutes": 30},
            ).status_code
            == 404
        ), outsider
    for not_customs in (offices.trader_a, offices.food_officer, offices.analyst):
        assert login(not_customs).get("/seals/").status_code == 404
    assert login(offices.incheon_officer).get("/seals/").context["movements"] == []
    assert not MonitoringProfile.objects.exists()


def test_the_trader_reads_nothing_of_the_alert_on_their_declaration(offices, login, watched):
    page = login(offices.trader_a).get(f"/declarations/{watched.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "tamper" not in html.lower() and "inspection at destination" not in html.lower()


def test_an_officer_tightens_monitoring_from_the_page(offices, login, watched):
    client = login(offices.customs_officer)
    response = client.post(
        f"/seals/{watched.pk}/monitoring/",
        {"corridor_km": 8, "max_stop_minutes": 30, "temperature_min": 2, "temperature_max": 6},
        follow=True,
    )
    assert "Monitoring set" in response.content.decode()
    profile = MonitoringProfile.objects.get(movement=watched)
    assert (profile.corridor_km, profile.temperature_max, profile.set_by) == (
        8,
        6,
        offices.customs_officer,
    )
    loosened = client.post(
        f"/seals/{watched.pk}/monitoring/",
        {"corridor_km": 20, "max_stop_minutes": 30, "temperature_min": 2, "temperature_max": 6},
        follow=True,
    )
    assert "corridor km: Monitoring only tightens" in loosened.content.decode()
    assert MonitoringProfile.objects.get(movement=watched).corridor_km == 8
    half = client.post(
        f"/seals/{watched.pk}/monitoring/",
        {"corridor_km": 8, "max_stop_minutes": 30, "temperature_min": 2},
        follow=True,
    )
    assert "Give both bounds" in half.content.decode()

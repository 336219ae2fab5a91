"""POST /api/v1/devices/events/: a device's own key, the same path as MQTT, idempotent."""

import pytest
from django.test import Client

from devices.models import DeviceEvent, MovementAlert
from devices.services import device_update
from tests.devices.conftest import message, movement

pytestmark = pytest.mark.django_db

URL = "/api/v1/devices/events/"


def post(body, *, key: str | None = None, **headers):
    if key is not None:
        headers["X-Device-Key"] = key
    # As a device calls: no session, no CSRF token.
    return Client(enforce_csrf_checks=True).post(
        URL, body, content_type="application/json", headers=headers
    )


def test_a_device_posts_a_batch_which_is_recorded_once(offices, device):
    moving = movement(offices.trader_a)
    seal = moving.seal_numbers[0]
    body = {
        "events": [
            message(seal, message_id="h-1", status="closed", lat=36.69, lon=127.82),
            message(seal, message_id="h-2", status="tampered"),
            "not an object",
            message("NO-SUCH-SEAL", message_id="h-3"),
        ]
    }
    response = post(body, key=device.key)
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [(r["message_id"][:3], r["outcome"], r["duplicate"]) for r in results] == [
        ("h-1", "applied", False),
        ("h-2", "applied", False),
        ("sha", "malformed", False),
        ("h-3", "unknown_seal", False),
    ]
    assert results[2]["problem"] == "not a JSON object"
    assert set(DeviceEvent.objects.values_list("channel", flat=True)) == {"http"}
    assert DeviceEvent.objects.get(message_id="h-1").device == device
    moving.refresh_from_db()
    assert moving.destination_inspection_required
    # The device sends the same batch again (its first answer was lost): nothing new.
    again = post(body, key=device.key)
    assert [r["duplicate"] for r in again.json()["results"]] == [True] * 4
    assert DeviceEvent.objects.count() == 4
    assert DeviceEvent.objects.get(message_id="h-2").receipts == 2
    assert MovementAlert.objects.count() == 1
    # The answer tells a device what became of its messages, never what customs concluded.
    assert "alert" not in again.content.decode()


def test_only_a_registered_active_device_key_is_accepted(cast, offices, device, api):
    body = {"events": [message("S-1")]}
    assert post(body).status_code == 401
    assert post(body, key="0" * 40).status_code == 401
    # A user's token, however valid, is not a device's key.
    user_token = api.as_user(cast.admin)
    assert user_token.post(URL, body, format="json").status_code == 401
    assert post(body, key=device.key).status_code == 200
    device_update(device=device, actor=cast.admin, active=False)
    refused = post(body, key=device.key)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "This device is deactivated."}
    assert DeviceEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "events"),
        ({"events": []}, "events"),
        ({"events": "x"}, "events"),
        ({"events": [{"message_id": str(n)} for n in range(501)]}, "events"),
    ],
)
def test_a_body_that_is_no_batch_is_refused_naming_the_field(device, body, field):
    response = post(body, key=device.key)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not DeviceEvent.objects.exists()

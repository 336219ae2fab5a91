"""Devices registered in the admin: through the service, the key shown once."""

import pytest

from devices.models import Device
from devices.services import device_credential_digest
from tests.admin.conftest import form_errors

pytestmark = pytest.mark.django_db


def shown_key(response) -> str:
    text = next(str(m) for m in response.context["messages"] if "shown this once" in str(m))
    return text.rsplit(": ", 1)[1]


def test_a_device_registered_in_the_admin_gets_a_key_shown_once(cast, login):
    admin = login(cast.admin)
    response = admin.post(
        "/admin/devices/device/add/",
        {"identifier": "eseal-77", "kind": "seal", "description": "Truck seal"},
        follow=True,
    )
    device = Device.objects.get(identifier="eseal-77")
    key = shown_key(response)
    assert device.credential_digest == device_credential_digest(key)
    assert key not in admin.get(f"/admin/devices/device/{device.pk}/change/").content.decode()

    response = admin.post(
        "/admin/devices/device/",
        {"action": "issue_credential", "_selected_action": [device.pk]},
        follow=True,
    )
    new_key = shown_key(response)
    device.refresh_from_db()
    assert new_key != key and device.credential_digest == device_credential_digest(new_key)

    refused = admin.post(
        "/admin/devices/device/add/", {"identifier": "bad/id", "kind": "seal", "description": ""}
    )
    assert "identifier" in form_errors(refused)


def test_device_events_are_read_only_in_the_admin(cast, login):
    admin = login(cast.admin)
    assert admin.get("/admin/devices/deviceevent/").status_code == 200
    assert admin.get("/admin/devices/deviceevent/add/").status_code == 403

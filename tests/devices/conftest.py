"""Transit movements under seal, the devices on them, and customs staff at their offices."""

import itertools
import json
import uuid
from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from declarations.models import Declaration
from devices.messages import event_from_message
from devices.services import device_register
from reference.models import Office
from tests.factories import UserFactory, make_declaration

_invoices = itertools.count(1)
_seals = itertools.count(1)

# Busan to Seoul by way of Daegu: the movement's route runs through these offices.
BUSAN = (35.0762, 128.8237)
DAEGU = (35.8714, 128.6014)
SEOUL = (37.5122, 127.0333)
# On the road between Daegu and Seoul (about 1 km from the straight route).
ON_ROUTE = (36.69, 127.82)
# Gangneung, on the east coast: far from the route.
OFF_ROUTE = (37.7519, 128.8761)


def new_seal() -> str:
    return f"KRSEAL{next(_seals):06d}-{uuid.uuid4().hex[:4].upper()}"


def movement(
    actor,
    *,
    seals: list[str] | None = None,
    departure: str = "KRPUS",
    destination: str = "KRSEL",
    itinerary: list[str] | None = None,
    status: str = Declaration.Status.RELEASED,
    lodged_at: datetime | None = None,
) -> Declaration:
    """A transit movement released under seal at its office of departure, as the
    transit process leaves it (status and seals set directly: that process is not
    this app's)."""
    declaration = make_declaration(
        actor=actor,
        type=Declaration.Type.TRANSIT,
        office_of_entry="",
        office_of_departure=departure,
        office_of_destination=destination,
        itinerary=["KRTAE"] if itinerary is None else itinerary,
        invoice_number=f"INV-TR-{next(_invoices)}",
    )
    Declaration.objects.filter(pk=declaration.pk).update(
        status=status,
        lane="green",
        submitted_at=lodged_at or timezone.now() - timedelta(hours=6),
        seal_numbers=seals if seals is not None else [new_seal()],
    )
    return Declaration.objects.get(pk=declaration.pk)


def post_at(user: User, *codes: str) -> User:
    """Post the user at these offices (added to those the cast already has)."""
    user.offices.add(*Office.objects.filter(code__in=codes))
    return user


@pytest.fixture
def offices(cast):
    """Customs staff posted at offices: Busan (departure), Seoul (destination), and an
    officer at Incheon who has nothing to do with the movements."""
    post_at(cast.customs_officer, "KRPUS")
    post_at(cast.supervisor, "KRSEL")
    incheon = UserFactory(
        username="incheon_officer", role="officer", agency=cast.customs, offices=["KRINC"]
    )
    seoul_food = UserFactory(
        username="seoul_food_officer", role="officer", agency=cast.food, offices=["KRSEL"]
    )
    cast.incheon_officer = incheon
    cast.seoul_food_officer = seoul_food
    return cast


@pytest.fixture
def device(cast):
    device, key = device_register(identifier="eseal-0001", kind="seal", actor=cast.admin)
    device.key = key
    return device


def message(seal: str, *, at: datetime | None = None, message_id: str | None = None, **fields):
    body = {
        "message_id": message_id or uuid.uuid4().hex,
        "seal": seal,
        "at": (at or timezone.now()).isoformat(),
    }
    body.update(fields)
    return body


def events(device_id: str, *bodies, received_at=None):
    """Messages as the listener receives them, parsed into unsaved events."""
    now = received_at or timezone.now()
    return [
        event_from_message(
            body if isinstance(body, bytes) else json.dumps(body).encode(),
            device_identifier=device_id,
            channel="mqtt",
            received_at=now,
        )
        for body in bodies
    ]


def record(device_id: str, *bodies):
    from clearance.services import device_events_record

    with transaction.atomic():
        return device_events_record(events=events(device_id, *bodies))


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory):
    """(url, protocol) of the broker the listener tests use: MQTT_URL's when set (the
    machine's Mosquitto in CI), else one started for the session."""
    import os

    from tests.devices.mqtt import Mosquitto, own_broker

    if os.environ.get("MQTT_URL"):
        yield os.environ["MQTT_URL"], os.environ.get("MQTT_PROTOCOL", "5")
        return
    broker = own_broker(tmp_path_factory.mktemp("mqtt"))
    broker.start()
    yield broker.url, "5" if isinstance(broker, Mosquitto) else "3.1.1"
    broker.stop()

"""The message a device sends, and how one becomes a DeviceEvent (unsaved).

Over MQTT a device publishes to `<MQTT_TOPIC_PREFIX>/<device id>/events`, QoS 1,
one JSON object per message; over HTTP it posts a batch of the same objects.

    {"message_id": "c1f7-000123",          unique per device: repeats are dropped
     "seal": "KRSEAL0001234",              the seal the device reports on
     "at": "2026-12-03T10:30:00+09:00",    the device's clock, ISO 8601 with offset
     "status": "closed",                   closed | opened | tampered (optional)
     "lat": 35.871, "lon": 128.601,        WGS 84 degrees, both or neither
     "temperature": 4.5,                   °C (optional)
     "speed": 62.0}                        km/h (optional)

Anything else in the object is kept with it. A message that is not such an
object is still stored, as `malformed` with the problem named, so nothing a
device sent is lost and nothing it sends can stop the listener.
"""

import functools
import hashlib
import json
import math
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError

from devices.models import Device, DeviceEvent, device_identifier_validator

# Far above any real message (about 200 bytes); what is longer is kept truncated.
MAX_PAYLOAD_BYTES = 4096
MAX_DEPTH = 8
# A device clock this far ahead of ours is wrong, and would misorder the track.
MAX_CLOCK_AHEAD = timedelta(days=1)
SEAL_STATUSES = frozenset(DeviceEvent.SealStatus.values)


class Unreadable(Exception):
    """What is wrong with a message, naming the field."""


@functools.lru_cache(maxsize=4096)
def topic_device(topic: str, prefix: str) -> str | None:
    """The device id of `<prefix>/<device id>/events`, None for any other topic."""
    head, sep, rest = topic.partition(prefix.rstrip("/") + "/")
    if head or not sep:
        return None
    device, sep, tail = rest.partition("/")
    return device if sep and tail == "events" and device else None


def _clean(value, depth: int = 0):
    """The value as PostgreSQL's jsonb will take it: no NUL character, no NaN, not
    deeper than MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise Unreadable(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, float) and not math.isfinite(value):
        raise Unreadable("a number is not finite")
    if isinstance(value, dict):
        return {_clean(k, depth): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    return value


def _clean_object(data: dict) -> dict:
    """_clean for a message object, which it returns itself when nothing needs changing:
    a device's message is flat (numbers and strings), checked in one pass."""
    for key, value in data.items():
        kind = type(value)
        if kind is float:
            if not math.isfinite(value):
                raise Unreadable("a number is not finite")
        elif (kind is str and "\x00" in value) or kind is dict or kind is list or "\x00" in key:
            return _clean(data)
    return data


def _raw_text(raw: bytes) -> dict:
    text = raw[:MAX_PAYLOAD_BYTES].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    kept = {"raw": text}
    if len(raw) > MAX_PAYLOAD_BYTES:
        kept["size"] = len(raw)
    return kept


def _number(data: dict, field: str, low: float, high: float) -> float | None:
    value = data.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unreadable(f"{field}: a number is expected, not {json.dumps(value)[:40]}")
    if not low <= value <= high:
        raise Unreadable(f"{field}: {value} is outside {low:g} to {high:g}")
    return float(value)


def _text(data: dict, field: str, max_length: int) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise Unreadable(f"{field}: required, a non-empty string")
    value = value.strip()
    if len(value) > max_length:
        raise Unreadable(f"{field}: at most {max_length} characters")
    return value


def _fields(data: dict, *, received_at: datetime) -> dict:
    """The event's columns from a message object; Unreadable names what is wrong."""
    at = data.get("at")
    if not isinstance(at, str):
        raise Unreadable("at: required, an ISO 8601 time with its offset")
    try:
        recorded_at = datetime.fromisoformat(at)
    except ValueError:
        raise Unreadable(f"at: {at[:40]!r} is not an ISO 8601 time") from None
    if recorded_at.tzinfo is None:
        raise Unreadable("at: give the offset (+09:00, Z)")
    if recorded_at > received_at + MAX_CLOCK_AHEAD:
        raise Unreadable("at: more than a day ahead of the platform's clock")
    status = data.get("status")
    if status is not None and status not in SEAL_STATUSES:
        raise Unreadable(f"status: one of {', '.join(sorted(SEAL_STATUSES))}")
    latitude = _number(data, "lat", -90, 90)
    longitude = _number(data, "lon", -180, 180)
    if (latitude is None) != (longitude is None):
        raise Unreadable("lat, lon: give both or neither")
    return {
        "seal": _text(data, "seal", 32),
        "recorded_at": recorded_at,
        "seal_status": status or "",
        "latitude": latitude,
        "longitude": longitude,
        "temperature": _number(data, "temperature", -100, 150),
        "speed": _number(data, "speed", 0, 500),
    }


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)


@functools.lru_cache(maxsize=4096)
def _valid_device_identifier(identifier: str) -> bool:
    # A listener hears the same devices over and over.
    try:
        device_identifier_validator(identifier)
    except ValidationError:
        return False
    return True


# DeviceEvent's columns in order: an instance made from positional values takes
# Django's fast path (that of rows read from the database), several times cheaper
# than keyword arguments, for thousands of messages a second.
_COLUMNS = [(field.attname, field) for field in DeviceEvent._meta.concrete_fields]


def _new_event(values: dict) -> DeviceEvent:
    return DeviceEvent(
        *[values[name] if name in values else field.get_default() for name, field in _COLUMNS]
    )


def event_from_message(
    payload: bytes | dict,
    *,
    device_identifier: str,
    channel: str,
    received_at: datetime,
    device: Device | None = None,
) -> DeviceEvent:
    """One message as an unsaved DeviceEvent: readable, or `malformed` with its problem.

    `payload` is the message's bytes (MQTT) or the object already parsed from a
    request body (HTTP). A message without a usable message_id is named by its
    content's digest, so the same bytes received twice are still one event.

    A readable message that needed no cleaning keeps its JSON text in
    `payload_json`, which is stored as is (the same object as `payload`, digits
    as the device wrote them) rather than encoded again.
    """
    values = {
        "device_id": device.pk if device is not None else None,
        "device_identifier": device_identifier[:64],
        "channel": channel,
        "received_at": received_at,
        "outcome": "",
        "problem": "",
        "receipts": 1,
    }
    cleaned = text = None
    try:
        data = payload
        if isinstance(payload, bytes):
            if len(payload) > MAX_PAYLOAD_BYTES:
                raise Unreadable(f"larger than {MAX_PAYLOAD_BYTES} bytes")
            try:
                text = payload.decode("utf-8")
                data = _decoder.decode(text)
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                raise Unreadable(f"not JSON ({str(exc)[:80]})") from None
        if not isinstance(data, dict):
            raise Unreadable("not a JSON object")
        cleaned = _clean_object(data)
        message_id = cleaned.get("message_id")
        if not (isinstance(message_id, str) and 0 < len(message_id.strip()) <= 128):
            raise Unreadable("message_id: required, a string of 1 to 128 characters")
        values["message_id"] = message_id.strip()
        if not _valid_device_identifier(device_identifier):
            raise Unreadable("the topic does not name a valid device id")
        values.update(_fields(cleaned, received_at=received_at))
    except Unreadable as problem:
        values["outcome"] = DeviceEvent.Outcome.MALFORMED
        values["problem"] = str(problem)[:300]
        if "message_id" not in values:
            raw = (
                payload
                if isinstance(payload, bytes)
                else json.dumps(payload, sort_keys=True, default=str).encode()
            )
            values["message_id"] = "sha256:" + hashlib.sha256(raw).hexdigest()[:48]
    # The object as it came when it can be stored so, else its text.
    if cleaned is None:
        values["payload"] = _raw_text(
            payload
            if isinstance(payload, bytes)
            else json.dumps(payload, sort_keys=True, default=str).encode()
        )
    else:
        values["payload"] = cleaned
    event = _new_event(values)
    event.payload_json = text if cleaned is data and text is not None else None
    return event

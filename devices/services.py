"""Every write of the devices app: registering devices, storing their messages,
finding the movement each names and raising the movement's alerts.

What an alert does to the declaration (inspection at destination, its audit
trail, the offices told) is the clearance process's: `clearance.services.
device_events_record` calls device_events_store and acts on what it returns,
in the same transaction.
"""

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from declarations.models import Declaration, DeclarationEvent
from devices.geometry import distance_to_route_km, within_km
from devices.models import Device, DeviceEvent, MonitoringProfile, MovementAlert
from reference.models import Office

logger = logging.getLogger(__name__)

Status = Declaration.Status
Outcome = DeviceEvent.Outcome
Kind = MovementAlert.Kind

# Positions within this distance of the stop's first one are the same stop.
STOP_RADIUS_KM = 0.2
# Waiting at the office of departure or destination is no stop en route.
OFFICE_RADIUS_KM = 2.0
# How far back (device time) the stop rule first reads a track: enough to find the
# last position that moved, for devices reporting every few minutes.
STOP_LOOKBACK = timedelta(minutes=15)
# A movement's devices are followed from its release under seal until it is
# discharged; after the arrival, only what the device recorded before it counts.
FOLLOWED = (Status.RELEASED, Status.ARRIVED, Status.DISCHARGED)


# --- Devices -------------------------------------------------------------------------------


def _ensure_platform_admin(actor) -> None:
    if actor is None or not actor.is_platform_admin:
        raise PermissionDenied


def _new_credential() -> tuple[str, str]:
    key = secrets.token_hex(20)
    return key, hashlib.sha256(key.encode()).hexdigest()


def device_credential_digest(key: str) -> str:
    # 160 random bits: a plain hash suffices, as for the API tokens.
    return hashlib.sha256(key.encode()).hexdigest()


DEVICE_CHANGEABLE = ("kind", "description", "active")


@transaction.atomic
def device_register(
    *, identifier: str, kind: str, description: str = "", actor
) -> tuple[Device, str]:
    """Register a device; returns it and its HTTP credential, shown this once."""
    _ensure_platform_admin(actor)
    key, digest = _new_credential()
    device = Device(
        identifier=identifier,
        kind=kind,
        description=description,
        credential_digest=digest,
        credential_prefix=key[:8],
        registered_by=actor,
    )
    device.full_clean()
    device.save()
    return device, key


@transaction.atomic
def device_update(*, device: Device, actor, **values) -> Device:
    """Change a device's kind, description or whether it is active."""
    _ensure_platform_admin(actor)
    unknown = set(values) - set(DEVICE_CHANGEABLE)
    if unknown:
        raise ValueError(f"not changeable: {sorted(unknown)}")
    device = Device.objects.select_for_update().get(pk=device.pk)
    for name, value in values.items():
        setattr(device, name, value)
    device.full_clean()
    device.save(update_fields=list(values))
    return device


@transaction.atomic
def device_credential_issue(*, device: Device, actor) -> str:
    """A new HTTP credential for the device; the previous one stops working."""
    _ensure_platform_admin(actor)
    key, digest = _new_credential()
    Device.objects.filter(pk=device.pk).update(credential_digest=digest, credential_prefix=key[:8])
    return key


# --- How closely a movement is watched -------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    corridor_km: float
    max_stop_minutes: int
    temperature_min: float | None = None
    temperature_max: float | None = None


def default_limits() -> Limits:
    return Limits(settings.SEAL_CORRIDOR_KM, settings.SEAL_MAX_STOP_MINUTES)


def monitoring_limits(movement_ids) -> dict[int, Limits]:
    """Each movement's limits: its profile's, else the settings' defaults (one query)."""
    limits = dict.fromkeys(movement_ids, default_limits())
    for profile in MonitoringProfile.objects.filter(movement_id__in=list(movement_ids)):
        limits[profile.movement_id] = Limits(
            profile.corridor_km,
            profile.max_stop_minutes,
            profile.temperature_min,
            profile.temperature_max,
        )
    return limits


MONITORING_FIELDS = ("corridor_km", "max_stop_minutes", "temperature_min", "temperature_max")


def may_monitor(actor, movement: Declaration) -> bool:
    """Customs officers and supervisors posted at the movement's office of departure
    (which seals it) or of destination."""
    if not (actor.is_agency_staff and actor.agency.is_customs):
        return False
    offices = {movement.office_of_departure, movement.office_of_destination} - {""}
    return actor.offices.filter(code__in=offices).exists()


def _loosened(before: Limits, after: Limits) -> list[str]:
    looser = []
    if after.corridor_km > before.corridor_km:
        looser.append("corridor_km")
    if after.max_stop_minutes > before.max_stop_minutes:
        looser.append("max_stop_minutes")
    if before.temperature_min is not None:
        if after.temperature_min is None or after.temperature_min < before.temperature_min:
            looser.append("temperature_min")
        if after.temperature_max is None or after.temperature_max > before.temperature_max:
            looser.append("temperature_max")
    return looser


@transaction.atomic
def monitoring_profile_set(
    *,
    movement_id: int,
    actor,
    corridor_km: float,
    max_stop_minutes: int,
    temperature_min: float | None = None,
    temperature_max: float | None = None,
) -> MonitoringProfile:
    """Set how closely a transit movement is watched, from now on (what was received
    is not evaluated again).

    Monitoring only tightens: a wider corridor, a longer stop or a looser
    temperature range would lower scrutiny on one officer's word, and is refused.
    """
    movement = Declaration.objects.select_for_update().get(pk=movement_id)
    if movement.type != Declaration.Type.TRANSIT or not may_monitor(actor, movement):
        raise PermissionDenied
    if movement.status == Status.DISCHARGED:
        raise ValidationError({"movement": "The movement is discharged: nothing is watched now."})
    before = monitoring_limits([movement.pk])[movement.pk]
    after = Limits(corridor_km, max_stop_minutes, temperature_min, temperature_max)
    errors = {
        name: "Monitoring only tightens: this would lower scrutiny."
        for name in _loosened(before, after)
    }
    if (temperature_min is None) != (temperature_max is None):
        errors["temperature_max" if temperature_max is None else "temperature_min"] = (
            "Give both bounds of the temperature range, or neither."
        )
    elif temperature_min is not None and temperature_min > temperature_max:
        errors["temperature_min"] = "The lowest temperature is above the highest."
    if errors:
        raise ValidationError(errors)
    profile = MonitoringProfile(
        movement=movement,
        corridor_km=corridor_km,
        max_stop_minutes=max_stop_minutes,
        temperature_min=temperature_min,
        temperature_max=temperature_max,
        set_by=actor,
        set_at=timezone.now(),
    )
    profile.full_clean(exclude=["movement"], validate_unique=False)
    profile.save()
    return profile


# --- Storing a batch of events ----------------------------------------------------------------


@dataclass
class StoredBatch:
    """What device_events_store did: every input event with its row id and outcome
    (`duplicate` on those received before), and the alerts newly raised, with
    their movements locked for the caller."""

    events: list[DeviceEvent]
    alerts: list[MovementAlert] = field(default_factory=list)
    movements: dict[int, Declaration] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        return sum(1 for e in self.events if e.duplicate)

    def count(self, outcome: str) -> int:
        return sum(1 for e in self.events if not e.duplicate and e.outcome == outcome)


def _resolve_devices(events: list[DeviceEvent]) -> None:
    """Name each event's device; readable events of an unknown or inactive device are
    kept and not acted on."""
    identifiers = list({e.device_identifier for e in events})
    devices = {
        identifier: (pk, active)
        for identifier, pk, active in Device.objects.filter(identifier__in=identifiers).values_list(
            "identifier", "pk", "active"
        )
    }
    for event in events:
        event.device_id, active = devices.get(event.device_identifier, (None, False))
        if not (event.outcome or active):
            event.outcome = Outcome.UNKNOWN_DEVICE


def _arrival_times(movement_ids) -> dict[int, datetime]:
    """When each movement's arrival at destination was recorded (its audit trail)."""
    return dict(
        DeclarationEvent.objects.filter(
            declaration_id__in=list(movement_ids), to_status=Status.ARRIVED
        )
        .order_by("declaration_id", "-seq")
        .distinct("declaration_id")
        .values_list("declaration_id", "at")
    )


@dataclass(frozen=True)
class Followed:
    pk: int
    status: str
    submitted_at: datetime | None
    seal_numbers: list[str]


def _followed_under_seals(seals: list[str]) -> list[tuple]:
    """(pk, status, submitted_at, seal_numbers) of the followed transit movements under
    these seals, latest lodged first.

    One probe of the seal index (GIN) per seal, in one statement: `seal_numbers &&
    seals` would leave PostgreSQL the choice, and while the transit movements are
    few thousand it scans them all, comparing each one's seals with the batch's
    hundreds (30 ms a batch); OFFSET 0 keeps each probe a subquery of its own."""
    table = Declaration._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT d.id, d.status, d.submitted_at, d.seal_numbers "
            "FROM unnest(%s::varchar[]) AS s(seal) CROSS JOIN LATERAL ("
            f"SELECT id, status, submitted_at, seal_numbers FROM {table} "
            "WHERE seal_numbers @> ARRAY[s.seal]::varchar[] AND type = %s "
            "AND status = ANY(%s) OFFSET 0) d "
            "ORDER BY d.submitted_at DESC, d.id DESC",
            [_array_literal(seals, "varchar"), Declaration.Type.TRANSIT, list(FOLLOWED)],
        )
        return cursor.fetchall()


def _match_movements(events: list[DeviceEvent]) -> None:
    """Attach each readable event of a known device to the movement under its seal.

    A movement is followed from release to discharge; an event recorded before
    the movement was lodged belongs to an earlier use of the seal number. Of
    several, the latest lodged wins. After the arrival is recorded, events the
    device recorded later are kept on the track but not evaluated (the office
    of destination opens the seal itself).
    """
    waiting = [e for e in events if not e.outcome]
    seals = {e.seal for e in waiting}
    if not seals:
        return
    movements = [Followed(*row) for row in _followed_under_seals(sorted(seals))]
    under_seal: dict[str, list[Followed]] = {}
    for movement in movements:
        for seal in movement.seal_numbers:
            under_seal.setdefault(seal, []).append(movement)
    arrived = _arrival_times(m.pk for m in movements if m.status != Status.RELEASED)
    for event in waiting:
        movement = next(
            (
                m
                for m in under_seal.get(event.seal, ())
                if m.submitted_at is None or event.recorded_at >= m.submitted_at
            ),
            None,
        )
        if movement is None:
            event.outcome = Outcome.UNKNOWN_SEAL
            continue
        event.movement_id = movement.pk
        arrival = arrived.get(movement.pk)
        late = movement.status != Status.RELEASED and (
            arrival is None or event.recorded_at >= arrival
        )
        event.outcome = Outcome.AFTER_ARRIVAL if late else Outcome.APPLIED


# The inserted columns and their PostgreSQL types: the batch goes as one array per
# column (unnest), rather than as rows of VALUES.
COLUMNS = {
    "device_id": "bigint", "device_identifier": "varchar", "message_id": "varchar",
    "channel": "varchar", "recorded_at": "timestamptz", "received_at": "timestamptz",
    "seal": "varchar", "seal_status": "varchar", "latitude": "float8", "longitude": "float8",
    "temperature": "float8", "speed": "float8", "payload": "text", "movement_id": "bigint",
    "outcome": "varchar", "problem": "varchar", "receipts": "integer",
}  # fmt: skip


def _array_literal(values: list, kind: str) -> str:
    """A column's values as one PostgreSQL array literal ('{1,NULL,"text"}'), parsed by
    the array's input function. psycopg2 would send ARRAY[...] of one constant per
    value, thousands a batch, which PostgreSQL analyses one by one: the literal
    halves the statement's time."""
    if kind in ("varchar", "text"):
        items = [
            "NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            for v in values
        ]
    elif kind == "timestamptz":
        items = ["NULL" if v is None else v.isoformat() for v in values]
    elif kind == "float8":
        items = ["NULL" if v is None else repr(float(v)) for v in values]
    else:
        items = ["NULL" if v is None else str(int(v)) for v in values]
    return "{" + ",".join(items) + "}"


def _insert(events: list[DeviceEvent]) -> dict[tuple[str, str], tuple[int, str, bool]]:
    """Insert the events, each (device, message id) once: a message received before
    only adds to its row's `receipts`. Returns, by key, the row's id, its outcome
    and whether this statement inserted it. One statement.

    ON CONFLICT DO UPDATE (rather than DO NOTHING) so that the row received
    before answers too; `xmax = 0` tells a row this statement inserted.
    """
    table = DeviceEvent._meta.db_table
    arrays = ", ".join(f"%s::{kind}[]" for kind in COLUMNS.values())
    selected = ", ".join(
        f"u.{name}::jsonb" if name == "payload" else f"u.{name}" for name in COLUMNS
    )
    sql = (
        f"INSERT INTO {table} ({', '.join(COLUMNS)}) "
        f"SELECT {selected} FROM unnest({arrays}) AS u({', '.join(COLUMNS)}) "
        "ON CONFLICT (device_identifier, message_id) DO UPDATE "
        f"SET receipts = {table}.receipts + EXCLUDED.receipts "
        "RETURNING id, device_identifier, message_id, outcome, (xmax = 0) AS inserted"
    )
    columns = [
        _array_literal(
            [getattr(e, "payload_json", None) or json.dumps(e.payload) for e in events]
            if name == "payload"
            else [getattr(e, name) for e in events],
            kind,
        )
        for name, kind in COLUMNS.items()
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, columns)
        rows = cursor.fetchall()
    return {
        (ident, message): (pk, outcome, inserted) for pk, ident, message, outcome, inserted in rows
    }


def _insert_one_by_one(events: list[DeviceEvent]) -> dict:
    """After the batch's statement failed on a value PostgreSQL refuses: each event in
    a savepoint of its own, and one that still fails is kept as malformed, its
    message as text. A bad message never holds up the others."""
    stored = {}
    for event in events:
        try:
            with transaction.atomic():
                stored.update(_insert([event]))
        except (IntegrityError, DatabaseError) as exc:
            if not connection.is_usable():
                raise
            event.outcome, event.movement_id = Outcome.MALFORMED, None
            event.problem = f"refused by the database: {str(exc).splitlines()[0][:200]}"
            event.payload = {"raw": repr(event.payload)[:4096].replace("\x00", "\ufffd")}
            event.payload_json = None
            event.seal, event.seal_status, event.temperature, event.speed = "", "", None, None
            event.latitude = event.longitude = None
            stored.update(_insert([event]))
    return stored


def _store(events: list[DeviceEvent]) -> dict:
    try:
        with transaction.atomic():
            return _insert(events)
    except (IntegrityError, DatabaseError):
        if not connection.is_usable():
            raise  # the database is gone, not a value: the caller retries the batch
        logger.warning("a batch of %d device events was refused; storing one by one", len(events))
        return _insert_one_by_one(events)


# Inside a caller's transaction (device_events_record's) no savepoint of its own: a
# failure here fails the caller's whole batch anyway, and a savepoint is two more
# round trips a batch.
@transaction.atomic(savepoint=False)
def device_events_store(*, events: list[DeviceEvent]) -> StoredBatch:
    """Store a batch of events (from devices.messages.event_from_message), each once,
    attach them to their movements and raise the alerts they show.

    A constant number of statements whatever the batch's size: the devices, the
    movements under the seals, one insert, and the evaluation's reads. Events
    repeated within the batch count once, like those received before.
    """
    for event in events:
        event.outcome = event.outcome or ""
        event.duplicate = False
    _resolve_devices(events)
    _match_movements(events)
    unique: dict[tuple[str, str], DeviceEvent] = {}
    for event in events:
        key = (event.device_identifier, event.message_id)
        if key in unique:
            unique[key].receipts += 1
            event.duplicate = True
        else:
            event.receipts = 1
            unique[key] = event
    stored = _store(list(unique.values()))
    for event in events:
        pk, outcome, inserted = stored[(event.device_identifier, event.message_id)]
        event.pk, event.outcome = pk, outcome
        event.duplicate = event.duplicate or not inserted
    new = [e for e in unique.values() if not e.duplicate and e.outcome == Outcome.APPLIED]
    batch = StoredBatch(events=events)
    batch.alerts, batch.movements = movement_alerts_raise(events=new)
    return batch


@transaction.atomic
def device_events_attach(*, movement: Declaration) -> tuple[list[MovementAlert], dict]:
    """Attach the events that waited for a movement under their seal (received before
    the movement was released) to it, now that it is, and raise what they show.
    The caller holds the movement's row lock."""
    if movement.type != Declaration.Type.TRANSIT or movement.status != Status.RELEASED:
        return [], {}
    waiting = DeviceEvent.objects.filter(
        outcome=Outcome.UNKNOWN_SEAL,
        seal__in=movement.seal_numbers,
    )
    if movement.submitted_at is not None:
        waiting = waiting.filter(recorded_at__gte=movement.submitted_at)
    events = list(waiting.select_for_update())
    for event in events:
        event.movement_id, event.outcome = movement.pk, Outcome.APPLIED
    DeviceEvent.objects.bulk_update(events, ["movement_id", "outcome"])
    return movement_alerts_raise(events=events, locked={movement.pk: movement})


# --- Rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    movement_id: int
    kind: str
    event: DeviceEvent
    detail: str


@dataclass(frozen=True)
class Itinerary:
    departure: str
    offices: list[str]
    destination: str


def _routes(movements: dict[int, Itinerary]) -> tuple[dict[int, list], dict[int, list]]:
    """Each movement's route (departure, itinerary offices, destination) as points,
    and its end offices' points. Country codes in the itinerary have no position:
    the route runs straight past them. One query."""
    codes = {
        code
        for m in movements.values()
        for code in (m.departure, *m.offices, m.destination)
        if code
    }
    where = {
        code: (float(lat), float(lon))
        for code, lat, lon in Office.objects.filter(
            code__in=codes, latitude__isnull=False, longitude__isnull=False
        ).values_list("code", "latitude", "longitude")
    }
    routes, ends = {}, {}
    for pk, m in movements.items():
        routes[pk] = [
            where[code] for code in (m.departure, *m.offices, m.destination) if code in where
        ]
        ends[pk] = [where[c] for c in (m.departure, m.destination) if c in where]
    return routes, ends


def _at(event: DeviceEvent) -> str:
    return f"{timezone.localtime(event.recorded_at):%Y-%m-%d %H:%M} device time"


def _where(event: DeviceEvent) -> str:
    return f"{event.latitude:.5f}, {event.longitude:.5f}"


def _point_findings(
    event: DeviceEvent, limits: Limits, route: list, seen: set[str]
) -> list[Finding]:
    """What one event shows by itself: its seal's status, its temperature, its place."""
    found = []
    if event.seal_status == DeviceEvent.SealStatus.OPENED and Kind.SEAL_OPENED not in seen:
        found.append((Kind.SEAL_OPENED, f"seal {event.seal} reported opened, {_at(event)}"))
    if event.seal_status == DeviceEvent.SealStatus.TAMPERED and Kind.SEAL_TAMPERED not in seen:
        found.append((Kind.SEAL_TAMPERED, f"seal {event.seal} reported tampered, {_at(event)}"))
    if (
        limits.temperature_min is not None
        and event.temperature is not None
        and not limits.temperature_min <= event.temperature <= limits.temperature_max
        and Kind.TEMPERATURE not in seen
    ):
        found.append(
            (
                Kind.TEMPERATURE,
                f"{event.temperature:g} °C, outside {limits.temperature_min:g} to "
                f"{limits.temperature_max:g} °C, {_at(event)}",
            )
        )
    if event.has_position and route and Kind.OFF_ROUTE not in seen:
        off = distance_to_route_km((event.latitude, event.longitude), route)
        if off > limits.corridor_km:
            found.append(
                (
                    Kind.OFF_ROUTE,
                    f"{off:.1f} km off the route (corridor {limits.corridor_km:g} km) at "
                    f"{_where(event)}, {_at(event)}",
                )
            )
    return [Finding(event.movement_id, kind, event, detail) for kind, detail in found]


# A position of a track: (event id, device time, latitude, longitude).
Position = tuple[int, datetime, float, float]


def _long_stop(
    movement_id: int, track: list[Position], limits: Limits, ends: list
) -> Finding | None:
    """The first stop longer than allowed on a stretch of track in device-time order
    that starts where a stop may start: positions each within STOP_RADIUS_KM of the
    stop's first, spanning more than the limit. Near the offices of departure and
    destination waiting is expected."""
    longest = timedelta(minutes=limits.max_stop_minutes)
    first = None
    for position in track:
        pk, at, latitude, longitude = position
        point = (latitude, longitude)
        if any(within_km(point, end, OFFICE_RADIUS_KM) for end in ends):
            first = None
            continue
        if first is not None and within_km(first[2:], point, STOP_RADIUS_KM):
            if at - first[1] > longest:
                minutes = (at - first[1]).total_seconds() / 60
                where = DeviceEvent(latitude=first[2], longitude=first[3], recorded_at=first[1])
                return Finding(
                    movement_id,
                    Kind.LONG_STOP,
                    DeviceEvent(pk=pk, movement_id=movement_id, recorded_at=at),
                    f"stopped {minutes:.0f} min (at most {limits.max_stop_minutes}) at "
                    f"{_where(where)}, from {_at(where)}",
                )
            continue
        first = position
    return None


def _stop_start(track: list[Position], since: datetime) -> int | None:
    """Where, at or before `since`, a stop must begin afresh: the latest position more
    than twice the stop radius from the one before it (it cannot belong to the stop
    that one was in). Walking on from there finds the same stops as walking the
    whole track."""
    for index in range(len(track) - 1, 0, -1):
        if track[index][1] > since:
            continue
        if not within_km(track[index - 1][2:], track[index][2:], 2 * STOP_RADIUS_KM):
            return index
    return None


def _positions(
    bounds: dict[int, datetime | None], *, with_previous: bool = False
) -> dict[int, list[Position]]:
    """Each movement's evaluated positions in device-time order from its bound on (the
    whole track when None), in one query; `with_previous` adds the one position
    before the bound.

    Each movement's stretch is a LATERAL subquery of its own, read off the
    (movement, recorded_at) index: a few rows per movement whatever the table
    holds. As a plain join PostgreSQL may instead
    scan every evaluated position of every movement into a hash (it did, with
    the statistics of a table growing by thousands of rows a second, at 200 ms
    a batch); the subquery's ORDER BY keeps it from being flattened into one."""
    table = DeviceEvent._meta.db_table
    movement_ids = list(bounds)
    since = [bounds[pk] or datetime.min.replace(tzinfo=UTC) for pk in movement_ids]
    evaluated = "e.outcome = %(applied)s AND e.latitude IS NOT NULL"
    columns = "e.id, e.recorded_at, e.latitude, e.longitude"
    bounds_table = "unnest(%(ids)s::bigint[], %(since)s::timestamptz[]) AS b(movement_id, since)"
    sql = (
        f"SELECT b.movement_id, e.* FROM {bounds_table} CROSS JOIN LATERAL ("
        f"SELECT {columns} FROM {table} e WHERE e.movement_id = b.movement_id "
        f"AND e.recorded_at >= b.since AND {evaluated} ORDER BY e.recorded_at) e"
    )
    if with_previous:
        sql += (
            f" UNION ALL SELECT b.movement_id, e.* FROM {bounds_table} CROSS JOIN LATERAL ("
            f"SELECT {columns} FROM {table} e WHERE e.movement_id = b.movement_id "
            f"AND e.recorded_at < b.since AND {evaluated} "
            "ORDER BY e.recorded_at DESC LIMIT 1) e"
        )
    tracks: dict[int, list[Position]] = {pk: [] for pk in movement_ids}
    with connection.cursor() as cursor:
        cursor.execute(
            sql + " ORDER BY 1, 3, 2",
            {
                "ids": _array_literal(movement_ids, "bigint"),
                "since": _array_literal(since, "timestamptz"),
                "applied": Outcome.APPLIED,
            },
        )
        for movement_id, *position in cursor.fetchall():
            tracks[movement_id].append(tuple(position))
    return tracks


def _stop_findings(new: dict[int, datetime], limits: dict[int, Limits], ends) -> list[Finding]:
    """Long stops on the tracks of movements with new positions (the earliest new one's
    device time each). A stop is judged on the whole track, whatever order events
    came in, but only the stretch from the last certain stop start before the new
    positions need be walked. Read first: the new positions, what came after them
    and the one position before (a moving vehicle starts afresh there); then the
    track from STOP_LOOKBACK before; the whole track only when neither stretch has
    such a start (a vehicle still for that long, or reporting rarely)."""
    tracks = _positions(new, with_previous=True)
    pending = set(tracks)
    for wider in ({pk: earliest - STOP_LOOKBACK for pk, earliest in new.items()}, None):
        for pk in sorted(pending):
            start = _stop_start(tracks[pk], new[pk])
            if start is not None:
                tracks[pk] = tracks[pk][start:]
                pending.discard(pk)
        if not pending:
            break
        tracks.update(_positions({pk: wider[pk] if wider else None for pk in pending}))
    # Still pending: the whole track, walked from its first position.
    found = (_long_stop(pk, track, limits[pk], ends[pk]) for pk, track in tracks.items())
    return [finding for finding in found if finding is not None]


def _watched(
    movement_ids: list[int],
) -> tuple[dict[int, Itinerary], dict[int, Limits], set[tuple[int, str]]]:
    """What the rules need of these movements, in one statement: their offices, their
    limits (their profile's, else the defaults, as monitoring_limits) and the
    kinds of alert they already have, as (movement, kind)."""
    table = Declaration._meta.db_table
    profiles = MonitoringProfile._meta.db_table
    alerts = MovementAlert._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.id, d.office_of_departure, d.itinerary, d.office_of_destination, "
            "p.corridor_km, p.max_stop_minutes, p.temperature_min, p.temperature_max, "
            f"ARRAY(SELECT a.kind FROM {alerts} a WHERE a.movement_id = d.id) "
            f"FROM {table} d LEFT JOIN {profiles} p ON p.movement_id = d.id "
            "WHERE d.id = ANY(%s)",
            [movement_ids],
        )
        rows = cursor.fetchall()
    defaults = default_limits()
    movements, limits, already = {}, {}, set()
    for pk, departure, itinerary, destination, corridor, stop, low, high, kinds in rows:
        movements[pk] = Itinerary(departure, itinerary, destination)
        limits[pk] = defaults if corridor is None else Limits(corridor, stop, low, high)
        already.update((pk, kind) for kind in kinds)
    return movements, limits, already


def movement_alerts_raise(
    *, events: list[DeviceEvent], locked: dict[int, Declaration] | None = None
) -> tuple[list[MovementAlert], dict[int, Declaration]]:
    """Evaluate newly stored events (outcome applied) on their movements and create
    the alerts they show that the movement does not have yet: the first event of
    each kind, by device time. Returns the new alerts and their movements, locked.

    The movements with a finding are locked (in id order, as every batch does)
    before their alerts are read and written, so two batches never raise the same
    alert twice; the unique constraint stands behind that.
    """
    if not events:
        return [], {}
    movement_ids = list({e.movement_id for e in events})
    movements, limits, already = _watched(movement_ids)
    routes, ends = _routes(movements)
    findings: dict[tuple[int, str], Finding] = {}

    def keep(finding: Finding) -> None:
        key = (finding.movement_id, finding.kind)
        if key in already:
            return
        earlier = findings.get(key)
        if earlier is None or finding.event.recorded_at < earlier.event.recorded_at:
            findings[key] = finding

    seen: dict[int, set[str]] = {pk: set() for pk in movements}
    for pk, kind in already:
        seen[pk].add(kind)
    for event in events:
        pk = event.movement_id
        for finding in _point_findings(event, limits[pk], routes[pk], seen[pk]):
            keep(finding)
    stopping: dict[int, datetime] = {}
    for event in events:
        if event.has_position and (event.movement_id, Kind.LONG_STOP) not in already:
            earliest = stopping.get(event.movement_id)
            if earliest is None or event.recorded_at < earliest:
                stopping[event.movement_id] = event.recorded_at
    if stopping:
        for finding in _stop_findings(stopping, limits, ends):
            keep(finding)
    if not findings:
        return [], {}
    locked = dict(locked or {})
    to_lock = sorted({pk for pk, _ in findings} - set(locked))
    if to_lock:
        locked.update(
            (d.pk, d)
            for d in Declaration.objects.select_for_update().filter(pk__in=to_lock).order_by("pk")
        )
    # Read again under the locks: another batch may have raised one meanwhile.
    raised = set(
        MovementAlert.objects.filter(movement_id__in=list(locked)).values_list(
            "movement_id", "kind"
        )
    )
    now = timezone.now()
    alerts = MovementAlert.objects.bulk_create(
        MovementAlert(
            movement=locked[f.movement_id],
            kind=f.kind,
            event=f.event,
            raised_at=now,
            detail=f.detail[:300],
        )
        for key, f in sorted(findings.items(), key=lambda item: item[1].event.recorded_at)
        if key not in raised
    )
    return alerts, {a.movement_id: locked[a.movement_id] for a in alerts}

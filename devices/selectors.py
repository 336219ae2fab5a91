"""Reads of the devices app that depend on who asks: movements and their tracks are
customs' alone (targeting), and each office's staff see the movements that pass
through their offices."""

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from declarations.models import Declaration
from devices.models import DeviceEvent, MonitoringProfile, MovementAlert
from reference.models import Office

FOLLOWED = (
    Declaration.Status.RELEASED,
    Declaration.Status.ARRIVED,
    Declaration.Status.DISCHARGED,
)
# The timeline shows a movement's latest events; the map draws up to this many.
TIMELINE_EVENTS = 200
MAP_EVENTS = 5000


def _customs_office_codes(user) -> list[str]:
    if not (user.is_authenticated and user.is_agency_staff and user.agency.is_customs):
        return []
    return list(user.offices.values_list("code", flat=True))


def movement_list(*, user) -> QuerySet[Declaration]:
    """Transit movements under seal that leave from, go to or pass through one of the
    user's customs offices, with their number of alerts; newest release first.
    Anyone else: none."""
    codes = _customs_office_codes(user)
    if not codes:
        return Declaration.objects.none()
    return (
        Declaration.objects.filter(type=Declaration.Type.TRANSIT, status__in=FOLLOWED)
        .filter(
            Q(office_of_departure__in=codes)
            | Q(office_of_destination__in=codes)
            | Q(itinerary__overlap=codes)
        )
        .select_related("company")
        .annotate(alert_count=Count("movement_alerts"))
        .order_by("-updated_at", "-pk")
    )


def get_movement_for_user(*, user, pk) -> Declaration:
    """One movement the user's offices follow, or 404."""
    return get_object_or_404(movement_list(user=user), pk=pk)


def movement_alerts(*, movement: Declaration) -> list[MovementAlert]:
    return list(movement.movement_alerts.select_related("event").order_by("raised_at", "pk"))


def movement_track(*, movement: Declaration, limit: int) -> list[DeviceEvent]:
    """The movement's events in device time, the latest `limit`."""
    latest = (
        DeviceEvent.objects.filter(movement=movement)
        .select_related("device")
        .order_by("-recorded_at", "-pk")[:limit]
    )
    return list(reversed(latest))


def movement_event_count(*, movement: Declaration) -> int:
    return DeviceEvent.objects.filter(movement=movement).count()


def movement_profile(*, movement: Declaration) -> MonitoringProfile | None:
    return MonitoringProfile.objects.filter(movement=movement).select_related("set_by").first()


def movement_map(*, movement: Declaration, alerts: list[MovementAlert]) -> dict:
    """What the map draws, as plain data for the page's json_script: the offices by
    role, the route through them and the positions reported, oldest first."""
    roles = [("departure", movement.office_of_departure)]
    roles += [("itinerary", code) for code in movement.itinerary]
    roles += [("destination", movement.office_of_destination)]
    offices = {
        office.code: office
        for office in Office.objects.filter(
            code__in=[code for _, code in roles], latitude__isnull=False
        )
    }
    stops = [
        {
            "code": code,
            "name": offices[code].name,
            "role": role,
            "lat": float(offices[code].latitude),
            "lon": float(offices[code].longitude),
        }
        for role, code in roles
        if code in offices
    ]
    alerted = {alert.event_id: alert.get_kind_display() for alert in alerts}
    positions = (
        DeviceEvent.objects.filter(movement=movement, latitude__isnull=False)
        .order_by("-recorded_at", "-pk")
        .values_list("pk", "recorded_at", "latitude", "longitude", "seal_status", "temperature")[
            :MAP_EVENTS
        ]
    )
    points = [
        {
            "lat": lat,
            "lon": lon,
            "at": at.isoformat(),
            "status": status,
            "temperature": temperature,
            "alert": alerted.get(pk, ""),
        }
        for pk, at, lat, lon, status, temperature in reversed(positions)
    ]
    return {"offices": stops, "route": [[s["lat"], s["lon"]] for s in stops], "points": points}

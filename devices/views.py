"""Customs officers' pages of the sealed transit movements: the list their offices
follow, and each movement's track on a map, its timeline of events and alerts,
and how closely it is watched. Traders never reach them (404)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.pages import run_service
from devices.forms import MonitoringForm
from devices.selectors import (
    TIMELINE_EVENTS,
    get_movement_for_user,
    movement_alerts,
    movement_event_count,
    movement_list,
    movement_map,
    movement_profile,
    movement_track,
)
from devices.services import default_limits, may_monitor, monitoring_profile_set

MOVEMENTS_LISTED = 200


@login_required
def movements_page(request):
    user = request.user
    if not (user.is_agency_staff and user.agency.is_customs):
        raise Http404
    movements = list(movement_list(user=user)[:MOVEMENTS_LISTED])
    return render(request, "devices/movements.html", {"movements": movements})


def _timeline(track, alerts) -> list[dict]:
    """Events in device time, each followed by the alerts it raised."""
    raised: dict[int, list] = {}
    for alert in alerts:
        raised.setdefault(alert.event_id, []).append(alert)
    return [{"event": event, "alerts": raised.get(event.pk, [])} for event in track]


@login_required
def movement_page(request, pk: int):
    movement = get_movement_for_user(user=request.user, pk=pk)
    alerts = movement_alerts(movement=movement)
    track = movement_track(movement=movement, limit=TIMELINE_EVENTS)
    profile = movement_profile(movement=movement)
    limits = default_limits()
    initial = {
        "corridor_km": profile.corridor_km if profile else limits.corridor_km,
        "max_stop_minutes": profile.max_stop_minutes if profile else limits.max_stop_minutes,
        "temperature_min": profile.temperature_min if profile else None,
        "temperature_max": profile.temperature_max if profile else None,
    }
    context = {
        "movement": movement,
        "alerts": alerts,
        "timeline": _timeline(track, alerts),
        "event_count": movement_event_count(movement=movement),
        "timeline_limit": TIMELINE_EVENTS,
        "profile": profile,
        "limits": limits,
        "map": movement_map(movement=movement, alerts=alerts),
        "can_monitor": may_monitor(request.user, movement)
        and movement.status != movement.Status.DISCHARGED,
        "monitoring_form": MonitoringForm(initial=initial),
    }
    return render(request, "devices/movement.html", context)


@login_required
@require_POST
def movement_monitoring_page(request, pk: int):
    movement = get_movement_for_user(user=request.user, pk=pk)
    form = MonitoringForm(request.POST)
    if form.is_valid():
        run_service(
            request,
            lambda: monitoring_profile_set(
                movement_id=movement.pk, actor=request.user, **form.cleaned_data
            ),
            "Monitoring set: it applies to what the devices report from now on.",
        )
    else:
        for field, errors in form.errors.items():
            messages.error(request, f"{field.replace('_', ' ')}: {' '.join(errors)}")
    return redirect("devices:movement", pk=movement.pk)

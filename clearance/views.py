"""Pages of the transit movements an office works: departures to release under
seal, arrivals expected, arrived movements to control and discharge."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from clearance import forms
from clearance.selectors import get_movement_for_user, movements_at_office, posted_offices
from clearance.services import release_blockers
from clearance.transit import (
    discharge_blockers,
    transit_arrival_record,
    transit_control_record,
    transit_discharge,
    transit_discrepancies_resolve,
    transit_release_under_seal,
)
from core.exceptions import ApplicationError
from guarantees.selectors import is_customs_staff
from reference.models import Office


def _require_customs_staff(user) -> None:
    if not is_customs_staff(user):
        raise Http404


@login_required
def movements_page(request):
    _require_customs_staff(request.user)
    offices = posted_offices(request.user)
    office = request.GET.get("office") or (offices[0] if offices else "")
    context = {"offices": Office.objects.filter(code__in=offices), "office": office}
    if offices:
        movements = movements_at_office(user=request.user, office=office)
        for movement in movements.arrived:
            movement.findings = movement.transit_arrival.findings(movement)
            movement.discharge_blockers = discharge_blockers(movement, movement.transit_arrival)
        context["movements"] = movements
        context["office_name"] = next(
            (o.name for o in context["offices"] if o.code == office), office
        )
        context["release_form"] = forms.ReleaseUnderSealForm()
    return render(request, "clearance/movements.html", context)


@login_required
def movement_page(request, pk: int):
    _require_customs_staff(request.user)
    movement = get_movement_for_user(user=request.user, pk=pk)
    offices = posted_offices(request.user)
    arrival = getattr(movement, "transit_arrival", None)
    status = movement.Status
    at_departure = movement.office_of_departure in offices
    at_destination = movement.office_of_destination in offices
    releasable = at_departure and movement.may_become(status.RELEASED)
    arrived = movement.status == status.ARRIVED
    context = {
        "movement": movement,
        "arrival": arrival,
        "findings": arrival.findings(movement) if arrival else [],
        "draw": getattr(movement, "guarantee_draw", None),
        "release_blockers": release_blockers(movement) if releasable else [],
        "discharge_blockers": discharge_blockers(movement, arrival) if arrived else [],
        "can_release": releasable,
        "can_record_arrival": at_destination and movement.status == status.RELEASED,
        "can_control": at_destination and arrived and arrival and not arrival.control_result,
        "can_resolve": (
            at_destination
            and arrived
            and request.user.role == "supervisor"
            and arrival
            and arrival.findings(movement)
            and not arrival.is_resolved
        ),
        "can_discharge": at_destination and arrived,
        "release_form": forms.ReleaseUnderSealForm(),
        "arrival_form": forms.ArrivalForm(initial={"seal_numbers_found": movement.seal_numbers}),
        "control_form": forms.ControlForm(),
        "reason_form": forms.ReasonForm(),
    }
    return render(request, "clearance/movement.html", context)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ApplicationError):
        return exc.message
    if isinstance(exc, ValidationError):
        return " ".join(
            f"{field.replace('_', ' ')}: {' '.join(errors)}"
            for field, errors in exc.message_dict.items()
        )
    return "You are not allowed to do this."


def movement_action(form_class=None):
    """A POST action on a movement: 404 outside its offices, the service's refusal shown
    as a message; back to the page it came from (`next`) or the movement's."""

    def decorate(action):
        @login_required
        @require_POST
        @wraps(action)
        def view(request, pk: int):
            _require_customs_staff(request.user)
            movement = get_movement_for_user(user=request.user, pk=pk)
            target = request.POST.get("next", "")
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = ""
            back = redirect(target) if target else redirect("clearance:movement", pk=pk)
            data = {}
            if form_class is not None:
                form = form_class(request.POST)
                if not form.is_valid():
                    messages.error(
                        request,
                        "; ".join(
                            f"{form.fields[name].label or name}: {' '.join(errors)}"
                            if name in form.fields
                            else " ".join(errors)
                            for name, errors in form.errors.items()
                        ),
                    )
                    return back
                data = form.cleaned_data
            try:
                text = action(request, movement, **data)
            except PermissionDenied:
                raise Http404 from None
            except (ApplicationError, ValidationError) as exc:
                messages.error(request, f"{movement.reference}: {_error_text(exc)}")
            else:
                messages.success(request, f"{movement.reference}: {text}")
            return back

        return view

    return decorate


@movement_action(forms.ReleaseUnderSealForm)
def movement_release_page(request, movement, seal_numbers):
    released = transit_release_under_seal(
        declaration_id=movement.pk, actor=request.user, seal_numbers=seal_numbers
    )
    return f"released under seal; due at {released.office_of_destination}."


@movement_action(forms.ArrivalForm)
def movement_arrival_page(request, movement, **data):
    transit_arrival_record(declaration_id=movement.pk, actor=request.user, **data)
    return "arrival recorded."


@movement_action(forms.ControlForm)
def movement_control_page(request, movement, result, notes):
    transit_control_record(
        declaration_id=movement.pk, actor=request.user, result=result, notes=notes
    )
    return "control recorded."


@movement_action(forms.ReasonForm)
def movement_resolve_page(request, movement, reason):
    transit_discrepancies_resolve(declaration_id=movement.pk, actor=request.user, reason=reason)
    return "discrepancies resolved; the movement may be discharged."


@movement_action()
def movement_discharge_page(request, movement):
    transit_discharge(declaration_id=movement.pk, actor=request.user)
    return "discharged; the guarantee is released."

"""The continuity desk's pages: offices closed and their work diverted, the risk engine's
planned outages and re-scoring, and the surge health page (live, by htmx polling)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from clearance.continuity import declarations_divert, lane_decisions_rescore_request
from continuity import forms
from continuity.selectors import (
    ensure_admin,
    ensure_sees_health,
    get_office_for_user,
    get_rescore_job,
    office_desk,
    office_overview,
    planned_fallback_history,
    surge_health,
)
from core.pages import run_service
from reference.services import office_close, office_reopen
from risk.models import PlannedFallback
from risk.selectors import scoring_state
from risk.services import (
    planned_fallback_approve,
    planned_fallback_propose,
    planned_fallback_refuse,
    planned_fallback_switch_off,
)

# How often the live parts poll, in seconds.
HEALTH_POLL_SECONDS = 5
JOB_POLL_SECONDS = 2


@login_required
def home_page(request):
    """Administrators: every office, open or closed, with the work waiting there, and
    how scoring runs. A customs supervisor: the offices they oversee."""
    offices = office_overview(user=request.user)
    scoring = scoring_state(with_rescores=True) if request.user.is_platform_admin else None
    return render(request, "continuity/home.html", {"offices": offices, "scoring": scoring})


def _office_context(request, office, **forms_):
    desk = office_desk(user=request.user, office=office)
    return {
        "desk": desk,
        "close_form": forms_.get("close_form") or forms.OfficeCloseForm(prefix="close"),
        "reopen_form": forms_.get("reopen_form") or forms.ReasonForm(prefix="reopen"),
        "divert_form": forms_.get("divert_form")
        or forms.DivertForm(targets=desk.targets, waiting=desk.waiting),
    }


@login_required
def office_page(request, code: str):
    office = get_office_for_user(user=request.user, code=code)
    return render(request, "continuity/office.html", _office_context(request, office))


@login_required
@require_POST
def office_close_page(request, code: str):
    ensure_admin(request.user)
    office = get_office_for_user(user=request.user, code=code)
    form = forms.OfficeCloseForm(request.POST, prefix="close")
    if form.is_valid():
        done = run_service(
            request,
            lambda: office_close(office_code=office.code, actor=request.user, **form.cleaned_data),
            f"{office.code} is closed.",
        )
        if done:
            return redirect("continuity:office", code=office.code)
    return render(
        request, "continuity/office.html", _office_context(request, office, close_form=form)
    )


@login_required
@require_POST
def office_reopen_page(request, code: str):
    ensure_admin(request.user)
    office = get_office_for_user(user=request.user, code=code)
    form = forms.ReasonForm(request.POST, prefix="reopen")
    if form.is_valid():
        done = run_service(
            request,
            lambda: office_reopen(
                office_code=office.code, actor=request.user, reason=form.cleaned_data["reason"]
            ),
            f"{office.code} is open again.",
        )
        if done:
            return redirect("continuity:office", code=office.code)
    return render(
        request, "continuity/office.html", _office_context(request, office, reopen_form=form)
    )


@login_required
@require_POST
def office_divert_page(request, code: str):
    """Divert the ticked declarations, or all of them, to the office chosen."""
    office = get_office_for_user(user=request.user, code=code)
    desk = office_desk(user=request.user, office=office)
    form = forms.DivertForm(request.POST, targets=desk.targets, waiting=desk.waiting)
    if form.is_valid():
        data = form.cleaned_data
        chosen = None if data["scope"] == "all" else data["declarations"]
        diversions = run_service(
            request,
            lambda: declarations_divert(
                office_code=office.code,
                to_office=data["to_office"],
                reason=data["reason"],
                actor=request.user,
                declaration_ids=chosen,
            ),
            "",
        )
        if diversions:
            messages.success(
                request,
                f"{len(diversions)} declaration{'s' if len(diversions) != 1 else ''} diverted "
                f"to {data['to_office']}.",
            )
            return redirect("continuity:office", code=office.code)
    return render(
        request, "continuity/office.html", _office_context(request, office, divert_form=form)
    )


# ---- scoring -------------------------------------------------------------------------------


@login_required
def scoring_page(request):
    ensure_admin(request.user)
    return render(
        request,
        "continuity/scoring.html",
        {
            "scoring": scoring_state(with_rescores=True),
            "history": planned_fallback_history(),
            "fallback_form": forms.PlannedFallbackForm(),
            "refuse_form": forms.ReasonForm(),
            "off_form": forms.SwitchOffForm(),
            "job_poll": JOB_POLL_SECONDS,
        },
    )


@login_required
@require_POST
def fallback_propose_page(request):
    ensure_admin(request.user)
    form = forms.PlannedFallbackForm(request.POST)
    if form.is_valid():
        planned = run_service(
            request, lambda: planned_fallback_propose(actor=request.user, **form.cleaned_data), ""
        )
        if planned is not None:
            if planned.status == PlannedFallback.Status.ON:
                messages.success(request, "The planned fallback is on.")
            else:
                messages.success(
                    request, "Proposed: a second administrator switches it on by approving it."
                )
    else:
        _show_form_errors(request, form)
    return redirect("continuity:scoring")


def _show_form_errors(request, form) -> None:
    """A form posted from a page that redirects back: its errors as the page's messages,
    as run_service shows a service's."""
    for field, errors in form.errors.items():
        messages.error(request, f"{field.replace('_', ' ')}: {' '.join(errors)}")


@login_required
@require_POST
def fallback_approve_page(request, pk: int):
    ensure_admin(request.user)
    run_service(
        request,
        lambda: planned_fallback_approve(fallback_id=pk, actor=request.user),
        "The planned fallback is on.",
    )
    return redirect("continuity:scoring")


@login_required
@require_POST
def fallback_refuse_page(request, pk: int):
    ensure_admin(request.user)
    form = forms.ReasonForm(request.POST)
    if form.is_valid():
        run_service(
            request,
            lambda: planned_fallback_refuse(
                fallback_id=pk, actor=request.user, reason=form.cleaned_data["reason"]
            ),
            "Refused.",
        )
    else:
        _show_form_errors(request, form)
    return redirect("continuity:scoring")


@login_required
@require_POST
def fallback_off_page(request):
    ensure_admin(request.user)
    form = forms.SwitchOffForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    run_service(
        request,
        lambda: planned_fallback_switch_off(actor=request.user, note=note),
        "The planned fallback is off: the full engine scores again.",
    )
    return redirect("continuity:scoring")


@login_required
@require_POST
def rescore_page(request):
    ensure_admin(request.user)
    run_service(
        request,
        lambda: lane_decisions_rescore_request(actor=request.user),
        "Re-scoring queued: a worker scores the fallback's decisions again.",
    )
    return redirect("continuity:scoring")


@login_required
def rescore_job_partial(request, pk: int):
    """One re-scoring job's progress and outcome; polled while it runs."""
    job = get_rescore_job(user=request.user, pk=pk)
    return render(
        request, "continuity/_rescore_job.html", {"job": job, "job_poll": JOB_POLL_SECONDS}
    )


# ---- surge health --------------------------------------------------------------------------


@login_required
def health_page(request):
    ensure_sees_health(request.user)
    return render(
        request,
        "continuity/health.html",
        {"health": surge_health(user=request.user), "poll": HEALTH_POLL_SECONDS},
    )


@login_required
def health_panel_partial(request):
    """The figures alone, which the page polls (htmx) instead of reloading."""
    ensure_sees_health(request.user)
    return render(
        request,
        "continuity/_health_panel.html",
        {"health": surge_health(user=request.user), "poll": HEALTH_POLL_SECONDS},
    )

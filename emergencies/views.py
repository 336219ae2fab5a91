from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.exceptions import ApplicationError
from core.pages import form_add_service_errors, form_errors, run_service
from emergencies import forms, reconciliation
from emergencies.models import EmergencyProposal, HumanitarianConsignee
from emergencies.selectors import (
    consignee_list,
    consignment_rows,
    emergency_list,
    get_consignee,
    get_emergency,
    get_emergency_proposal,
    get_report_scope,
    may_read_reports,
    release_times,
    report_emergency_list,
    report_summary,
)
from emergencies.services import (
    consignee_decide,
    consignee_register,
    emergency_declare_propose,
    emergency_end_propose,
    emergency_extend_propose,
    emergency_proposal_approve,
    emergency_proposal_refuse,
)


def _require_admin(user) -> None:
    if not user.is_platform_admin:
        raise Http404


def _form_service(form, action):
    """Run a service with a form's data; its refusal goes on the form, each error on
    the field it names. Returns what the service returned, None when refused."""
    try:
        return action()
    except ValidationError as exc:
        form_add_service_errors(form, exc)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
    except PermissionDenied:
        raise Http404 from None
    return None


@login_required
def emergency_list_page(request):
    """Every emergency, declared or proposed, for administrators."""
    _require_admin(request.user)
    emergencies = emergency_list()
    context = {
        "emergencies": emergencies,
        "waiting": [e for e in emergencies if _pending(e)],
    }
    return render(request, "emergencies/list.html", context)


def _pending(emergency) -> EmergencyProposal | None:
    """The emergency's proposal waiting for a second administrator (at most one);
    read from the prefetched proposals."""
    return next(
        (p for p in emergency.proposals.all() if p.status == EmergencyProposal.Status.PROPOSED),
        None,
    )


@login_required
def emergency_declare_page(request):
    _require_admin(request.user)
    form = forms.EmergencyDeclareForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        proposal = _form_service(
            form, lambda: emergency_declare_propose(actor=request.user, **form.cleaned_data)
        )
        if proposal is not None:
            messages.success(
                request,
                f"Emergency {proposal.emergency.name} proposed; it is in force once another "
                "administrator approves it.",
            )
            return redirect("emergencies:detail", pk=proposal.emergency_id)
    return render(request, "emergencies/declare.html", {"form": form})


@login_required
def emergency_page(request, pk: int):
    emergency = get_emergency(user=request.user, pk=pk)
    context = {
        "emergency": emergency,
        "pending": _pending(emergency),
        "extend_form": forms.EmergencyExtendForm(initial={"ends_at": emergency.ends_at}),
        "reason_form": forms.ReasonForm(),
    }
    return render(request, "emergencies/detail.html", context)


@login_required
@require_POST
def emergency_extend_page(request, pk: int):
    emergency = get_emergency(user=request.user, pk=pk)
    form = forms.EmergencyExtendForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
    else:
        run_service(
            request,
            lambda: emergency_extend_propose(
                actor=request.user, emergency_id=emergency.pk, **form.cleaned_data
            ),
            "Extension proposed; it applies once another administrator approves it.",
        )
    return redirect("emergencies:detail", pk=pk)


@login_required
@require_POST
def emergency_end_page(request, pk: int):
    emergency = get_emergency(user=request.user, pk=pk)
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "reason: Say why the emergency ends.")
    else:
        run_service(
            request,
            lambda: emergency_end_propose(
                actor=request.user, emergency_id=emergency.pk, **form.cleaned_data
            ),
            "End proposed; the emergency ends once another administrator approves it.",
        )
    return redirect("emergencies:detail", pk=pk)


@login_required
@require_POST
def emergency_proposal_approve_page(request, pk: int):
    proposal = get_emergency_proposal(user=request.user, pk=pk)
    run_service(
        request,
        lambda: emergency_proposal_approve(proposal_id=proposal.pk, actor=request.user),
        f"{proposal.get_kind_display()} {proposal.emergency.name}: approved.",
    )
    return redirect("emergencies:detail", pk=proposal.emergency_id)


@login_required
@require_POST
def emergency_proposal_refuse_page(request, pk: int):
    """Refuse another administrator's proposal, or withdraw one's own."""
    proposal = get_emergency_proposal(user=request.user, pk=pk)
    form = forms.ReasonForm(request.POST)
    withdrawn = proposal.proposed_by_id == request.user.pk
    if not form.is_valid():
        messages.error(request, "reason: Say why.")
    else:
        run_service(
            request,
            lambda: emergency_proposal_refuse(
                proposal_id=proposal.pk, actor=request.user, **form.cleaned_data
            ),
            f"{proposal.get_kind_display()} {proposal.emergency.name}: "
            f"{'withdrawn' if withdrawn else 'refused'}.",
        )
    return redirect("emergencies:detail", pk=proposal.emergency_id)


# ---- Humanitarian consignees -----------------------------------------------------------------


def _require_admin_or_trader(user) -> None:
    if not (user.is_platform_admin or user.is_trader):
        raise Http404


@login_required
def consignee_list_page(request):
    """Humanitarian consignees: the registry for administrators, a trader's own
    registration (and the form to ask for it)."""
    _require_admin_or_trader(request.user)
    consignees = list(consignee_list(user=request.user))
    admin = request.user.is_platform_admin
    context = {
        "consignees": consignees,
        # A company registers once.
        "register_form": (
            forms.ConsigneeRegisterForm(for_admin=admin) if admin or not consignees else None
        ),
        "statuses": HumanitarianConsignee.Status,
    }
    return render(request, "emergencies/consignees.html", context)


@login_required
def consignee_register_page(request):
    _require_admin_or_trader(request.user)
    admin = request.user.is_platform_admin
    form = forms.ConsigneeRegisterForm(request.POST or None, for_admin=admin)
    if request.method == "POST" and form.is_valid():
        consignee = _form_service(
            form, lambda: consignee_register(actor=request.user, **form.cleaned_data)
        )
        if consignee is not None:
            messages.success(
                request,
                f"{consignee.company.name}: registration asked for; an administrator "
                f"{'other than you ' if admin else ''}approves it.",
            )
            return redirect("emergencies:consignees")
    return render(request, "emergencies/consignee_register.html", {"form": form})


@login_required
@require_POST
def consignee_decide_page(request, pk: int):
    _require_admin(request.user)
    consignee = get_consignee(user=request.user, pk=pk)
    form = forms.ConsigneeDecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
    else:
        status = form.cleaned_data["status"]
        run_service(
            request,
            lambda: consignee_decide(
                actor=request.user, consignee_id=consignee.pk, **form.cleaned_data
            ),
            f"{consignee.company.name}: {HumanitarianConsignee.Status(status).label.lower()}.",
        )
    return redirect("emergencies:consignees")


# ---- reconciliation report ----


def _report(request, pk: int):
    scope = get_report_scope(user=request.user, pk=pk)
    return scope, report_summary(scope), release_times(scope)


@login_required
def report_list_page(request):
    """The emergencies whose reconciliation report the user may read."""
    if not may_read_reports(request.user):
        raise Http404
    return render(
        request, "emergencies/reports.html", {"scopes": report_emergency_list(user=request.user)}
    )


REPORT_PAGE_SIZE = 100


@login_required
def report_page(request, pk: int):
    scope, summary, times = _report(request, pk)
    # The summary has counted the consignments: no second count for the pages.
    page = Paginator(range(summary.lodged), REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    rows, tracked = consignment_rows(
        scope, page=slice(max(page.start_index() - 1, 0), page.end_index())
    )
    headers, cells = reconciliation.table(rows, documents_tracked=tracked)
    return render(
        request,
        "emergencies/report.html",
        {
            "scope": scope,
            "emergency": scope.emergency,
            "summary": summary,
            "time_table": reconciliation.time_table(times),
            "headers": headers,
            "lines": [(row.declaration, line) for row, line in zip(rows, cells, strict=True)],
            "page": page,
            "link_declarations": request.user.is_platform_admin,
            "currency": settings.NATIONAL_CURRENCY,
            **reconciliation.charts(summary, times),
        },
    )


def _filename(scope, extension: str) -> str:
    return f"emergency-{scope.emergency.pk}-reconciliation.{extension}"


@login_required
def report_csv(request, pk: int):
    scope = get_report_scope(user=request.user, pk=pk)
    rows, tracked = consignment_rows(scope)
    response = HttpResponse(
        reconciliation.report_csv(rows, documents_tracked=tracked),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(scope, "csv")}"'
    return response


@login_required
def report_pdf(request, pk: int):
    scope, summary, times = _report(request, pk)
    rows, tracked = consignment_rows(scope)
    pdf = reconciliation.report_pdf(scope, summary, times, rows, documents_tracked=tracked)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename(scope, "pdf")}"'
    return response

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render

from emergencies import reconciliation
from emergencies.selectors import (
    consignee_list,
    consignment_rows,
    emergency_list,
    get_emergency,
    get_report_scope,
    may_read_reports,
    release_times,
    report_emergency_list,
    report_summary,
)


@login_required
def emergency_list_page(request):
    """Every emergency, declared or proposed, for administrators."""
    if not request.user.is_platform_admin:
        raise Http404
    return render(request, "emergencies/list.html", {"emergencies": emergency_list()})


@login_required
def emergency_page(request, pk: int):
    emergency = get_emergency(user=request.user, pk=pk)
    return render(request, "emergencies/detail.html", {"emergency": emergency})


@login_required
def consignee_list_page(request):
    """Humanitarian consignees: the registry for administrators, a trader's own registration."""
    if not (request.user.is_platform_admin or request.user.is_trader):
        raise Http404
    consignees = consignee_list(user=request.user)
    return render(request, "emergencies/consignees.html", {"consignees": consignees})


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

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.pages import form_errors, run_service, spreadsheet_safe
from core.pagination import COUNT_CAP, CappedPaginator
from emergencies.models import Emergency
from supplies import forms
from supplies.charts import needs_progress_chart
from supplies.models import PreNotification
from supplies.selectors import (
    files_prenotifications,
    get_emergency_for_supplies,
    get_need_for_admin,
    get_pledge_for_admin,
    get_prenotification_for_user,
    incoming_prenotifications,
    may_cancel_prenotification,
    prenotification_differences_for,
    prenotification_events,
    review_of_staff,
    sees_differences,
    supplies_register,
    supply_emergencies,
)
from supplies.services import (
    prenotification_cancel,
    prenotification_file,
    supply_need_add,
    supply_need_change,
    supply_need_remove,
    supply_pledge_record,
    supply_pledge_set_status,
)


def _may_list(user) -> bool:
    return user.is_platform_admin or user.is_trader or user.is_agency_staff


@login_required
def prenotification_list_page(request):
    """What is announced: for officers the consignments coming to their office(s),
    soonest first; for traders their organisation's; for administrators all."""
    user = request.user
    if not _may_list(user):
        raise Http404
    status = request.GET.get("status", "notified")
    offices = user.office_codes if user.is_agency_staff else []
    office = request.GET.get("office", "")
    office = office if office in offices else ""
    prenotifications = incoming_prenotifications(user=user, status=status, office=office)
    page = CappedPaginator(prenotifications, 25).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status if status in PreNotification.Status.values else "all",
        "statuses": PreNotification.Status.choices,
        "office": office,
        "offices": offices if len(offices) > 1 else [],
        "query": "&".join(f"{k}={v}" for k, v in (("status", status), ("office", office)) if v),
        "count_cap": COUNT_CAP,
        "may_file": files_prenotifications(user),
        "registers": supply_emergencies(user=user).filter(status=Emergency.Status.ACTIVE),
    }
    return render(request, "supplies/prenotification_list.html", context)


def _add_errors(form, formset, exc: ValidationError) -> None:
    """A service's field errors, on the form field or goods line they name."""
    for name, errors in exc.message_dict.items():
        if name.startswith("lines[") and "]." in name:
            index, field = name[len("lines[") :].split("].", 1)
            line_forms = [f for f in formset.forms if f.has_changed()]
            line = line_forms[int(index)] if int(index) < len(line_forms) else None
            if line is not None and field in line.fields:
                for error in errors:
                    line.add_error(field, error)
                continue
        target = {"office_code": "office", "emergency_id": "emergency"}.get(name, name)
        for error in errors:
            form.add_error(target if target in form.fields else None, error)


@login_required
def prenotification_file_page(request):
    if not files_prenotifications(request.user):
        raise Http404
    form = forms.PreNotificationForm(request.POST or None, user=request.user)
    formset = forms.LineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = dict(form.cleaned_data)
        lines = [f.cleaned_data for f in formset.forms if f.has_changed() and f.cleaned_data]
        try:
            prenotification = prenotification_file(
                actor=request.user,
                emergency_id=data.pop("emergency"),
                consignee_tax_id=data.pop("consignee_tax_id"),
                office_code=data.pop("office"),
                lines=lines,
                **data,
            )
        except ValidationError as exc:
            _add_errors(form, formset, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(
                request,
                f"{prenotification.reference} filed: the office of entry and the agencies "
                "concerned see it coming.",
            )
            return redirect("supplies:prenotification", pk=prenotification.pk)
    return render(request, "supplies/prenotification_form.html", {"form": form, "formset": formset})


@login_required
def prenotification_page(request, pk: int):
    user = request.user
    prenotification = get_prenotification_for_user(user=user, pk=pk)
    declaration = prenotification.declaration
    differences = prenotification_differences_for(user=user, prenotification=prenotification)
    context = {
        "p": prenotification,
        "lines": prenotification.lines.all(),
        "differences": differences,
        "sees_differences": sees_differences(user),
        "events": prenotification_events(prenotification),
        "may_cancel": prenotification.may_become(PreNotification.Status.CANCELLED)
        and may_cancel_prenotification(user, prenotification),
        "declarant": declaration is not None
        and user.is_trader
        and declaration.company_id == user.company_id,
        "review_id": review_of_staff(user=user, declaration_id=prenotification.declaration_id),
        "reason_form": forms.ReasonForm(),
    }
    return render(request, "supplies/prenotification.html", context)


@login_required
@require_POST
def prenotification_cancel_page(request, pk: int):
    prenotification = get_prenotification_for_user(user=request.user, pk=pk)
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the pre-notification is cancelled.")
    else:
        run_service(
            request,
            lambda: prenotification_cancel(
                actor=request.user,
                prenotification_id=prenotification.pk,
                reason=form.cleaned_data["reason"],
            ),
            f"{prenotification.reference} cancelled.",
        )
    return redirect("supplies:prenotification", pk=pk)


# ---- Critical supplies register ------------------------------------------------------------


@login_required
def supplies_page(request, pk: int):
    emergency = get_emergency_for_supplies(user=request.user, pk=pk)
    register = supplies_register(emergency=emergency)
    admin = request.user.is_platform_admin
    context = {
        "emergency": emergency,
        "register": register,
        "chart": needs_progress_chart(
            register.needs, title=f"{emergency.name}: critical supplies received against target"
        )
        if register.needs
        else "",
        "admin": admin,
        "need_form": forms.NeedForm() if admin else None,
        "pledge_form": forms.PledgeForm(needs=[p.need for p in register.needs]) if admin else None,
        "reason_form": forms.ReasonForm(),
        "status_form": forms.PledgeStatusForm(),
    }
    return render(request, "supplies/register.html", context)


CSV_COLUMNS = [
    "need",
    "hs_prefix",
    "unit",
    "target_quantity",
    "received_quantity",
    "percent_of_target",
    "pledged_quantity",
    "breakdown",
    "origin_country",
    "consignee",
    "consignee_tax_id",
    "quantity",
    "consignments",
    "last_released_at",
]


@login_required
def supplies_csv(request, pk: int):
    """The register as CSV: one row per need (breakdown `total`), then one per origin and
    one per consignee of what it received; goods no need covers come last."""
    emergency = get_emergency_for_supplies(user=request.user, pk=pk)
    register = supplies_register(emergency=emergency)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="critical-supplies-{emergency.pk}-{stamp}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)

    def when(value):
        return timezone.localtime(value).isoformat() if value else ""

    for progress in register.needs:
        need = progress.need
        head = [need.label, need.hs_prefix, need.unit, need.target_quantity]
        totals = [progress.received, progress.percent, progress.pledged]
        writer.writerow(
            [*head, *totals, "total", "", "", "", progress.received, progress.consignments,
             when(progress.last_released_at)]
        )  # fmt: skip
        for row in progress.by_origin:
            writer.writerow(
                [*head, *totals, "origin", row["country"], "", "", row["quantity"],
                 row["consignments"], when(row["last_released_at"])]
            )  # fmt: skip
        for row in progress.by_consignee:
            writer.writerow(
                [*head, *totals, "consignee", "", spreadsheet_safe(row["name"]), row["tax_id"],
                 row["quantity"], row["consignments"], when(row["last_released_at"])]
            )  # fmt: skip
    for row in register.other_goods:
        writer.writerow(
            ["(no need)", row["hs_code"], row["unit"], "", row["quantity"], "", "", "other", "",
             "", "", row["quantity"], row["consignments"], when(row["last_released_at"])]
        )  # fmt: skip
    return response


def _ensure_admin(user) -> None:
    if not user.is_platform_admin:
        raise Http404


@login_required
@require_POST
def need_add_page(request, pk: int):
    _ensure_admin(request.user)
    emergency = get_emergency_for_supplies(user=request.user, pk=pk)
    form = forms.NeedForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
    else:
        run_service(
            request,
            lambda: supply_need_add(
                actor=request.user, emergency_id=emergency.pk, **form.cleaned_data
            ),
            f"Need added: {form.cleaned_data['label']}.",
        )
    return redirect("supplies:register", pk=emergency.pk)


@login_required
@require_POST
def need_change_page(request, pk: int):
    need = get_need_for_admin(user=request.user, pk=pk)
    form = forms.NeedChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
    else:
        run_service(
            request,
            lambda: supply_need_change(actor=request.user, need_id=need.pk, **form.cleaned_data),
            f"Need changed: {form.cleaned_data['label']}.",
        )
    return redirect("supplies:register", pk=need.emergency_id)


@login_required
@require_POST
def need_remove_page(request, pk: int):
    need = get_need_for_admin(user=request.user, pk=pk)
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the need is removed.")
    else:
        run_service(
            request,
            lambda: supply_need_remove(
                actor=request.user, need_id=need.pk, reason=form.cleaned_data["reason"]
            ),
            f"Need removed: {need.label}.",
        )
    return redirect("supplies:register", pk=need.emergency_id)


@login_required
@require_POST
def pledge_add_page(request, pk: int):
    _ensure_admin(request.user)
    emergency = get_emergency_for_supplies(user=request.user, pk=pk)
    needs = list(emergency.supply_needs.filter(active=True))
    form = forms.PledgeForm(request.POST, needs=needs)
    if not form.is_valid():
        messages.error(request, form_errors(form))
    else:
        data = dict(form.cleaned_data)
        run_service(
            request,
            lambda: supply_pledge_record(actor=request.user, need_id=data.pop("need"), **data),
            f"Pledge of {form.cleaned_data['partner_administration']} recorded.",
        )
    return redirect("supplies:register", pk=emergency.pk)


@login_required
@require_POST
def pledge_status_page(request, pk: int):
    pledge = get_pledge_for_admin(user=request.user, pk=pk)
    form = forms.PledgeStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
    else:
        status = form.cleaned_data["status"]
        run_service(
            request,
            lambda: supply_pledge_set_status(
                actor=request.user, pledge_id=pledge.pk, status=status
            ),
            f"Pledge of {pledge.partner_administration}: {status}.",
        )
    return redirect("supplies:register", pk=pledge.need.emergency_id)

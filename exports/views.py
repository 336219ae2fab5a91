from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render

from clearance.exports import declaration_exit_confirm
from core.exceptions import ApplicationError
from core.pages import form_add_service_errors
from core.pagination import CappedPaginator
from declarations.models import Declaration
from declarations.notices import office_label
from declarations.selectors import (
    exit_offices,
    export_exit_list,
    exports_awaiting_exit,
    get_export_for_exit,
    is_customs_staff,
)
from exports.forms import ExitConfirmForm, OfficeFilterForm

PAGE_SIZE = 50


def _require_customs_staff(user) -> None:
    """Customs officers and supervisors; a page of theirs is 404 to anyone else."""
    if not is_customs_staff(user):
        raise Http404


@login_required
def exit_list_page(request):
    """Exports released to leave by the officer's offices, overdue first, then the
    longest waiting; and the latest confirmed."""
    _require_customs_staff(request.user)
    offices = exit_offices(request.user)
    filters = OfficeFilterForm(request.GET or None, offices=offices)
    chosen = None
    if filters.is_valid() and filters.cleaned_data["office"]:
        chosen = [filters.cleaned_data["office"]]
    waiting = exports_awaiting_exit(user=request.user, offices=chosen)
    page = CappedPaginator(waiting, PAGE_SIZE).get_page(request.GET.get("page"))
    confirmed = (
        export_exit_list(user=request.user, offices=chosen)
        .filter(status=Declaration.Status.EXITED)
        .select_related("exit_confirmation__confirmed_by")
        .order_by("-exit_confirmation__confirmed_at")[:10]
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "exports/exit_list.html",
        {
            "offices": [office_label(code) for code in chosen or offices],
            "posted": bool(offices),
            "filters": filters if len(offices) > 1 else None,
            "page": page,
            "confirmed": confirmed,
            "query": urlencode(query, doseq=True),
        },
    )


@login_required
def exit_confirm_page(request, pk: int):
    """One export at the office of exit: what was declared, and the confirmation that it
    left (the form while it waits, the record once confirmed)."""
    _require_customs_staff(request.user)
    declaration = get_export_for_exit(user=request.user, pk=pk)
    form = ExitConfirmForm(request.POST or None, declaration=declaration)
    if request.method == "POST" and form.is_valid():
        try:
            declaration_exit_confirm(
                declaration_id=declaration.pk, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            # Shown on the field to correct, as the form's own errors are.
            form_add_service_errors(form, exc)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            declaration.refresh_from_db()
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, f"Exit of {declaration.reference} confirmed.")
            return redirect("exports:exit-list")
    return render(
        request,
        "exports/exit_confirm.html",
        {
            "declaration": declaration,
            "form": form if declaration.may_become(Declaration.Status.EXITED) else None,
            "office": office_label(declaration.office_of_exit),
            "confirmation": getattr(declaration, "exit_confirmation", None),
        },
    )

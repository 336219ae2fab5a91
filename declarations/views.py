import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.exceptions import ApplicationError
from declarations.forms import DeclarationForm, ItemFormSet
from declarations.selectors import declaration_list, get_declaration_for_user
from declarations.services import declaration_create, declaration_submit

ITEM_ERROR_KEY = re.compile(r"^items\[(\d+)\]\.(\w+)$")


def _require_trader(user) -> None:
    if not user.is_trader:
        raise Http404


def _require_trader_or_auditor(user) -> None:
    if not (user.is_trader or user.is_analyst or user.is_platform_admin):
        raise Http404


@login_required
def declaration_list_page(request):
    _require_trader_or_auditor(request.user)
    page = Paginator(declaration_list(user=request.user), 25).get_page(request.GET.get("page"))
    return render(request, "declarations/list.html", {"page": page})


def _attach_service_errors(exc: ValidationError, form, formset, kept_forms) -> None:
    for key, messages_ in exc.message_dict.items():
        match = ITEM_ERROR_KEY.match(key)
        for message in messages_:
            if match:
                index, field = int(match[1]), match[2]
                target = kept_forms[index]
                target.add_error(field if field in target.fields else None, message)
            elif key in form.fields:
                form.add_error(key, message)
            elif key == "items":
                formset._non_form_errors = formset.error_class([message])
            else:
                form.add_error(None, message)


@login_required
def declaration_create_page(request):
    _require_trader(request.user)
    if request.method == "POST":
        form = DeclarationForm(request.POST)
        formset = ItemFormSet(request.POST, prefix="items")
        if form.is_valid() and formset.is_valid():
            kept = [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
            items = [{k: v for k, v in f.cleaned_data.items() if k != "DELETE"} for f in kept]
            try:
                declaration = declaration_create(
                    actor=request.user, header=form.cleaned_data, items=items
                )
            except ValidationError as exc:
                _attach_service_errors(exc, form, formset, kept)
            else:
                if "submit" in request.POST:
                    declaration_submit(declaration=declaration, actor=request.user)
                    messages.success(request, f"{declaration.reference} submitted for clearance.")
                else:
                    messages.success(request, f"Draft {declaration.reference} saved.")
                return redirect("declarations:detail", pk=declaration.pk)
    else:
        form = DeclarationForm(initial={"country_of_destination": "KR", "currency": "USD"})
        formset = ItemFormSet(prefix="items")
    return render(request, "declarations/form.html", {"form": form, "formset": formset})


@login_required
def item_row_partial(request):
    """An empty item row for the declaration form (htmx: "Add item")."""
    _require_trader(request.user)
    try:
        index = int(request.GET.get("index", "0"))
    except ValueError:
        index = 0
    form = ItemFormSet(prefix="items").empty_form
    form.prefix = f"items-{index}"
    return render(request, "declarations/_item_row.html", {"item_form": form, "index": index})


@login_required
def declaration_detail_page(request, pk: int):
    declaration = get_declaration_for_user(user=request.user, pk=pk, with_details=True)
    template = "declarations/_status.html" if request.htmx else "declarations/detail.html"
    return render(request, template, {"declaration": declaration})


@login_required
@require_POST
def declaration_submit_page(request, pk: int):
    declaration = get_declaration_for_user(user=request.user, pk=pk)
    try:
        declaration_submit(declaration=declaration, actor=request.user)
    except (ApplicationError, PermissionDenied) as exc:
        messages.error(request, getattr(exc, "message", "You cannot submit this declaration."))
    else:
        messages.success(request, f"{declaration.reference} submitted for clearance.")
    return redirect("declarations:detail", pk=pk)

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from agencies.selectors import lane_reasons
from clearance.services import (
    declaration_amend,
    declaration_cancel,
    declaration_lodge,
    declaration_submit,
)
from core.exceptions import ApplicationError
from core.pages import run_service as _run
from core.pagination import COUNT_CAP, CappedPaginator
from declarations.apis import document_response
from declarations.filters import DeclarationFilter
from declarations.forms import DeclarationForm, DocumentForm, ItemFormSet, ReasonForm
from declarations.notices import next_step
from declarations.reading.comparison import input_comparison, invoice_comparison
from declarations.selectors import (
    declarant_history,
    declaration_list,
    get_declaration_for_user,
    get_document_for_user,
    latest_invoice_for_user,
    sees_targeting,
)
from declarations.services import (
    HEADER_FIELDS,
    declaration_create,
    declaration_items_input,
    declaration_preview,
    declaration_update,
    document_upload,
    payment_order_issue,
)
from emergencies.selectors import emergency_notices, relief_check

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
    filters = DeclarationFilter(request.GET or None, declaration_list(user=request.user))
    queryset = filters.qs if filters.is_bound and filters.is_valid() else filters.queryset
    page = CappedPaginator(queryset, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "declarations/list.html",
        {
            "page": page,
            "filters": filters,
            "query": urlencode(query, doseq=True),
            "count_cap": COUNT_CAP,
        },
    )


def _attach_service_errors(exc: ValidationError, form, formset, kept_forms) -> None:
    for key, messages_ in exc.message_dict.items():
        match = ITEM_ERROR_KEY.match(key)
        for message in messages_:
            if match and int(match[1]) < len(kept_forms):
                target, field = kept_forms[int(match[1])], match[2]
                target.add_error(field if field in target.fields else None, message)
            elif key in form.fields:
                form.add_error(key, message)
            elif key == "items":
                formset._non_form_errors = formset.error_class([message])
            else:
                form.add_error(None, f"{key}: {message}")


def _bound_input(request):
    """The form, the item formset, the kept item forms, and the service input if valid."""
    form = DeclarationForm(request.POST)
    formset = ItemFormSet(request.POST, prefix="items")
    if not (form.is_valid() and formset.is_valid()):
        return form, formset, [], None
    kept = [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
    items = [{k: v for k, v in f.cleaned_data.items() if k != "DELETE"} for f in kept]
    return form, formset, kept, (form.cleaned_data, items)


MODES = {
    "create": ("New declaration", "Save draft"),
    "edit": ("Edit draft", "Save draft"),
    "amend": ("Amend declaration", "Lodge amendment"),
}


def _declaration_form_page(request, *, mode: str, declaration=None):
    title, save_label = MODES[mode]
    if request.method == "POST":
        form, formset, kept, data = _bound_input(request)
        if data is not None:
            header, items = data
            try:
                lodge = "submit" in request.POST
                if mode == "create" and lodge:
                    # Lodged in one step: a refused lodgement leaves no draft
                    # behind to collide with the corrected one.
                    declaration = declaration_lodge(actor=request.user, header=header, items=items)
                elif mode == "create":
                    declaration = declaration_create(actor=request.user, header=header, items=items)
                elif mode == "edit":
                    declaration_update(
                        actor=request.user, declaration=declaration, header=header, items=items
                    )
                else:
                    declaration = declaration_amend(
                        actor=request.user,
                        declaration=declaration,
                        header=header,
                        items=items,
                        reason=request.POST.get("reason", ""),
                    )
                if mode == "edit" and lodge:
                    declaration_submit(declaration=declaration, actor=request.user)
                if mode != "amend" and lodge:
                    messages.success(request, f"{declaration.reference} submitted for clearance.")
                elif mode == "amend":
                    messages.success(request, f"{declaration.reference} lodged as an amendment.")
                else:
                    messages.success(request, f"Draft {declaration.reference} saved.")
                return redirect("declarations:detail", pk=declaration.pk)
            except ValidationError as exc:
                _attach_service_errors(exc, form, formset, kept)
            except ApplicationError as exc:
                messages.error(request, exc.message)
    elif declaration is not None:
        form = DeclarationForm(
            initial={field: getattr(declaration, field) for field in HEADER_FIELDS}
        )
        formset = ItemFormSet(prefix="items", initial=declaration_items_input(declaration))
    else:
        form = DeclarationForm(
            initial={"country_of_destination": "KR", "currency": "USD", "packages": 1}
        )
        formset = ItemFormSet(prefix="items")
    return render(
        request,
        "declarations/form.html",
        {
            "form": form,
            "formset": formset,
            "mode": mode,
            "title": title,
            "save_label": save_label,
            "declaration": declaration,
        },
    )


@login_required
def declaration_create_page(request):
    _require_trader(request.user)
    return _declaration_form_page(request, mode="create")


@login_required
def declaration_edit_page(request, pk: int):
    _require_trader(request.user)
    declaration = get_declaration_for_user(user=request.user, pk=pk)
    return _declaration_form_page(request, mode="edit", declaration=declaration)


@login_required
def declaration_amend_page(request, pk: int):
    _require_trader(request.user)
    declaration = get_declaration_for_user(user=request.user, pk=pk)
    return _declaration_form_page(request, mode="amend", declaration=declaration)


@login_required
@require_POST
def declaration_check_partial(request):
    """Live validation and duty preview of the declaration form (htmx)."""
    _require_trader(request.user)
    form, formset, _kept, data = _bound_input(request)
    problems, duties, invoice, relief = [], None, None, None
    if data is None:
        problems = [
            (f"id_{name}", f"{form.fields[name].label}: {e}" if name in form.fields else str(e))
            for name, errors in form.errors.items()
            for e in errors
        ] + [
            (f"id_items-{i}-{name}", f"Item {i + 1}, {f.fields[name].label}: {e}")
            for i, f in enumerate(formset.forms)
            for name, errors in f.errors.items()
            if name in f.fields
            for e in errors
        ]
    else:
        header, items = data
        pk = request.POST.get("declaration_pk")
        pk = int(pk) if pk and pk.isdigit() else None
        # The draft's invoice, to show where the form and it disagree (404 if not theirs).
        document = latest_invoice_for_user(user=request.user, declaration_pk=pk) if pk else None
        invoice = input_comparison(header=header, items=items, document=document)
        try:
            preview = declaration_preview(actor=request.user, header=header, items=items, pk=pk)
        except ValidationError as exc:
            for key, messages_ in exc.message_dict.items():
                match = ITEM_ERROR_KEY.match(key)
                anchor = f"id_items-{match[1]}-{match[2]}" if match else f"id_{key}"
                label = f"Item {int(match[1]) + 1}, {match[2]}" if match else key
                problems += [(anchor, f"{label.replace('_', ' ')}: {m}") for m in messages_]
        else:
            duties, relief = preview.duties, preview.relief
    return render(
        request,
        "declarations/_check.html",
        {"problems": problems, "duties": duties, "invoice": invoice, "relief": relief},
    )


@login_required
def item_row_partial(request):
    """An empty item row for the declaration form (htmx: "Add item")."""
    _require_trader(request.user)
    try:
        index = max(0, min(int(request.GET.get("index", "0")), 999))
    except ValueError:
        index = 0
    form = ItemFormSet(prefix="items").empty_form
    form.prefix = f"items-{index}"
    return render(request, "declarations/_item_row.html", {"item_form": form, "index": index})


@login_required
def declaration_detail_page(request, pk: int):
    declaration = get_declaration_for_user(user=request.user, pk=pk, with_details=True)
    if request.htmx and not declaration.awaits_lane:
        # The status card polls until the lane is set; what follows it (duties due at
        # once on a green lane, the reviews, the history) is the whole page's.
        return HttpResponseClientRefresh()
    template = "declarations/_status.html" if request.htmx else "declarations/detail.html"
    # Targeting is confidential: the page for the declarant gets none of it to print.
    official = sees_targeting(request.user)
    context = {
        "declaration": declaration,
        "next_step": next_step(declaration),
        "lane_decision": getattr(declaration, "lane_decision", None) if official else None,
        "lane_reasons": lane_reasons(declaration) if official else (),
        "history": declaration.events.all() if official else declarant_history(declaration),
        "official": official,
        # Prefetched with the documents and items: no query of its own.
        "invoice": invoice_comparison(declaration),
        "document_form": DocumentForm(declaration=declaration),
        "reason_form": ReasonForm(),
        "relief": _draft_relief(declaration, request.user),
    }
    return render(request, template, context)


def _draft_relief(declaration, user):
    """For a draft's declarant, while an emergency is in force: whether, lodged now, it
    would be a relief consignment (and why not)."""
    if not (user.is_trader and declaration.is_draft and emergency_notices()):
        return None
    return relief_check(declaration, list(declaration.items.all()))


@login_required
def invoice_check_partial(request, pk: int):
    """The declaration against its invoice; the panel polls this while a worker reads it."""
    declaration = get_declaration_for_user(user=request.user, pk=pk, with_details=True)
    context = {
        "declaration": declaration,
        "invoice": invoice_comparison(declaration),
        "official": sees_targeting(request.user),
    }
    return render(request, "declarations/_invoice_check.html", context)


@login_required
@require_POST
def declaration_submit_page(request, pk: int):
    declaration = get_declaration_for_user(user=request.user, pk=pk)
    _run(
        request,
        lambda: declaration_submit(declaration=declaration, actor=request.user),
        f"{declaration.reference} submitted for clearance.",
    )
    return redirect("declarations:detail", pk=pk)


@login_required
@require_POST
def declaration_cancel_page(request, pk: int):
    declaration = get_declaration_for_user(user=request.user, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the declaration is cancelled.")
    else:
        _run(
            request,
            lambda: declaration_cancel(
                actor=request.user, declaration=declaration, reason=form.cleaned_data["reason"]
            ),
            f"{declaration.reference} cancelled.",
        )
    return redirect("declarations:detail", pk=pk)


@login_required
@require_POST
def declaration_pay_page(request, pk: int):
    """Issue (or find) the payment order and send the payer to their bank with it; the
    bank confirms the payment to the platform and sends them back here."""
    declaration = get_declaration_for_user(user=request.user, pk=pk)
    issued = _run(
        request, lambda: payment_order_issue(declaration=declaration, actor=request.user), ""
    )
    if issued is None:
        return redirect("declarations:detail", pk=pk)
    payment, _ = issued
    return_url = request.build_absolute_uri(reverse("declarations:detail", args=[pk]))
    bank_url = payment.bank_url(return_url=return_url)
    if bank_url:
        return redirect(bank_url)
    messages.info(
        request,
        f"Pay {payment.amount:,.2f} {payment.currency} at a customs cashier, citing "
        f"payment order {payment.reference}.",
    )
    return redirect("declarations:detail", pk=pk)


@login_required
@require_POST
def document_upload_page(request, pk: int):
    declaration = get_declaration_for_user(user=request.user, pk=pk)
    form = DocumentForm(request.POST, request.FILES, declaration=declaration)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
    else:
        _run(
            request,
            lambda: document_upload(
                actor=request.user,
                declaration=declaration,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                item_line_no=form.cleaned_data["item"],
            ),
            f"{form.cleaned_data['file'].name} uploaded.",
        )
    if request.htmx:
        # htmx posted the file (to show progress): reload the page it came from.
        return HttpResponseClientRedirect(reverse("declarations:detail", args=[pk]))
    return redirect("declarations:detail", pk=pk)


@login_required
def document_download_page(request, pk: int, document_pk: int):
    document = get_document_for_user(user=request.user, declaration_pk=pk, pk=document_pk)
    return document_response(document)

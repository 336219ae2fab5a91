from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.exceptions import ApplicationError
from core.pages import form_add_service_errors, form_errors, run_service
from core.pagination import COUNT_CAP, CappedPaginator
from guarantees import forms
from guarantees.models import GuaranteeProposal
from guarantees.selectors import (
    ensure_keeps_registry,
    get_guarantee_for_user,
    get_guarantee_proposal_for_user,
    guarantee_list,
    guarantee_proposal_list,
    is_customs_staff,
)
from guarantees.services import (
    guarantee_proposal_approve,
    guarantee_proposal_refuse,
    guarantee_propose,
    guarantee_raise_propose,
)


@login_required
def guarantee_list_page(request):
    """A trader's guarantees with what their movements hold of them; for customs
    officers the registry, with the proposals waiting for a second supervisor."""
    if not is_customs_staff(request.user):
        guarantees = guarantee_list(user=request.user, with_draws=True)
        return render(request, "guarantees/trader_list.html", {"guarantees": guarantees})
    guarantees = guarantee_list(user=request.user)
    q = request.GET.get("q", "").strip()[:64]
    if q:
        guarantees = guarantees.filter(Q(reference__icontains=q) | Q(company__tax_id=q))
    page = CappedPaginator(guarantees.order_by("reference", "pk"), 25).get_page(
        request.GET.get("page")
    )
    waiting = guarantee_proposal_list(user=request.user).filter(
        status=GuaranteeProposal.Status.PROPOSED
    )
    context = {
        "page": page,
        "q": q,
        "query": f"q={q}" if q else "",
        "count_cap": COUNT_CAP,
        "waiting": waiting.order_by("proposed_at", "pk"),
        "reason_form": forms.ReasonForm(),
    }
    return render(request, "guarantees/registry.html", context)


@login_required
def guarantee_page(request, pk: int):
    guarantee = get_guarantee_for_user(user=request.user, pk=pk, with_details=True)
    customs = is_customs_staff(request.user)
    context = {
        "guarantee": guarantee,
        "customs": customs,
        "proposals": guarantee.proposals.all() if customs else (),
        "raise_form": forms.GuaranteeRaiseForm(),
        "reason_form": forms.ReasonForm(),
    }
    return render(request, "guarantees/detail.html", context)


@login_required
def guarantee_propose_page(request):
    ensure_keeps_registry(request.user)
    form = forms.GuaranteeProposeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            proposal = guarantee_propose(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"Guarantee {proposal.guarantee.reference} registered; it covers movements "
                "once another customs supervisor approves it.",
            )
            return redirect("guarantees:detail", pk=proposal.guarantee_id)
    return render(request, "guarantees/propose.html", {"form": form})


@login_required
@require_POST
def guarantee_raise_page(request, pk: int):
    ensure_keeps_registry(request.user)
    guarantee = get_guarantee_for_user(user=request.user, pk=pk)
    form = forms.GuaranteeRaiseForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
    else:
        run_service(
            request,
            lambda: guarantee_raise_propose(
                actor=request.user, guarantee_id=guarantee.pk, **form.cleaned_data
            ),
            "Raise proposed; it applies once another customs supervisor approves it.",
        )
    return redirect("guarantees:detail", pk=pk)


def _back(request, default: str):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


@login_required
@require_POST
def guarantee_proposal_approve_page(request, pk: int):
    proposal = get_guarantee_proposal_for_user(user=request.user, pk=pk)
    run_service(
        request,
        lambda: guarantee_proposal_approve(proposal_id=proposal.pk, actor=request.user),
        f"Guarantee {proposal.guarantee.reference}: proposal approved.",
    )
    return _back(request, "guarantees:list")


@login_required
@require_POST
def guarantee_proposal_refuse_page(request, pk: int):
    proposal = get_guarantee_proposal_for_user(user=request.user, pk=pk)
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the proposal is refused.")
    else:
        run_service(
            request,
            lambda: guarantee_proposal_refuse(
                proposal_id=proposal.pk, actor=request.user, reason=form.cleaned_data["reason"]
            ),
            f"Guarantee {proposal.guarantee.reference}: proposal refused.",
        )
    return _back(request, "guarantees:list")

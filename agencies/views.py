from functools import wraps
from typing import NamedTuple
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST

from agencies import forms
from agencies.models import LaneChangeProposal, Permit
from agencies.selectors import (
    QueueFilters,
    ReviewQueuePages,
    ReviewQueuePaginator,
    get_lane_proposal_for_user,
    get_permit_for_user,
    get_query_for_user,
    get_review_for_user,
    invoice_check_for_review,
    jurisdiction_rule_list,
    lane_decision_fallback,
    lane_decision_rescore,
    lane_proposal_list,
    pending_lane_proposal,
    permit_list,
    review_decisions,
    review_queue_counts,
    risk_reasons_for_review,
    trader_history,
)
from agencies.services import (
    jurisdiction_rule_create,
    jurisdiction_rule_delete,
    jurisdiction_rule_update,
    permit_issue,
    permit_revoke,
    review_claim,
)
from clearance.services import (
    declaration_detention_decide,
    declaration_lane_override,
    inspection_record,
    lane_change_approve,
    lane_change_refuse,
    query_answer,
    release_blockers,
    review_approve,
    review_query,
    review_reject,
)
from core.exceptions import ApplicationError
from core.pages import form_add_service_errors
from core.pagination import COUNT_CAP, CappedPaginator
from declarations.selectors import document_list_for_user
from reference import lookups
from risk.selectors import scoring_state
from supplies.selectors import prenotification_for_review

QUEUE_PAGE_SIZES = (10, 25, 50, 100)
QUEUE_PAGE_SIZE = 25


def _require_agency_staff(user) -> None:
    if not user.is_agency_staff:
        raise Http404


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ApplicationError):
        return exc.message
    if isinstance(exc, ValidationError):
        return " ".join(m for messages_ in exc.message_dict.values() for m in messages_)
    return "You are not allowed to do this."


class QueueLine(NamedTuple):
    """One row of the queue table, as text."""

    url: str
    reference: str
    lane: str
    lane_label: str
    trader: str
    status: str
    opened_at: str
    waiting: str
    claimed_by: str
    office: str
    # What a fallback left out of the lane decision; empty when the full engine took it.
    fallback: str


def _queue_lines(reviews) -> list[QueueLine]:
    """What each row of the queue table shows, worked out once in Python.

    The template then prints strings: done there, a row's lookups, URL and
    filters cost more than the row's share of the page's queries.
    """
    now = timezone.now()
    return [
        QueueLine(
            url=reverse("agencies:review", args=[review.pk]),
            reference=review.declaration.reference,
            lane=review.declaration.lane,
            lane_label=capfirst(review.declaration.lane),
            trader=review.declaration.company.name,
            status=review.get_status_display(),
            opened_at=timezone.localtime(review.opened_at).isoformat(),
            waiting=timesince(review.opened_at, now),
            claimed_by=review.assigned_to.username if review.assigned_to else "—",
            office=review.office,
            fallback=(lane_decision_fallback(review.declaration) or {}).get("left_out", ""),
        )
        for review in reviews
    ]


def _office_choices(user) -> list[tuple[str, str]]:
    """The offices a supervisor posted at several may narrow the queue to, named."""
    if len(user.office_codes) < 2:
        return []
    names = lookups.office_names()
    return [(code, f"{code} {names.get(code, '')}".strip()) for code in user.office_codes]


@login_required
def queue_page(request):
    _require_agency_staff(request.user)
    filters = QueueFilters.from_params(request.GET)
    try:
        size = int(request.GET.get("page_size", QUEUE_PAGE_SIZE))
    except ValueError:
        size = QUEUE_PAGE_SIZE
    size = size if size in QUEUE_PAGE_SIZES else QUEUE_PAGE_SIZE
    pages = ReviewQueuePages(user=request.user, filters=filters)
    page = ReviewQueuePaginator(pages, size).get_page(request.GET.get("page"))
    query = {**filters.as_params(), **({"page_size": str(size)} if size != QUEUE_PAGE_SIZE else {})}
    context = {
        "page": page,
        "lines": _queue_lines(page),
        "filters": filters,
        "page_size": size,
        "page_sizes": QUEUE_PAGE_SIZES,
        "query": query,
        "count_cap": COUNT_CAP,
        "office_choices": _office_choices(request.user),
    }
    # The counts come from queue_counts_partial, which the page loads at once
    # and then polls: the table is not kept waiting for them.
    template = "agencies/_queue_table.html" if request.htmx else "agencies/queue.html"
    return render(request, template, context)


@login_required
def queue_counts_partial(request):
    """The queue's counts; htmx polls this so new work shows without a reload."""
    _require_agency_staff(request.user)
    office = QueueFilters.from_params(request.GET).office
    counts = review_queue_counts(user=request.user, office=office)
    return render(
        request,
        "agencies/_queue_counts.html",
        # Whether lanes are being decided by a fallback now (a planned outage, a fault).
        {"counts": counts, "scoring": scoring_state()},
    )


@login_required
def review_page(request, pk: int):
    _require_agency_staff(request.user)
    review = get_review_for_user(user=request.user, pk=pk, with_details=True)
    declaration = review.declaration
    user = request.user
    can_act = review.is_active and declaration.is_under_review
    items = review.items.all()
    context = {
        "review": review,
        "declaration": declaration,
        "items": items,
        "risk_reasons": risk_reasons_for_review(review, [item.line_no for item in items]),
        # How the lane was decided when the full engine could not (officers only).
        "fallback": lane_decision_fallback(declaration),
        "rescore": lane_decision_rescore(declaration),
        "scoring": scoring_state(),
        "invoice": invoice_check_for_review(
            review=review, slice_lines=[item.line_no for item in items]
        ),
        # The lead's selector decides which documents this agency may open.
        "documents": document_list_for_user(user=user, declaration_pk=declaration.pk),
        "decisions": review_decisions(review=review),
        "history": trader_history(review=review, user=user),
        "blockers": (
            release_blockers(declaration, seen_by=review.agency)
            if declaration.may_become(declaration.Status.ASSESSED)
            else []
        ),
        "can_act": can_act,
        "held_by_other": review.assigned_to_id not in (None, user.pk),
        "approve_form": forms.ApproveForm(),
        "reject_form": forms.RejectForm(),
        "query_form": forms.QueryForm(),
        "inspection_form": forms.InspectionForm(
            initial={"kind": "physical" if declaration.lane == "red" else "documentary"}
        ),
        "permit_form": forms.PermitForm(
            initial={"permit_type": (review.permits_required or [""])[0]}
        ),
        "lane_form": forms.LaneOverrideForm(initial={"lane": declaration.lane}),
        "can_inspect": review.agency.is_customs and review.may_become(review.Status.APPROVED),
        "can_override_lane": (
            user.role == "supervisor" and review.agency.is_customs and declaration.is_under_review
        ),
        "detention_form": forms.DetentionForm(),
        "can_decide_detention": (
            user.role == "supervisor"
            and review.agency.is_customs
            and declaration.status == declaration.Status.DETAINED
        ),
        "lane_proposal": pending_lane_proposal(user=user, declaration=declaration),
        "reason_form": forms.ReasonForm(),
        "prenotification": prenotification_for_review(review=review, items=items),
    }
    return render(request, "agencies/review.html", context)


def review_action(form_class=None):
    """A POST action on a review: 404 outside the agency, errors shown on the review page."""

    def decorate(action):
        @login_required
        @require_POST
        @wraps(action)
        def view(request, pk: int):
            _require_agency_staff(request.user)
            review = get_review_for_user(user=request.user, pk=pk)
            data = {}
            if form_class is not None:
                form = form_class(request.POST)
                if not form.is_valid():
                    errors = "; ".join(
                        f"{form.fields[name].label or name}: {' '.join(errs)}"
                        if name in form.fields
                        else " ".join(errs)
                        for name, errs in form.errors.items()
                    )
                    messages.error(request, errors)
                    return redirect("agencies:review", pk=pk)
                data = form.cleaned_data
            try:
                text = action(request, review, **data)
            except (ApplicationError, ValidationError, PermissionDenied) as exc:
                messages.error(request, _error_text(exc))
            else:
                messages.success(request, text)
            return redirect("agencies:review", pk=pk)

        return view

    return decorate


@review_action()
def review_claim_page(request, review):
    review_claim(review_id=review.pk, actor=request.user)
    return "You hold this review."


@review_action(forms.ApproveForm)
def review_approve_page(request, review, conditions):
    review_approve(review_id=review.pk, actor=request.user, conditions=conditions)
    return "Approved with conditions." if conditions.strip() else "Approved."


@review_action(forms.RejectForm)
def review_reject_page(request, review, reason):
    review_reject(review_id=review.pk, actor=request.user, reason=reason)
    return "Rejected; the declaration is rejected."


@review_action(forms.QueryForm)
def review_query_page(request, review, question):
    review_query(review_id=review.pk, actor=request.user, question=question)
    return "Query sent to the trader."


@review_action(forms.InspectionForm)
def review_inspection_page(request, review, **data):
    inspection = inspection_record(review_id=review.pk, actor=request.user, **data)
    return f"{inspection.get_kind_display()} recorded."


@review_action(forms.PermitForm)
def review_permit_page(request, review, **data):
    permit = permit_issue(review_id=review.pk, actor=request.user, **data)
    return f"Permit {permit.number} issued."


@review_action(forms.LaneOverrideForm)
def review_lane_page(request, review, lane, reason):
    done = declaration_lane_override(
        declaration_id=review.declaration_id, lane=lane, actor=request.user, reason=reason
    )
    if isinstance(done, LaneChangeProposal):
        return f"Lane {lane} proposed; it applies once another supervisor approves it."
    return f"Lane changed to {lane}."


@review_action(forms.DetentionForm)
def review_detention_page(request, review, decision, reason):
    declaration_detention_decide(
        declaration_id=review.declaration_id,
        actor=request.user,
        seize=decision == "seize",
        reason=reason,
    )
    return "Goods seized." if decision == "seize" else "Released from detention."


# --- Lowering a lane: a second supervisor's approval -------------------------


@login_required
def lane_proposals_page(request):
    proposals = lane_proposal_list(user=request.user)
    return render(
        request,
        "agencies/lane_proposals.html",
        {
            "waiting": proposals.filter(status=LaneChangeProposal.Status.PROPOSED).order_by(
                "proposed_at", "pk"
            ),
            "decided": proposals.exclude(status=LaneChangeProposal.Status.PROPOSED).order_by(
                "-decided_at", "-pk"
            )[:20],
            "reason_form": forms.ReasonForm(),
        },
    )


def _back(request):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("agencies:lane-proposals")


@login_required
@require_POST
def lane_proposal_approve_page(request, pk: int):
    proposal = get_lane_proposal_for_user(user=request.user, pk=pk)
    try:
        lane_change_approve(proposal_id=proposal.pk, actor=request.user)
    except (ApplicationError, ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request, f"{proposal.declaration.reference}: lane changed to {proposal.to_lane}."
        )
    return _back(request)


@login_required
@require_POST
def lane_proposal_refuse_page(request, pk: int):
    proposal = get_lane_proposal_for_user(user=request.user, pk=pk)
    try:
        lane_change_refuse(
            proposal_id=proposal.pk, actor=request.user, reason=request.POST.get("reason", "")
        )
    except (ApplicationError, ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request, f"{proposal.declaration.reference}: the lane stays {proposal.from_lane}."
        )
    return _back(request)


@login_required
@require_POST
def query_answer_page(request, pk: int):
    query = get_query_for_user(user=request.user, pk=pk)
    form = forms.AnswerForm(request.POST)
    target = reverse("declarations:detail", args=[query.review.declaration_id])
    if not form.is_valid():
        messages.error(request, "Write your answer before sending it.")
        return redirect(target)
    try:
        query_answer(query_id=query.pk, actor=request.user, answer=form.cleaned_data["answer"])
    except (ApplicationError, ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, "Answer sent.")
    return redirect(target)


# --- Permits: issued by an agency's officers, cited by the holder's declarations


def _require_officer_or_trader(user) -> None:
    if not (user.is_agency_staff or user.is_trader):
        raise Http404


@login_required
def permit_list_page(request):
    _require_officer_or_trader(request.user)
    q, status = request.GET.get("q", ""), request.GET.get("status", "")
    permits = permit_list(user=request.user, q=q, status=status)
    page = CappedPaginator(permits, 25).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in {"q": q, "status": status}.items() if v})
    context = {"page": page, "q": q, "status": status, "query": query, "statuses": Permit.Status}
    return render(request, "agencies/permit_list.html", context)


@login_required
def permit_issue_page(request):
    _require_agency_staff(request.user)
    form = forms.PermitIssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            permit = permit_issue(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"Permit {permit.number} issued to {permit.holder.name}.")
            return redirect("agencies:permit", pk=permit.pk)
    return render(request, "agencies/permit_form.html", {"form": form})


@login_required
def permit_page(request, pk: int):
    _require_officer_or_trader(request.user)
    permit = get_permit_for_user(user=request.user, pk=pk)
    context = {
        "permit": permit,
        "can_revoke": request.user.is_agency_staff and permit.may_become(Permit.Status.REVOKED),
        "revoke_form": forms.RevokeForm(),
    }
    return render(request, "agencies/permit.html", context)


@login_required
@require_POST
def permit_revoke_page(request, pk: int):
    _require_agency_staff(request.user)
    permit = get_permit_for_user(user=request.user, pk=pk)
    form = forms.RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write why the permit is revoked.")
        return redirect("agencies:permit", pk=pk)
    try:
        permit_revoke(permit_id=permit.pk, actor=request.user, reason=form.cleaned_data["reason"])
    except (ApplicationError, ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"Permit {permit.number} revoked.")
    return redirect("agencies:permit", pk=pk)


# --- Jurisdiction, for platform administrators ------------------------------


def _require_platform_admin(user) -> None:
    if not user.is_platform_admin:
        raise Http404


@login_required
def jurisdiction_list_page(request):
    _require_platform_admin(request.user)
    rules = jurisdiction_rule_list()
    return render(request, "agencies/jurisdiction_list.html", {"rules": rules})


def _save_rule(request, rule=None):
    form = forms.JurisdictionRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if rule is None:
                jurisdiction_rule_create(actor=request.user, **data)
            else:
                jurisdiction_rule_update(rule=rule, actor=request.user, **data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Jurisdiction saved; it applies to new declarations.")
            return redirect("agencies:jurisdiction")
    return render(request, "agencies/jurisdiction_form.html", {"form": form, "rule": rule})


@login_required
def jurisdiction_create_page(request):
    _require_platform_admin(request.user)
    return _save_rule(request)


@login_required
def jurisdiction_edit_page(request, pk: int):
    _require_platform_admin(request.user)
    return _save_rule(request, get_object_or_404(jurisdiction_rule_list(), pk=pk))


@login_required
@require_POST
def jurisdiction_delete_page(request, pk: int):
    _require_platform_admin(request.user)
    rule = get_object_or_404(jurisdiction_rule_list(), pk=pk)
    jurisdiction_rule_delete(rule=rule, actor=request.user)
    messages.success(request, f"Rule {rule} deleted; open reviews keep their slice.")
    return redirect("agencies:jurisdiction")

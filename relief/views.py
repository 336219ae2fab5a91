from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from clearance.relief import joint_inspection_record, owed_document_supply
from core.pages import run_service
from declarations.forms import ReasonForm
from relief.forms import JointInspectionBookForm, JointInspectionRecordForm, OwedDocumentSupplyForm
from relief.models import JointInspection
from relief.selectors import (
    get_joint_inspection_for_user,
    get_owed_document_for_declarant,
    joint_inspection_agencies_eligible,
    joint_inspection_list,
    joint_inspection_staff,
)
from relief.services import joint_inspection_book, joint_inspection_cancel


def _require_agency_staff(user) -> None:
    if not user.is_agency_staff:
        raise Http404


def _form_errors(request, form) -> None:
    for name, errors in form.errors.items():
        label = form.fields[name].label or name if name in form.fields else ""
        messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))


@login_required
@require_POST
def owed_document_supply_page(request, pk: int, owed_pk: int):
    """The declarant supplies a document owed, from the declaration's page."""
    owed = get_owed_document_for_declarant(user=request.user, declaration_pk=pk, pk=owed_pk)
    form = OwedDocumentSupplyForm(request.POST, request.FILES)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        run_service(
            request,
            lambda: owed_document_supply(
                actor=request.user,
                declaration_id=pk,
                owed_id=owed.pk,
                reference=form.cleaned_data["reference"],
                upload=form.cleaned_data["file"],
            ),
            f"{owed.description}: supplied.",
        )
    return redirect("declarations:detail", pk=pk)


@login_required
def joint_inspection_list_page(request):
    """The joint inspections the officer's agency takes part in at their offices."""
    _require_agency_staff(request.user)
    wanted = request.GET.get("status", "live")
    joints = joint_inspection_list(user=request.user, status=wanted)
    return render(
        request,
        "relief/joint_inspections.html",
        {"joints": joints, "status": wanted, "statuses": JointInspection.Status.choices},
    )


def _book_form(joint: JointInspection, data=None) -> JointInspectionBookForm:
    agencies = joint_inspection_agencies_eligible(joint)
    taking_part = [p.agency.code for p in joint.participants.all()]
    initial = {
        "agencies": taking_part,
        "officers": [o.username for p in joint.participants.all() for o in p.officers.all()],
        "place": joint.place,
        "scheduled_at": joint.scheduled_at,
    }
    return JointInspectionBookForm(
        data,
        initial=initial,
        agencies=agencies,
        staff=joint_inspection_staff(joint, agencies),
    )


@login_required
def joint_inspection_page(request, pk: int):
    _require_agency_staff(request.user)
    joint = get_joint_inspection_for_user(user=request.user, pk=pk)
    context = {
        "joint": joint,
        "declaration": joint.declaration,
        "book_form": _book_form(joint) if joint.may_become(JointInspection.Status.BOOKED) else None,
        "record_form": JointInspectionRecordForm(),
        "reason_form": ReasonForm(),
        "my_review": next(
            (p.review for p in joint.participants.all() if p.agency_id == request.user.agency_id),
            None,
        ),
    }
    return render(request, "relief/joint_inspection.html", context)


def _joint_action(request, pk: int, action, success: str):
    run_service(request, action, success)
    return redirect("relief:joint-inspection", pk=pk)


@login_required
@require_POST
def joint_inspection_book_page(request, pk: int):
    _require_agency_staff(request.user)
    joint = get_joint_inspection_for_user(user=request.user, pk=pk)
    form = _book_form(joint, request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("relief:joint-inspection", pk=pk)
    data = form.cleaned_data
    return _joint_action(
        request,
        pk,
        lambda: joint_inspection_book(
            actor=request.user,
            joint_inspection_id=joint.pk,
            scheduled_at=data["scheduled_at"],
            place=data["place"],
            agency_codes=data["agencies"],
            officer_usernames=data["officers"],
        ),
        "Joint inspection booked; the officers and the declarant are told.",
    )


@login_required
@require_POST
def joint_inspection_record_page(request, pk: int):
    _require_agency_staff(request.user)
    joint = get_joint_inspection_for_user(user=request.user, pk=pk)
    form = JointInspectionRecordForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("relief:joint-inspection", pk=pk)
    data = form.cleaned_data
    return _joint_action(
        request,
        pk,
        lambda: joint_inspection_record(
            actor=request.user,
            joint_inspection_id=joint.pk,
            finding=data["finding"],
            items=data["items"],
            revenue_difference=data["revenue_difference"],
            notes=data["notes"],
        ),
        "Joint inspection recorded for every agency taking part.",
    )


@login_required
@require_POST
def joint_inspection_cancel_page(request, pk: int):
    _require_agency_staff(request.user)
    joint = get_joint_inspection_for_user(user=request.user, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("relief:joint-inspection", pk=pk)
    return _joint_action(
        request,
        pk,
        lambda: joint_inspection_cancel(
            actor=request.user, joint_inspection_id=joint.pk, reason=form.cleaned_data["reason"]
        ),
        "Joint inspection called off.",
    )

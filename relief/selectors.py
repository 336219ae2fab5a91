"""Reads of the relief app, scoped by who asks: documents owed by a provisional
declaration, and joint inspections."""

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from agencies.models import Review
from declarations.models import Declaration
from declarations.selectors import declaration_list
from relief.models import (
    JointInspection,
    JointInspectionAgency,
    OwedDocument,
    ProvisionalDeclaration,
)

Status = Declaration.Status

# A declaration in one of these owes nothing more: it ended, or a newer version owes.
ENDED = frozenset({Status.CANCELLED, Status.REJECTED, Status.AMENDED, Status.SEIZED})


# ---- Provisional declarations: documents to follow ------------------------------------------


def provisional_of(declaration) -> ProvisionalDeclaration | None:
    """The declaration's documents to follow, each with its item and agency; None when it
    was lodged complete. Prefetched by declarations.selectors with the details."""
    try:
        provisional = declaration.provisional
    except ProvisionalDeclaration.DoesNotExist:
        return None
    return provisional


def owed_documents(provisional: ProvisionalDeclaration, *, review: Review | None = None) -> list:
    """The documents owed, as the reader may see them: everything for the declarant and
    for customs; for another agency's officer (`review`), those of its own items."""
    documents = list(provisional.documents.all())
    if review and not review.agency.is_customs:
        lines = {item.line_no for item in review.items.all()}
        documents = [d for d in documents if d.item is not None and d.item.line_no in lines]
    return documents


def provisional_detail(*, user, declaration_pk) -> ProvisionalDeclaration:
    """The documents to follow of a declaration the user may see as a whole (its
    declarant, analysts, administrators); 404 when none are, or it is not theirs."""
    declaration = get_object_or_404(declaration_list(user=user), pk=declaration_pk)
    return get_object_or_404(
        ProvisionalDeclaration.objects.select_related("emergency").prefetch_related(
            Prefetch(
                "documents",
                queryset=OwedDocument.objects.select_related("item", "agency", "document"),
            )
        ),
        declaration=declaration,
    )


def get_owed_document_for_declarant(*, user, declaration_pk, pk) -> OwedDocument:
    """One document owed by a declaration of the trader's company, or 404."""
    if not user.is_trader:
        raise Http404
    provisional = provisional_detail(user=user, declaration_pk=declaration_pk)
    return get_object_or_404(provisional.documents.select_related("item", "agency"), pk=pk)


# ---- Joint inspections --------------------------------------------------------------------


PARTICIPANTS = Prefetch(
    "participants",
    queryset=JointInspectionAgency.objects.select_related("agency", "review", "inspection")
    .prefetch_related("officers")
    .order_by("-agency__is_customs", "agency__name"),
)


def joint_inspection_list(*, user, status: str = "live") -> QuerySet[JointInspection]:
    """The joint inspections an agency's officer or supervisor takes part in, at the
    offices they are posted at, and for customs staff every one there (customs reviews
    every declaration and may join); nobody else's. `status`: "live" (offered or
    booked, the default), "all", or one status."""
    if not (user.is_authenticated and user.is_agency_staff and user.office_codes):
        return JointInspection.objects.none()
    joint = JointInspection.objects.filter(office__in=user.office_codes)
    if not user.agency.is_customs:
        taking_part = JointInspectionAgency.objects.filter(agency_id=user.agency_id)
        joint = joint.filter(pk__in=taking_part.values("joint_inspection_id"))
    joint = (
        joint.select_related("declaration__company", "booked_by", "recorded_by")
        .prefetch_related(PARTICIPANTS)
        .order_by("scheduled_at", "offered_at", "pk")
    )
    if status == "live":
        # A declaration that left review (cancelled, rejected, detained) has no goods
        # to inspect together any more.
        return joint.filter(
            status__in=JointInspection.LIVE, declaration__status__in=Declaration.REVIEWING
        )
    if status == "all":
        return joint
    if status not in JointInspection.Status.values:
        return joint.none()
    return joint.filter(status=status)


def get_joint_inspection_for_user(*, user, pk) -> JointInspection:
    return get_object_or_404(
        joint_inspection_list(user=user, status="all").prefetch_related("items"), pk=pk
    )


def joint_inspection_of_review(review: Review) -> JointInspection | None:
    """The joint inspection the review's agency takes part in on its declaration: the live
    one, else the latest."""
    return (
        JointInspection.objects.filter(
            declaration_id=review.declaration_id, participants__review=review
        )
        .prefetch_related(PARTICIPANTS)
        .order_by("-offered_at", "-pk")
        .first()
    )


def joint_inspection_of_declaration(declaration) -> JointInspection | None:
    """The live joint inspection of a declaration (its declarant is told where and when)."""
    return (
        JointInspection.objects.filter(
            declaration_id=declaration.pk, status__in=JointInspection.LIVE
        )
        .prefetch_related(PARTICIPANTS)
        .first()
    )


def joint_inspection_agencies_eligible(joint: JointInspection) -> list:
    """The agencies that may take part: those whose review of the declaration still
    waits for them (customs always reviews)."""
    reviews = (
        Review.objects.filter(declaration_id=joint.declaration_id, status__in=Review.ACTIVE)
        .select_related("agency")
        .order_by("-agency__is_customs", "agency__name")
    )
    return [review.agency for review in reviews]


def joint_inspection_staff(joint: JointInspection, agencies) -> QuerySet:
    """The officers and supervisors of these agencies posted at the inspection's office:
    who may be sent to it."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            role__in=["officer", "supervisor"],
            agency__in=list(agencies),
            offices__code=joint.office,
        )
        .select_related("agency")
        .order_by("agency__name", "username")
        .distinct()
    )

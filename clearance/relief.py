"""The relief measures' steps that cross apps: a document a provisional declaration
owes, supplied (the file stored with the declaration's documents, the document
ticked off), and a joint inspection's finding, recorded once on every
participating agency's review with what follows from it (a detention, a
reassessment, the risk model's labels).

Rows are locked declaration first, as everywhere.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from agencies.models import Inspection, Review
from agencies.services import inspection_complete
from clearance.services import _ensure_did_not_set_lane, inspection_follow_up
from declarations.services import document_upload
from relief.models import JointInspection, OwedDocument
from relief.services import (
    joint_inspection_ensure_participant,
    joint_inspection_ensure_recordable,
    joint_inspection_finding_items,
    joint_inspection_lock,
    joint_inspection_mark_recorded,
    joint_inspection_participants,
    joint_inspection_told_recorded,
    owed_document_check,
    owed_document_lock,
    owed_document_tick,
)


@transaction.atomic
def owed_document_supply(
    *, actor, declaration_id: int, owed_id: int, reference: str, upload=None
) -> OwedDocument:
    """The declarant supplies a document their provisional declaration owes: its number
    (a permit's is checked as lodgement checks one cited) and, if they have it, the
    file, stored with the declaration's documents even after release."""
    owed = owed_document_lock(declaration_id=declaration_id, owed_id=owed_id)
    reference = owed_document_check(owed, actor=actor, reference=reference)
    document = None
    if upload is not None:
        document = document_upload(
            actor=actor,
            declaration=owed.provisional.declaration,
            kind=owed.kind,
            upload=upload,
            item_line_no=owed.item.line_no if owed.item_id else None,
            owed=True,
        )
    return owed_document_tick(owed=owed, actor=actor, reference=reference, document=document)


@transaction.atomic
def joint_inspection_record(
    *,
    actor,
    joint_inspection_id: int,
    finding: str,
    notes: str = "",
    items: list[int] | tuple = (),
    revenue_difference: Decimal = Decimal("0"),
) -> JointInspection:
    """Record a booked joint inspection's finding, once, for every agency taking part:
    an officer or supervisor of any of them posted at its office records it, and it
    becomes the physical inspection on each agency's review (customs' lane work
    included). Items are named as in any inspection; on an agency's review whose
    goods are not among them the inspection found nothing. A revenue difference is
    customs' to assess, so only a customs officer records one. What follows (a
    detention, a reassessment, the model's labels) follows once."""
    joint = joint_inspection_lock(joint_inspection_id)
    participants = joint_inspection_participants(joint)
    joint_inspection_ensure_participant(actor, joint, participants)
    joint_inspection_ensure_recordable(joint)
    declaration = joint.declaration
    _ensure_did_not_set_lane(declaration.pk, actor, doing="inspect it")
    revenue_difference = revenue_difference or Decimal("0")
    if revenue_difference < 0:
        raise ValidationError({"revenue_difference": "A revenue difference is not negative."})
    if revenue_difference and not actor.agency.is_customs:
        raise ValidationError(
            {
                "revenue_difference": "Duties and taxes are customs' to reassess: an officer "
                "of customs records a revenue difference."
            }
        )
    if revenue_difference and not any(p.agency.is_customs for p in participants):
        raise ValidationError(
            {"revenue_difference": "Customs does not take part in this joint inspection."}
        )
    named = joint_inspection_finding_items(joint, finding, revenue_difference, items)
    reviews = {
        review.pk: review
        for review in Review.objects.select_for_update(of=("self",))
        .select_related("agency", "assigned_to", "decided_by")
        .filter(pk__in=[p.review_id for p in participants])
    }
    recorded = []
    for participant in participants:
        review = reviews[participant.review_id]
        review.declaration = declaration
        if not review.is_active:
            continue  # decided meanwhile: the agency's decision stands
        lines = {item.line_no for item in review.items.all()}
        here = [item.line_no for item in named if item.line_no in lines]
        found_here = finding == Inspection.Finding.NO_DISCREPANCY or here
        inspection = inspection_complete(
            review=review,
            actor=actor,
            kind=Inspection.Kind.PHYSICAL,
            finding=finding if found_here else Inspection.Finding.NO_DISCREPANCY,
            revenue_difference=revenue_difference if review.agency.is_customs else Decimal("0"),
            notes=_notes(notes, joint, found_here, named),
            items=here,
            joint=True,
        )
        participant.inspection = inspection
        participant.save(update_fields=["inspection"])
        recorded.append((review, inspection))
    if not recorded:
        raise ValidationError(
            {"finding": "No agency taking part still waits for this inspection: each decided."}
        )
    joint_inspection_mark_recorded(
        joint=joint,
        actor=actor,
        finding=finding,
        revenue_difference=revenue_difference,
        notes=notes,
        items=named,
        agencies=[review.agency.code for review, _ in recorded],
    )
    # What follows from the finding follows once: from customs' record when customs took
    # part (a detention is customs' to decide on), else from the first agency's.
    review, inspection = next(
        ((r, i) for r, i in recorded if r.agency.is_customs and i.finding == finding),
        next(((r, i) for r, i in recorded if i.finding == finding), recorded[0]),
    )
    inspection_follow_up(review=review, inspection=inspection, actor=actor)
    joint_inspection_told_recorded(joint=joint, participants=participants, actor=actor)
    return joint


def _notes(notes: str, joint: JointInspection, found_here, named) -> str:
    text = f"Joint inspection {joint.pk}."
    if not found_here:
        lines = ", ".join(str(item.line_no) for item in named)
        text += f" The discrepancy found concerns item {lines}, not this agency's goods."
    return f"{text} {notes.strip()}".strip()

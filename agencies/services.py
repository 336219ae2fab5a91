"""Every write of the agencies app: jurisdiction, reviews, queries, inspections, permits.

Lock order, everywhere: the declaration row first, then the review row. A
decision on one review can complete the whole declaration (every review
approved), so two officers deciding two reviews of the same declaration must
be serialised on the declaration, or each would see the other's review still
open and neither would move the declaration on.
"""

from datetime import date
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agencies.models import (
    LANE_RANK,
    Agency,
    Inspection,
    JurisdictionRule,
    LaneOverride,
    Permit,
    Query,
    Review,
    hs_prefixes_of,
)
from core.exceptions import ApplicationError
from core.permissions import grant_many
from notifications.services import (
    Message,
    notify_many_on_commit,
    notify_on_commit,
    recipients_of_agencies,
    recipients_of_company,
)

REVIEW_PERMS = ("agencies.view_review", "agencies.change_review")
ACTIVE = (Review.Status.OPEN, Review.Status.IN_PROGRESS)


# --- Agencies and jurisdiction ---------------------------------------------


@transaction.atomic
def agency_create(*, code: str, name: str, is_customs: bool = False) -> Agency:
    group = Group.objects.create(name=f"agency:{code}")
    agency = Agency(code=code, name=name, is_customs=is_customs, group=group)
    agency.full_clean()
    agency.save()
    return agency


@transaction.atomic
def agency_update(*, agency: Agency, actor, name: str) -> Agency:
    """Rename an agency; its code (which names its group) and customs role stay as created."""
    _ensure_platform_admin(actor)
    agency = Agency.objects.select_for_update().get(pk=agency.pk)
    agency.name = name
    agency.full_clean()
    agency.save()
    return agency


def _ensure_platform_admin(actor) -> None:
    if actor is not None and not actor.is_platform_admin:
        raise PermissionDenied


@transaction.atomic
def jurisdiction_rule_create(
    *,
    agency: Agency,
    hs_prefix: str,
    permit_type: str = "",
    description: str = "",
    origin_countries: list[str] | None = None,
    procedure_codes: list[str] | None = None,
    actor=None,
) -> JurisdictionRule:
    """Add a rule; it applies to declarations assessed from now on, never to open reviews."""
    _ensure_platform_admin(actor)
    rule = JurisdictionRule(
        agency=agency,
        hs_prefix=hs_prefix,
        permit_type=permit_type,
        description=description,
        origin_countries=[c.upper() for c in origin_countries or []],
        procedure_codes=list(procedure_codes or []),
    )
    rule.full_clean()
    rule.save()
    return rule


@transaction.atomic
def jurisdiction_rule_update(*, rule: JurisdictionRule, actor, **fields) -> JurisdictionRule:
    _ensure_platform_admin(actor)
    allowed = {
        "agency",
        "hs_prefix",
        "permit_type",
        "description",
        "origin_countries",
        "procedure_codes",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not a jurisdiction field: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.origin_countries = [c.upper() for c in rule.origin_countries]
    rule.full_clean()
    rule.save()
    return rule


@transaction.atomic
def jurisdiction_rule_delete(*, rule: JurisdictionRule, actor) -> None:
    _ensure_platform_admin(actor)
    rule.delete()


def _jurisdiction(items) -> tuple[Agency, list[JurisdictionRule]]:
    """Customs, and the other agencies' rules that can cover these items."""
    customs = Agency.objects.get(is_customs=True)
    rules = list(
        JurisdictionRule.objects.for_hs_codes(item.hs_code for item in items)
        .exclude(agency=customs)
        .select_related("agency")
    )
    return customs, rules


def agencies_concerned(
    items, *, procedure: str = "", jurisdiction: tuple | None = None
) -> dict[Agency, tuple[list, list[str]]]:
    """Customs with every item; each agency whose jurisdiction covers an item, with
    its slice and the permits its matching rules require."""
    customs, rules = jurisdiction or _jurisdiction(items)
    concerned: dict[Agency, tuple[list, list[str]]] = {customs: (list(items), [])}
    for rule in rules:
        for item in items:
            if rule.covers(item, procedure):
                slice_, permits = concerned.setdefault(rule.agency, ([], []))
                if item not in slice_:
                    slice_.append(item)
                if rule.permit_type and rule.permit_type not in permits:
                    permits.append(rule.permit_type)
    for slice_, _ in concerned.values():
        slice_.sort(key=lambda item: item.line_no)
    return concerned


def reviews_open(*, declaration) -> list[Review]:
    """Open one review per agency concerned; called inside the lane transaction."""
    items = list(declaration.items.all())
    return reviews_open_many(declarations=[declaration], items_of={declaration.pk: items})[
        declaration.pk
    ]


# Field checks only when a review is opened: its foreign keys come from rows
# just read, and one review per agency is the database's unique constraint.
REVIEW_UNCHECKED = ["declaration", "agency", "company", "assigned_to", "decided_by"]


def reviews_open_many(*, declarations: list, items_of: dict[int, list]) -> dict[int, list[Review]]:
    """Open the reviews of several declarations, in a constant number of statements.

    The slice and the permits required are copied onto each review, so a
    later change of jurisdiction leaves the declaration as it was assessed.
    Called inside the lane transaction, with the declarations locked.
    """
    jurisdiction = _jurisdiction([item for d in declarations for item in items_of[d.pk]])
    now = timezone.now()
    opened: dict[int, list[Review]] = {}
    slices = []
    for declaration in declarations:
        concerned = agencies_concerned(
            items_of[declaration.pk], procedure=declaration.procedure, jurisdiction=jurisdiction
        )
        for agency, (slice_, permits) in concerned.items():
            review = Review(
                declaration=declaration,
                agency=agency,
                opened_at=now,
                permits_required=permits,
                lane_rank=LANE_RANK.get(declaration.lane, LANE_RANK[""]),
                company_id=declaration.company_id,
                hs_prefixes=hs_prefixes_of(item.hs_code for item in slice_),
            )
            review.full_clean(
                exclude=REVIEW_UNCHECKED, validate_unique=False, validate_constraints=False
            )
            opened.setdefault(declaration.pk, []).append(review)
            slices.append((review, slice_))
    reviews = Review.objects.bulk_create([review for review, _ in slices])
    Review.items.through.objects.bulk_create(
        Review.items.through(review=review, item=item)
        for review, slice_ in slices
        for item in slice_
    )
    grant_many(grants=[(r.agency.group_id, r) for r in reviews], perms=REVIEW_PERMS)
    recipients = recipients_of_agencies({r.agency_id for r in reviews})
    notify_many_on_commit(
        messages=[
            Message(
                recipient_ids=recipients.get(r.agency_id, []),
                verb="review_opened",
                text=f"New work: {r.agency.name} review of {r.declaration.reference}",
                url=reverse("agencies:review", args=[r.pk]),
            )
            for r in reviews
        ]
    )
    return opened


# --- Locks and guards ------------------------------------------------------


def _lock(review_id: int) -> Review:
    """Lock the review's declaration, then the review (see the module docstring)."""
    from declarations.models import Declaration

    declaration_id = Review.objects.values_list("declaration_id", flat=True).get(pk=review_id)
    Declaration.objects.select_for_update().only("pk").get(pk=declaration_id)
    return (
        Review.objects.select_for_update(of=("self",))
        .select_related("declaration", "agency", "assigned_to", "decided_by")
        .get(pk=review_id)
    )


def _ensure_staff_of(actor, review: Review) -> None:
    if not (actor.is_agency_staff and actor.agency_id == review.agency_id):
        raise PermissionDenied


def _ensure_declaration_under_review(review: Review) -> None:
    from declarations.models import Declaration

    status = review.declaration.status
    if status not in (Declaration.Status.UNDER_REVIEW, Declaration.Status.QUERIED):
        label = Declaration.Status(status).label.lower()
        raise ApplicationError(f"The declaration is {label}; its reviews are closed.")


def _ensure_actionable(review: Review, actor) -> None:
    """The review can still be decided, and not by someone else holding it."""
    if review.is_decided:
        who = review.decided_by.username if review.decided_by else "someone"
        raise ApplicationError(
            f"This review was already {review.status} by {who} "
            f"at {review.decided_at:%Y-%m-%d %H:%M:%S} UTC.",
            extra={"status": review.status},
        )
    _ensure_declaration_under_review(review)
    if review.status == Review.Status.QUERIED:
        raise ApplicationError(
            "This review waits for the trader's answer to a query.",
            extra={"status": review.status},
        )
    # A supervisor may take over work an officer of the agency holds.
    if review.assigned_to_id not in (None, actor.pk) and actor.role != "supervisor":
        raise ApplicationError(
            f"This review is claimed by {review.assigned_to.username}.",
            extra={"assigned_to": review.assigned_to.username},
        )


def _audit(review: Review, *, actor, action: str, reason: str = "", data: dict | None = None):
    from declarations.services import event_append

    event_append(
        declaration=review.declaration,
        actor=actor,
        action=action,
        reason=reason,
        data={"review": review.pk, "agency": review.agency.code, **(data or {})},
    )


def _tell_trader(declaration, *, verb: str, text: str) -> None:
    notify_on_commit(
        recipient_ids=recipients_of_company(declaration.company_id),
        verb=verb,
        text=text,
        url=reverse("declarations:detail", args=[declaration.pk]),
    )


# --- Officer's work --------------------------------------------------------


@transaction.atomic
def review_claim(*, review_id: int, actor) -> Review:
    """Take a review so no other officer works it. Claiming it twice is harmless."""
    review = Review.objects.select_related("agency").get(pk=review_id)
    _ensure_staff_of(actor, review)
    # The guarded update is the claim: of two officers, exactly one matches.
    claimed = Review.objects.filter(
        pk=review_id, assigned_to__isnull=True, status__in=[*ACTIVE, Review.Status.QUERIED]
    ).update(
        assigned_to=actor,
        claimed_at=timezone.now(),
        status=_claimed_status(review.status),
    )
    review = Review.objects.select_related("assigned_to", "declaration", "agency").get(pk=review_id)
    if not claimed and review.assigned_to_id != actor.pk:
        if review.is_decided:
            raise ApplicationError(f"This review was already {review.status}.")
        holder = review.assigned_to.username if review.assigned_to else "nobody"
        raise ApplicationError(
            f"This review is claimed by {holder}.", extra={"assigned_to": holder}
        )
    return review


def _claimed_status(status: str) -> str:
    return Review.Status.IN_PROGRESS if status == Review.Status.OPEN else status


def lane_work_done(declaration) -> bool:
    """Green needs nothing; yellow a documentary check (or more); red a physical inspection."""
    if declaration.lane == "red":
        kinds = (Inspection.Kind.PHYSICAL,)
    elif declaration.lane == "yellow":
        kinds = (Inspection.Kind.DOCUMENTARY, Inspection.Kind.PHYSICAL)
    else:
        return True
    return Inspection.objects.filter(
        review__declaration=declaration, review__agency__is_customs=True, kind__in=kinds
    ).exists()


def _lane_work_needed(declaration) -> str:
    return "a physical inspection" if declaration.lane == "red" else "a documentary check"


@transaction.atomic
def review_approve(*, review_id: int, actor, conditions: str = "") -> Review:
    """Approve the agency's slice, with conditions or without."""
    review = _lock(review_id)
    _ensure_staff_of(actor, review)
    _ensure_actionable(review, actor)
    if review.agency.is_customs and not lane_work_done(review.declaration):
        raise ApplicationError(
            f"The {review.declaration.lane} lane needs "
            f"{_lane_work_needed(review.declaration)} before customs approves."
        )
    review.status = Review.Status.APPROVED
    review.conditions = conditions.strip()
    review.assigned_to = review.assigned_to or actor
    review.decided_by = actor
    review.decided_at = timezone.now()
    review.full_clean()
    review.save()
    _audit(
        review,
        actor=actor,
        action="review_approved",
        reason=review.conditions,
        data={"conditions": bool(review.conditions)},
    )
    with_conditions = f" with conditions: {review.conditions}" if review.conditions else ""
    _tell_trader(
        review.declaration,
        verb="review_approved",
        text=f"{review.agency.name} approved {review.declaration.reference}{with_conditions}",
    )
    declaration_assess_if_cleared(declaration_id=review.declaration_id, actor=actor)
    return review


@transaction.atomic
def review_reject(*, review_id: int, actor, reason: str) -> Review:
    """Reject the slice; the whole declaration is rejected with the reason."""
    from declarations.models import Declaration
    from declarations.services import declaration_transition

    if not reason.strip():
        raise ValidationError({"reason": "A rejection needs a reason."})
    review = _lock(review_id)
    _ensure_staff_of(actor, review)
    _ensure_declaration_under_review(review)
    if review.is_decided or review.assigned_to_id not in (None, actor.pk):
        _ensure_actionable(review, actor)
    # A query still open does not stop a rejection: the answer would change nothing.
    review.status = Review.Status.REJECTED
    review.reason = reason.strip()
    review.assigned_to = review.assigned_to or actor
    review.decided_by = actor
    review.decided_at = timezone.now()
    review.full_clean()
    review.save()
    _audit(review, actor=actor, action="review_rejected", reason=review.reason)
    declaration_transition(
        declaration_id=review.declaration_id,
        to_status=Declaration.Status.REJECTED,
        actor=actor,
        reason=f"{review.agency.name}: {review.reason}",
    )
    _tell_trader(
        review.declaration,
        verb="review_rejected",
        text=f"{review.agency.name} rejected {review.declaration.reference}: {review.reason}",
    )
    return review


@transaction.atomic
def review_query(*, review_id: int, actor, question: str) -> Query:
    """Ask the trader; the review and the declaration wait until every query is answered."""
    from declarations.models import Declaration
    from declarations.services import declaration_transition

    if not question.strip():
        raise ValidationError({"question": "Write the question for the trader."})
    review = _lock(review_id)
    _ensure_staff_of(actor, review)
    _ensure_declaration_under_review(review)
    if review.is_decided or review.assigned_to_id not in (None, actor.pk):
        _ensure_actionable(review, actor)
    query = Query(review=review, question=question.strip(), asked_by=actor, asked_at=timezone.now())
    query.full_clean()
    query.save()
    review.status = Review.Status.QUERIED
    review.assigned_to = review.assigned_to or actor
    review.save(update_fields=["status", "assigned_to"])
    _audit(review, actor=actor, action="query_asked", reason=query.question)
    if review.declaration.status == Declaration.Status.UNDER_REVIEW:
        declaration_transition(
            declaration_id=review.declaration_id,
            to_status=Declaration.Status.QUERIED,
            actor=actor,
            reason=f"{review.agency.name} asks: {query.question}",
        )
    _tell_trader(
        review.declaration,
        verb="query_asked",
        text=f"{review.agency.name} asks about {review.declaration.reference}: {query.question}",
    )
    return query


@transaction.atomic
def query_answer(*, query_id: int, actor, answer: str) -> Query:
    """The trader answers; with no query left open, the review goes back to the officer."""
    from declarations.models import Declaration
    from declarations.services import declaration_transition

    if not answer.strip():
        raise ValidationError({"answer": "Write your answer."})
    review_id = Query.objects.values_list("review_id", flat=True).get(pk=query_id)
    review = _lock(review_id)
    if not (actor.is_trader and actor.company_id == review.declaration.company_id):
        raise PermissionDenied
    query = Query.objects.select_for_update().get(pk=query_id)
    if not query.is_open:
        raise ApplicationError("This query has already been answered.")
    _ensure_declaration_under_review(review)
    query.answer = answer.strip()
    query.answered_by = actor
    query.answered_at = timezone.now()
    query.full_clean()
    query.save()
    _audit(review, actor=actor, action="query_answered", reason=query.answer)
    if not review.queries.filter(answered_at__isnull=True).exists():
        review.status = Review.Status.IN_PROGRESS
        review.save(update_fields=["status"])
    still_open = Query.objects.filter(
        review__declaration_id=review.declaration_id, answered_at__isnull=True
    ).exists()
    if not still_open and review.declaration.status == Declaration.Status.QUERIED:
        declaration_transition(
            declaration_id=review.declaration_id,
            to_status=Declaration.Status.UNDER_REVIEW,
            actor=actor,
            reason="every query answered",
        )
    notify_on_commit(
        recipient_ids=[review.assigned_to_id or query.asked_by_id],
        verb="query_answered",
        text=f"{review.declaration.reference}: the trader answered your query",
        url=reverse("agencies:review", args=[review.pk]),
    )
    return query


@transaction.atomic
def inspection_record(
    *,
    review_id: int,
    actor,
    kind: str,
    finding: str,
    revenue_difference: Decimal = Decimal("0"),
    notes: str = "",
) -> Inspection:
    """Customs' lane work: a documentary check or a physical inspection, and what it found."""
    review = _lock(review_id)
    _ensure_staff_of(actor, review)
    if not review.agency.is_customs:
        raise ApplicationError("Only customs records documentary checks and inspections.")
    _ensure_actionable(review, actor)
    inspection = Inspection(
        review=review,
        kind=kind,
        finding=finding,
        revenue_difference=revenue_difference,
        notes=notes.strip(),
        recorded_by=actor,
        recorded_at=timezone.now(),
    )
    inspection.full_clean()
    inspection.save()
    if review.status == Review.Status.OPEN:
        review.status = Review.Status.IN_PROGRESS
    review.assigned_to = review.assigned_to or actor
    review.save(update_fields=["status", "assigned_to"])
    _audit(
        review,
        actor=actor,
        action="inspection_recorded",
        reason=inspection.notes,
        data={
            "kind": kind,
            "finding": finding,
            "revenue_difference": str(inspection.revenue_difference),
        },
    )
    return inspection


@transaction.atomic
def permit_issue(
    *, review_id: int, actor, valid_until: date, permit_type: str = "", number: str = ""
) -> Permit:
    """Issue the agency's permit for its slice; the number is generated when not given."""
    review = _lock(review_id)
    _ensure_staff_of(actor, review)
    _ensure_declaration_under_review(review)
    if review.status == Review.Status.REJECTED:
        raise ApplicationError("A rejected review cannot issue a permit.")
    permit_type = permit_type.strip() or (review.permits_required or [""])[0]
    if not permit_type:
        raise ValidationError({"permit_type": "Name the permit or certificate."})
    if valid_until < timezone.localdate():
        raise ValidationError({"valid_until": "A permit cannot expire in the past."})
    now = timezone.now()
    if not number:
        # The review row is locked, so the sequence within the review is stable.
        sequence = review.permits.count() + 1
        number = f"{review.agency.code.upper()}-{now:%Y}-{review.pk:08d}-{sequence}"
    permit = Permit(
        review=review,
        permit_type=permit_type,
        number=number,
        issued_by=actor,
        issued_at=now,
        valid_until=valid_until,
    )
    permit.full_clean()
    permit.save()
    _audit(review, actor=actor, action="permit_issued", data={"number": permit.number})
    _tell_trader(
        review.declaration,
        verb="permit_issued",
        text=f"{review.agency.name} issued {permit.permit_type} {permit.number}",
    )
    return permit


# --- Lane override, assessment and release ---------------------------------


@transaction.atomic
def declaration_lane_override(*, declaration_id: int, lane: str, actor, reason: str):
    """A customs supervisor changes the lane, never on work they did themselves."""
    from declarations.models import Declaration
    from declarations.services import declaration_lane_change

    if not (actor.role == "supervisor" and actor.agency and actor.agency.is_customs):
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError({"reason": "A lane change needs a written reason."})
    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    own_work = (
        Review.objects.filter(declaration_id=declaration_id, decided_by=actor).exists()
        or Inspection.objects.filter(
            review__declaration_id=declaration_id, recorded_by=actor
        ).exists()
    )
    if own_work:
        raise ApplicationError(
            "Four eyes: you decided a review or recorded an inspection of this declaration; "
            "another supervisor must change its lane."
        )
    if Review.objects.filter(
        declaration_id=declaration_id, agency__is_customs=True, status__in=["approved", "rejected"]
    ).exists():
        raise ApplicationError("Customs has already decided this declaration; its lane is final.")
    if lane == declaration.lane:
        raise ValidationError({"lane": f"The declaration is already in the {lane} lane."})
    previous = declaration.lane
    declaration = declaration_lane_change(
        declaration_id=declaration_id, lane=lane, actor=actor, reason=reason.strip()
    )
    override = LaneOverride(
        declaration=declaration,
        from_lane=previous,
        to_lane=lane,
        reason=reason.strip(),
        changed_by=actor,
        changed_at=timezone.now(),
    )
    override.full_clean()
    override.save()
    declaration_assess_if_cleared(declaration_id=declaration_id, actor=actor)
    return override


def release_blockers(declaration) -> list[str]:
    """What still stands between a declaration and the release of its goods."""
    blockers = [
        f"{review.agency.name} has not approved"
        for review in declaration.reviews.select_related("agency")
        if review.status != Review.Status.APPROVED
    ]
    if not declaration.reviews.exists():
        blockers.append("no agency has reviewed the declaration")
    if not lane_work_done(declaration):
        blockers.append(f"customs has not recorded {_lane_work_needed(declaration)}")
    return blockers


@transaction.atomic
def declaration_assess_if_cleared(*, declaration_id: int, actor):
    """Move the declaration on to duty assessment once nothing but payment is left."""
    from declarations.models import Declaration
    from declarations.services import declaration_assess

    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    if declaration.status != Declaration.Status.UNDER_REVIEW or release_blockers(declaration):
        return None
    declaration = declaration_assess(declaration_id=declaration_id, actor=actor)
    _tell_trader(
        declaration,
        verb="assessed",
        text=f"{declaration.reference} is cleared by every agency: duties are due",
    )
    return declaration


@transaction.atomic
def declaration_release_if_cleared(*, declaration_id: int, actor):
    """Release a paid declaration when every review is approved and the lane work is done;
    else do nothing."""
    from declarations.models import Declaration
    from declarations.services import declaration_transition

    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    if declaration.status != Declaration.Status.PAID or release_blockers(declaration):
        return None
    declaration = declaration_transition(
        declaration_id=declaration_id,
        to_status=Declaration.Status.RELEASED,
        actor=actor,
        reason="every agency approved, lane work done, duties paid",
    )
    _tell_trader(declaration, verb="released", text=f"{declaration.reference}: goods released")
    return declaration

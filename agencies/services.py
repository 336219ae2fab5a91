"""Every write of the agencies app: jurisdiction, reviews, queries, inspections, permits.

A review's effect on its declaration (a rejection rejects it, a query makes it
wait, the last approval sends it to assessment) is the clearance process's
(clearance.services), which calls the functions here on rows it has locked.

Lock order, everywhere: the declaration row first, then the review row. A
decision on one review can complete the whole declaration (every review
approved), so two officers deciding two reviews of the same declaration must
be serialised on the declaration, or each would see the other's review still
open and neither would move the declaration on.
"""

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Company
from agencies.models import (
    IMPORTS,
    LANE_RANK,
    Agency,
    Inspection,
    JurisdictionRule,
    LaneChangeProposal,
    LaneOverride,
    Permit,
    Query,
    Review,
    hs_prefixes_of,
    normalise_permit_number,
)
from core.exceptions import ApplicationError
from core.permissions import grant_many
from declarations.audit import audit_append, audit_entry
from declarations.models import Declaration
from declarations.notices import declarants_tell
from emergencies.selectors import priority_emergency_ids
from notifications.services import (
    Message,
    notify_many,
    recipients_of_agencies_at_offices,
    recipients_of_companies,
    recipients_with_roles,
)

REVIEW_PERMS = ("agencies.view_review", "agencies.change_review")


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


# What an administrator sets on a jurisdiction rule: the pages, the admin and
# jurisdiction_rule_update share this list.
JURISDICTION_FIELDS = (
    "agency", "hs_prefix", "permit_type", "description", "declaration_types", "origin_countries",
    "procedure_codes", "always_review",
)  # fmt: skip


@transaction.atomic
def jurisdiction_rule_create(
    *,
    agency: Agency,
    hs_prefix: str,
    permit_type: str = "",
    description: str = "",
    origin_countries: list[str] | None = None,
    procedure_codes: list[str] | None = None,
    declaration_types: list[str] | None = None,
    always_review: bool = False,
    actor=None,
) -> JurisdictionRule:
    """Add a rule; it applies to declarations assessed from now on, never to open reviews.
    Without declaration types it applies to imports (agencies.models.IMPORTS)."""
    _ensure_platform_admin(actor)
    rule = JurisdictionRule(
        agency=agency,
        hs_prefix=hs_prefix,
        permit_type=permit_type,
        description=description,
        origin_countries=[c.upper() for c in origin_countries or []],
        procedure_codes=list(procedure_codes or []),
        declaration_types=list(IMPORTS if declaration_types is None else declaration_types),
        always_review=always_review,
    )
    rule.full_clean()
    rule.save()
    return rule


@transaction.atomic
def jurisdiction_rule_update(*, rule: JurisdictionRule, actor, **fields) -> JurisdictionRule:
    _ensure_platform_admin(actor)
    unknown = set(fields) - set(JURISDICTION_FIELDS)
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
    items, *, declaration, jurisdiction: tuple | None = None
) -> dict[Agency, tuple[list, list[str]]]:
    """Customs with every item; each agency whose jurisdiction covers an item of the
    declaration (of its type and procedure), with its slice and the permits its
    matching rules require."""
    customs, rules = jurisdiction or _jurisdiction(items)
    concerned: dict[Agency, tuple[list, list[str]]] = {customs: (list(items), [])}
    for rule in rules:
        for item in items:
            if rule.covers(item, declaration):
                slice_, permits = concerned.setdefault(rule.agency, ([], []))
                if item not in slice_:
                    slice_.append(item)
                if rule.permit_type and rule.permit_type not in permits:
                    permits.append(rule.permit_type)
    for slice_, _ in concerned.values():
        slice_.sort(key=lambda item: item.line_no)
    return concerned


# Field checks only when a review is opened: its foreign keys come from rows
# just read, and one review per agency is the database's unique constraint.
REVIEW_UNCHECKED = ["declaration", "agency", "company", "assigned_to", "decided_by"]


def reviews_open_many(*, declarations: list, items_of: dict[int, list]) -> dict[int, list[Review]]:
    """Open the reviews of several declarations, in a constant number of statements.

    The slice and the permits required are copied onto each review, so a
    later change of jurisdiction leaves the declaration as it was assessed.
    Called inside the lane transaction (clearance.services.lanes_apply), with
    the declarations locked and their lanes set; the agencies' officers are
    told of the new work in the same transaction. Each review is in the queue
    of its declaration's control office (Declaration.control_office).
    """
    jurisdiction = _jurisdiction([item for d in declarations for item in items_of[d.pk]])
    first = priority_emergency_ids(d.emergency_id for d in declarations if d.emergency_id)
    now = timezone.now()
    opened: dict[int, list[Review]] = {}
    slices = []
    for declaration in declarations:
        concerned = agencies_concerned(
            items_of[declaration.pk], declaration=declaration, jurisdiction=jurisdiction
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
                office=declaration.control_office,
                relief=declaration.emergency_id in first,
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
    # Told: the agency's officers and supervisors at the office whose queue it is in.
    recipients = recipients_of_agencies_at_offices({(r.agency_id, r.office) for r in reviews})
    notify_many(
        messages=[
            Message(
                recipient_ids=recipients.get((r.agency_id, r.office), []),
                verb="review_opened",
                text=f"New work: {r.agency.name} review of {r.declaration.reference}",
                url=reverse("agencies:review", args=[r.pk]),
            )
            for r in reviews
        ]
    )
    return opened


# --- Locks, guards and the review's one transition function --------------------------------


def review_lock(review_id: int) -> Review:
    """Lock the review's declaration, then the review (see the module docstring)."""
    declaration_id = Review.objects.values_list("declaration_id", flat=True).get(pk=review_id)
    Declaration.objects.select_for_update().only("pk").get(pk=declaration_id)
    return (
        Review.objects.select_for_update(of=("self",))
        .select_related("declaration", "agency", "assigned_to", "decided_by")
        .get(pk=review_id)
    )


def review_ensure_staff(actor, review: Review) -> None:
    """The actor works this review: an officer or supervisor of its agency, posted at
    the office whose queue it is in."""
    if not (
        actor.is_agency_staff
        and actor.agency_id == review.agency_id
        and review.office in actor.office_codes
    ):
        raise PermissionDenied


def review_ensure_open(review: Review) -> None:
    """The declaration is still under review, so its reviews can be worked."""
    if not review.declaration.is_under_review:
        label = review.declaration.get_status_display().lower()
        raise ApplicationError(f"The declaration is {label}; its reviews are closed.")


def review_ensure_actionable(review: Review, actor) -> None:
    """The review can still be decided, and not by someone else holding it."""
    if review.is_decided:
        who = (
            review.decided_by.username
            if review.decided_by
            else f"the platform ({review.automatic_basis})"
        )
        raise ApplicationError(
            f"This review was already {review.status} by {who} "
            f"at {timezone.localtime(review.decided_at):%Y-%m-%d %H:%M:%S %Z}.",
            extra={"status": review.status},
        )
    review_ensure_open(review)
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


def _review_entry(review: Review, *, actor, action: str, reason="", data=None, notice=""):
    return audit_entry(
        review.declaration,
        actor=actor,
        action=action,
        reason=reason,
        data={"review": review.pk, "agency": review.agency.code, **(data or {})},
        notice=notice,
    )


REVIEW_UNSAVED_CHECKS = ["declaration", "agency", "company", "assigned_to", "decided_by"]


def reviews_transition(
    *,
    reviews: list[Review],
    to_status: str,
    actor,
    reason: str = "",
    changes=None,
    notice: str | Callable[[Review], str] = "",
) -> None:
    """The only way a review changes status: reviews the caller has locked (with their
    declaration, locked first), checked against Review.TRANSITIONS, each move in the
    declaration's audit trail, in a constant number of statements.

    A decision records who took it: an officer, or the platform (no actor)
    with the basis set on each review; closing a review tells the officer who
    held it. `notice` (one text, or one per review) is what the declarant reads
    of the move in their history; the step that decides (clearance.services)
    notifies them, as it knows what else happened to the declaration.
    """
    if not reviews:
        return
    now = timezone.now()
    fields = {"status", *(changes or {})}
    entries, closed = [], []
    for review in reviews:
        from_status = review.status
        review.ensure_may_become(to_status)
        review.status = to_status
        for name, value in (changes or {}).items():
            setattr(review, name, value)
        if to_status in (Review.Status.APPROVED, Review.Status.REJECTED):
            if actor is None and not (
                to_status == Review.Status.APPROVED and review.automatic_basis
            ):
                raise ApplicationError("Only an approval with a basis is taken without an officer.")
            review.assigned_to = review.assigned_to or actor
            review.decided_by, review.decided_at = actor, now
            fields |= {"assigned_to", "decided_by", "decided_at", "automatic_basis"}
        if to_status in (Review.Status.REJECTED, Review.Status.CLOSED):
            review.reason = reason
            fields.add("reason")
        if (
            to_status == Review.Status.IN_PROGRESS
            and review.assigned_to_id is None
            and actor is not None
            and actor.is_agency_staff
        ):
            # Working an open review claims it.
            review.assigned_to, review.claimed_at = actor, now
            fields |= {"assigned_to", "claimed_at"}
        review.full_clean(
            exclude=REVIEW_UNSAVED_CHECKS, validate_unique=False, validate_constraints=False
        )
        data = {"from": from_status}
        if review.automatic_basis and to_status == Review.Status.APPROVED:
            data["automatic"] = review.automatic_basis
        entries.append(
            _review_entry(
                review, actor=actor, action=f"review_{to_status}", reason=reason or
                review.automatic_basis, data=data,
                notice=notice(review) if callable(notice) else notice,
            )
        )  # fmt: skip
        if to_status == Review.Status.CLOSED and review.assigned_to_id:
            closed.append(review)
    Review.objects.bulk_update(reviews, sorted(fields))
    audit_append(entries)
    notify_many(
        messages=[
            Message(
                recipient_ids=[review.assigned_to_id],
                verb="review_closed",
                text=f"{review.declaration.reference}: your review is closed ({reason})",
                url=reverse("agencies:review", args=[review.pk]),
            )
            for review in closed
        ]
    )


def review_transition(
    *, review: Review, to_status: str, actor, reason: str = "", changes=None, notice: str = ""
) -> Review:
    reviews_transition(
        reviews=[review], to_status=to_status, actor=actor, reason=reason, changes=changes,
        notice=notice,
    )  # fmt: skip
    return review


def reviews_move_office(
    *, declarations: list, to_office: str, actor, reason: str
) -> dict[int, list[Review]]:
    """Move the reviews still to be worked of declarations the caller has locked into the
    queues of `to_office` (their declaration's control office closed), in a constant
    number of statements. Returns them by declaration id.

    Moved: the reviews waiting for their agency, and those the platform approved on
    a basis a lane change can take away (they would open again in the closed
    office's queue). An officer's decision stays with the office that took it.
    A moved review is nobody's until an officer of the new office takes it: its
    holder at the closed office is told. The agency's staff at the new office are
    told of the work arriving, as of new work.
    """
    if not declarations:
        return {}
    by_pk = {declaration.pk: declaration for declaration in declarations}
    reviews = list(
        Review.objects.select_for_update(of=("self",))
        .select_related("agency")
        .filter(declaration_id__in=by_pk)
        .filter(
            Q(status__in=Review.ACTIVE) | Q(status=Review.Status.APPROVED, decided_by__isnull=True)
        )
        .exclude(office=to_office)
        .order_by("pk")
    )
    held = []
    for review in reviews:
        review.declaration = by_pk[review.declaration_id]
        if review.assigned_to_id is not None and review.is_active:
            held.append((review, review.assigned_to_id))
            review.assigned_to, review.claimed_at = None, None
        review.office = to_office
    Review.objects.bulk_update(reviews, ["office", "assigned_to", "claimed_at"])
    active = [review for review in reviews if review.is_active]
    recipients = recipients_of_agencies_at_offices({(r.agency_id, to_office) for r in active})
    notify_many(
        messages=[
            Message(
                recipient_ids=recipients.get((review.agency_id, to_office), []),
                verb="review_diverted",
                text=f"New work, diverted to {to_office}: {review.agency.name} review of "
                f"{review.declaration.reference} ({reason})",
                url=reverse("agencies:review", args=[review.pk]),
            )
            for review in active
        ]
        + [
            Message(
                recipient_ids=[holder],
                verb="review_diverted",
                text=f"{review.declaration.reference}: your review moved to {to_office}, "
                f"its office now ({reason})",
            )
            for review, holder in held
            if holder != getattr(actor, "pk", None)
        ]
    )
    moved: dict[int, list[Review]] = {}
    for review in reviews:
        moved.setdefault(review.declaration_id, []).append(review)
    return moved


def reviews_close(*, declaration, actor, reason: str) -> list[Review]:
    """Close every review of a locked declaration still waiting for its agency, and cancel
    the checks ordered for it: the declaration left review (cancelled, amended,
    rejected by another agency)."""
    active = list(
        Review.objects.select_for_update(of=("self",))
        .select_related("agency")
        .filter(declaration=declaration, status__in=Review.ACTIVE)
        .order_by("pk")
    )
    for review in active:
        review.declaration = declaration
    reviews_transition(reviews=active, to_status=Review.Status.CLOSED, actor=actor, reason=reason)
    inspections_cancel(
        inspections=_ordered_checks(declaration=declaration), actor=actor, reason=reason
    )
    lane_proposals_lapse(declaration=declaration, actor=actor, reason=reason)
    return active


# --- Officer's work --------------------------------------------------------


@transaction.atomic
def review_claim(*, review_id: int, actor) -> Review:
    """Take a review so no other officer works it. Claiming it twice is harmless."""
    review = review_lock(review_id)
    review_ensure_staff(actor, review)
    if review.assigned_to_id == actor.pk:
        return review
    if review.assigned_to_id is not None:
        holder = review.assigned_to.username
        raise ApplicationError(
            f"This review is claimed by {holder}.", extra={"assigned_to": holder}
        )
    if not review.is_active:
        raise ApplicationError(f"This review was already {review.get_status_display().lower()}.")
    review_ensure_open(review)
    if review.status == Review.Status.OPEN:
        return review_transition(review=review, to_status=Review.Status.IN_PROGRESS, actor=actor)
    # A queried review stays queried: the officer holds it until the answer comes.
    review.assigned_to, review.claimed_at = actor, timezone.now()
    review.save(update_fields=["assigned_to", "claimed_at"])
    audit_append([_review_entry(review, actor=actor, action="review_claimed")])
    return review


LANE_CHECKS = {
    # The checks that satisfy a lane's work, and the one its lane orders.
    "green": (),
    "yellow": (Inspection.Kind.DOCUMENTARY, Inspection.Kind.PHYSICAL),
    "red": (Inspection.Kind.PHYSICAL,),
}


def lane_check_ordered(lane: str) -> str | None:
    """The check a lane orders: the first of those that satisfy it."""
    return (LANE_CHECKS.get(lane) or (None,))[0]


def lane_work_done(declaration) -> bool:
    """Green needs nothing; yellow a documentary check (or more); red a physical inspection."""
    kinds = LANE_CHECKS.get(declaration.lane, ())
    if not kinds:
        return True
    return Inspection.objects.filter(
        review__declaration=declaration,
        review__agency__is_customs=True,
        status=Inspection.Status.DONE,
        kind__in=kinds,
    ).exists()


def lane_work_needed(declaration) -> str:
    return f"a {Inspection.Kind(lane_check_ordered(declaration.lane)).label.lower()}"


def review_approve(*, review: Review, actor, conditions: str = "") -> Review:
    """Approve the agency's slice of a review the caller has locked, with conditions or not."""
    review_ensure_staff(actor, review)
    review_ensure_actionable(review, actor)
    if review.agency.is_customs and not lane_work_done(review.declaration):
        raise ApplicationError(
            f"The {review.declaration.lane} lane needs "
            f"{lane_work_needed(review.declaration)} before customs approves."
        )
    conditions = conditions.strip()
    notice = f"{review.agency.name} approved" + (
        f" with conditions: {conditions}" if conditions else "."
    )
    review_transition(
        review=review,
        to_status=Review.Status.APPROVED,
        actor=actor,
        reason=conditions,
        changes={"conditions": conditions},
        notice=notice,
    )
    declarants_tell(notices=[(review.declaration, notice, "review_approved")], actor=actor)
    if review.agency.is_customs:
        # Customs' approval makes the lane final.
        lane_proposals_lapse(
            declaration=review.declaration, actor=actor, reason="customs approved the declaration"
        )
    return review


def reviews_approve_automatically(*, reviews: list[Review]) -> None:
    """Approve, with no officer, reviews the caller has locked whose `automatic_basis`
    it has set: a green lane needs no customs officer, a slice whose permits check
    out no officer of their agency. The declarant reads who approved and on what."""
    reviews_transition(
        reviews=reviews,
        to_status=Review.Status.APPROVED,
        actor=None,
        notice=lambda review: f"{review.agency.name} approved: {review.automatic_basis}.",
    )


def review_reopen_automatic(*, review: Review, actor, reason: str) -> Review:
    """Open again a review the platform approved (the caller holds it locked) once the
    basis of that approval is gone; an officer's decision is never undone."""
    if not (review.status == Review.Status.APPROVED and review.decided_by_id is None):
        raise ApplicationError("Only an approval the platform gave is reopened.")
    return review_transition(
        review=review,
        to_status=Review.Status.OPEN,
        actor=actor,
        reason=reason,
        changes={"decided_by": None, "decided_at": None, "automatic_basis": ""},
    )


def review_reject(*, review: Review, actor, reason: str) -> Review:
    """Reject the slice of a review the caller has locked."""
    if not reason.strip():
        raise ValidationError({"reason": "A rejection needs a reason."})
    review_ensure_staff(actor, review)
    review_ensure_open(review)
    if review.is_decided or review.assigned_to_id not in (None, actor.pk):
        review_ensure_actionable(review, actor)
    # A query still open does not stop a rejection: the answer would change nothing.
    return review_transition(
        review=review, to_status=Review.Status.REJECTED, actor=actor, reason=reason.strip()
    )


def query_create(*, review: Review, actor, question: str) -> Query:
    """Ask the trader, on a review the caller has locked; the review waits for the answer."""
    if not question.strip():
        raise ValidationError({"question": "Write the question for the trader."})
    review_ensure_staff(actor, review)
    review_ensure_open(review)
    if review.is_decided or review.assigned_to_id not in (None, actor.pk):
        review_ensure_actionable(review, actor)
    query = Query(review=review, question=question.strip(), asked_by=actor, asked_at=timezone.now())
    query.full_clean()
    query.save()
    notice = f"{review.agency.name} asks: {query.question}"
    audit_append(
        [
            _review_entry(
                review, actor=actor, action="query_asked", reason=query.question,
                data={"query": query.pk}, notice=notice,
            )
        ]
    )  # fmt: skip
    declarants_tell(notices=[(review.declaration, notice, "query_asked")], actor=actor)
    if review.status != Review.Status.QUERIED:
        review_transition(
            review=review,
            to_status=Review.Status.QUERIED,
            actor=actor,
            changes={"assigned_to": review.assigned_to or actor},
        )
    return query


def query_answer_record(*, query_id: int, actor, answer: str) -> tuple[Query, Review]:
    """The trader answers a query; with none left open on its review, the review goes
    back to the officer. Returns the query and its review, locked."""
    if not answer.strip():
        raise ValidationError({"answer": "Write your answer."})
    review_id = Query.objects.values_list("review_id", flat=True).get(pk=query_id)
    review = review_lock(review_id)
    if not (actor.is_trader and actor.company_id == review.declaration.company_id):
        raise PermissionDenied
    query = Query.objects.select_for_update().get(pk=query_id)
    if not query.is_open:
        raise ApplicationError("This query has already been answered.")
    review_ensure_open(review)
    query.answer = answer.strip()
    query.answered_by = actor
    query.answered_at = timezone.now()
    query.full_clean()
    query.save()
    audit_append(
        [
            _review_entry(
                review, actor=actor, action="query_answered", reason=query.answer,
                data={"query": query.pk}, notice=f"Answer sent to {review.agency.name}.",
            )
        ]
    )  # fmt: skip
    if not review.queries.filter(answered_at__isnull=True).exists():
        review_transition(review=review, to_status=Review.Status.IN_PROGRESS, actor=actor)
    notify_many(
        messages=[
            Message(
                recipient_ids=[review.assigned_to_id or query.asked_by_id],
                verb="query_answered",
                text=f"{review.declaration.reference}: the trader answered your query",
                url=reverse("agencies:review", args=[review.pk]),
            )
        ]
    )
    return query, review


# --- Inspections: ordered by the lane, done by an officer --------------------------------


def inspections_order(*, reviews: list[Review], now=None) -> list[Inspection]:
    """Order the check each customs review's lane needs (yellow: documentary, red:
    physical), for reviews just opened; one statement."""
    now = now or timezone.now()
    orders = [
        Inspection(
            review=review,
            kind=lane_check_ordered(review.declaration.lane),
            status=Inspection.Status.ORDERED,
            ordered_at=now,
        )
        for review in reviews
        if review.agency.is_customs and lane_check_ordered(review.declaration.lane)
    ]
    return Inspection.objects.bulk_create(orders)


def inspection_transition(
    *, inspection: Inspection, to_status: str, actor, reason: str = "", changes=None, items=()
) -> Inspection:
    """The only way an inspection changes status (the caller holds the declaration's lock).

    What a check found stays with officers; the declarant's history says only
    that it was done (and the step that follows from it says what it means).
    """
    inspection.ensure_may_become(to_status)
    inspection.status = to_status
    for name, value in (changes or {}).items():
        setattr(inspection, name, value)
    inspection.full_clean(exclude=["review", "recorded_by"])
    inspection.save()
    if items:
        inspection.items.set(items)
    data = {"inspection": inspection.pk, "kind": inspection.kind}
    notice = ""
    if to_status == Inspection.Status.DONE:
        data |= {
            "finding": inspection.finding,
            "revenue_difference": str(inspection.revenue_difference),
            "items": sorted(item.line_no for item in items),
        }
        notice = f"{inspection.get_kind_display()} done."
    audit_append(
        [
            _review_entry(
                inspection.review, actor=actor, action=f"inspection_{to_status}",
                reason=reason, data=data, notice=notice,
            )
        ]
    )  # fmt: skip
    return inspection


def _ordered_checks(*, declaration, review: Review | None = None) -> list[Inspection]:
    """The checks still to do on a declaration the caller has locked (on one of its
    reviews, if given), locked in turn; only their own rows, not their review's or
    agency's, which every other declaration shares."""
    checks = (
        Inspection.objects.select_for_update(of=("self",))
        .filter(status=Inspection.Status.ORDERED)
        .select_related("review__agency")
        .order_by("pk")
    )
    if review is not None:
        checks = checks.filter(review=review)
    else:
        checks = checks.filter(review__declaration=declaration)
    checks = list(checks)
    for inspection in checks:
        inspection.review.declaration = declaration
    return checks


def inspections_cancel(*, inspections: list[Inspection], actor, reason: str) -> None:
    for inspection in inspections:
        inspection_transition(
            inspection=inspection, to_status=Inspection.Status.CANCELLED, actor=actor,
            reason=reason,
        )  # fmt: skip


def inspections_follow_lane(*, declaration, actor, reason: str) -> None:
    """After a lane change: cancel an ordered check the new lane does not need and
    order the one it does, unless a check already done satisfies it."""
    customs_review = (
        Review.objects.select_related("agency")
        .filter(declaration=declaration, agency__is_customs=True)
        .first()
    )
    if customs_review is None:
        return
    customs_review.declaration = declaration
    needed = lane_check_ordered(declaration.lane)
    ordered = _ordered_checks(declaration=declaration, review=customs_review)
    inspections_cancel(
        inspections=[i for i in ordered if i.kind != needed], actor=actor, reason=reason
    )
    if needed and not lane_work_done(declaration) and not any(i.kind == needed for i in ordered):
        inspections_order(reviews=[customs_review])


def inspection_complete(
    *,
    review: Review,
    actor,
    kind: str,
    finding: str,
    revenue_difference: Decimal = Decimal("0"),
    notes: str = "",
    items: list[int] | tuple = (),
    joint: bool = False,
) -> Inspection:
    """Record what a documentary check or physical inspection found, on a customs review
    the caller has locked: the check the lane ordered, or one nobody ordered.

    `items` are the line numbers of the items a discrepancy concerns; what
    follows from the finding (a reassessment, a detention) is the clearance
    process's.

    `joint`: a joint inspection's finding, recorded once for every agency taking
    part (clearance.relief, which checks that the actor is an officer of one of
    them), on this review of any of those agencies, whoever holds it.
    """
    if joint:
        review_ensure_open(review)
        if not review.is_active:
            raise ApplicationError(
                f"{review.agency.name}'s review is {review.get_status_display().lower()}."
            )
    else:
        review_ensure_staff(actor, review)
        if not review.agency.is_customs:
            raise ApplicationError("Only customs records documentary checks and inspections.")
        review_ensure_actionable(review, actor)
    concerned = _finding_items(review, finding, revenue_difference, items)
    to_do = _ordered_checks(declaration=review.declaration, review=review)
    ordered = next((i for i in to_do if i.kind == kind), None)
    now = timezone.now()
    result = {
        "finding": finding,
        "revenue_difference": revenue_difference,
        "notes": notes.strip(),
        "recorded_by": actor,
        "recorded_at": now,
    }
    if ordered is None:
        ordered = Inspection(review=review, kind=kind, status=Inspection.Status.ORDERED)
        ordered.save()
    ordered.review = review
    inspection = inspection_transition(
        inspection=ordered,
        to_status=Inspection.Status.DONE,
        actor=actor,
        reason=notes.strip(),
        changes=result,
        items=concerned,
    )
    if lane_work_done(review.declaration):
        # A physical inspection also does what an ordered documentary check would.
        inspections_cancel(
            inspections=[i for i in to_do if i is not inspection],
            actor=actor,
            reason=f"{inspection.get_kind_display()} done",
        )
    # Working an open review claims it: an officer of another agency in a joint
    # inspection does not take this agency's review.
    if review.status == Review.Status.OPEN and actor.agency_id == review.agency_id:
        review_transition(review=review, to_status=Review.Status.IN_PROGRESS, actor=actor)
    return inspection


def _finding_items(review: Review, finding: str, revenue_difference, line_nos) -> list:
    """The items of the review a finding names: every discrepancy names at least one,
    and no discrepancy names none and recovers nothing."""
    line_nos = sorted(set(line_nos or ()))
    if finding not in Inspection.Finding.values:
        return []  # refused with the other fields' errors when the inspection is cleaned
    if finding == Inspection.Finding.NO_DISCREPANCY:
        if revenue_difference:
            raise ValidationError(
                {"revenue_difference": "A finding of no discrepancy recovers no revenue."}
            )
        if line_nos:
            raise ValidationError({"items": "A finding of no discrepancy concerns no item."})
        return []
    if not line_nos:
        raise ValidationError({"items": "Name the items the finding concerns."})
    by_line = {item.line_no: item for item in review.items.all()}
    unknown = [n for n in line_nos if n not in by_line]
    if unknown:
        raise ValidationError(
            {"items": f"The declaration has no item {', '.join(map(str, unknown))}."}
        )
    return [by_line[n] for n in line_nos]


# --- Lane changes ------------------------------------------------------------


def lane_override_record(
    *, declaration, from_lane: str, to_lane: str, actor, reason: str
) -> LaneOverride:
    """Record a supervisor's lane change (the declaration locked by the caller), and tell
    the officers holding its reviews why the lane is what it is now."""
    override = LaneOverride(
        declaration=declaration,
        from_lane=from_lane,
        to_lane=to_lane,
        reason=reason,
        changed_by=actor,
        changed_at=timezone.now(),
    )
    override.full_clean()
    override.save()
    holders = Review.objects.filter(
        declaration=declaration, status__in=Review.ACTIVE, assigned_to__isnull=False
    ).exclude(assigned_to=actor)
    notify_many(
        messages=[
            Message(
                recipient_ids=[assigned_to_id],
                verb="lane_changed",
                text=f"{declaration.reference}: lane {from_lane} → {to_lane} by "
                f"{actor.username}: {reason}",
                url=reverse("agencies:review", args=[review_id]),
            )
            for review_id, assigned_to_id in holders.values_list("pk", "assigned_to_id")
        ]
    )
    return override


def lane_proposal_record(*, declaration, to_lane: str, actor, reason: str) -> LaneChangeProposal:
    """Record a supervisor's proposal to lower the lane of a declaration the caller has
    locked, and tell the agency's other supervisors that it waits for one of them.
    Officers only: the declarant is told nothing until a lane actually changes."""
    waiting = (
        LaneChangeProposal.objects.filter(
            declaration=declaration, status=LaneChangeProposal.Status.PROPOSED
        )
        .select_related("proposed_by")
        .first()
    )
    if waiting is not None:
        raise ApplicationError(
            f"{waiting.proposed_by.username} already proposed the {waiting.to_lane} lane for "
            "this declaration; approve or refuse that proposal first."
        )
    proposal = LaneChangeProposal(
        declaration=declaration,
        from_lane=declaration.lane,
        to_lane=to_lane,
        reason=reason,
        proposed_by=actor,
        proposed_at=timezone.now(),
    )
    proposal.full_clean()
    proposal.save()
    audit_append(
        [
            audit_entry(
                declaration,
                actor=actor,
                action="lane_change_proposed",
                reason=reason,
                data={
                    "proposal": proposal.pk,
                    "from": proposal.from_lane,
                    "to": to_lane,
                    "proposed_by": actor.username,
                },
            )
        ]
    )
    # The supervisors who may approve it: customs', overseeing the declaration's office
    # (the proposer may be the platform's administrator, after a re-scoring).
    customs_id = actor.agency_id or Agency.objects.values_list("pk", flat=True).get(is_customs=True)
    others = [
        pk
        for pk in recipients_with_roles(
            roles=["supervisor"],
            agency_id=customs_id,
            office_codes=[declaration.control_office],
        )
        if pk != actor.pk
    ]
    notify_many(
        messages=[
            Message(
                recipient_ids=others,
                verb="lane_change_proposed",
                text=f"{declaration.reference}: {actor.username} proposes lane "
                f"{proposal.from_lane} → {to_lane}; a second supervisor must approve it",
                url=reverse("agencies:lane-proposals"),
            )
        ]
    )
    return proposal


LANE_PROPOSAL_ACTIONS = {
    LaneChangeProposal.Status.APPROVED: "lane_change_approved",
    LaneChangeProposal.Status.REFUSED: "lane_change_refused",
    LaneChangeProposal.Status.LAPSED: "lane_change_lapsed",
}


def lane_proposal_transition(
    *, proposal: LaneChangeProposal, to_status: str, actor, note: str = ""
) -> LaneChangeProposal:
    """The only way a lane proposal changes status (the caller holds the locks of its
    declaration and of the proposal); the declaration's trail names both supervisors."""
    proposal.ensure_may_become(to_status)
    proposal.status = to_status
    lapsed = to_status == LaneChangeProposal.Status.LAPSED
    # A lapse is nobody's decision; the trail still says whose step caused it.
    proposal.decided_by, proposal.decided_at = (None if lapsed else actor), timezone.now()
    proposal.decision_note = note
    proposal.full_clean(exclude=["declaration"], validate_constraints=False)
    proposal.save()
    audit_append(
        [
            audit_entry(
                proposal.declaration,
                actor=actor,
                action=LANE_PROPOSAL_ACTIONS[to_status],
                reason=note or proposal.reason,
                data={
                    "proposal": proposal.pk,
                    "from": proposal.from_lane,
                    "to": proposal.to_lane,
                    "proposed_by": proposal.proposed_by.username,
                    "decided_by": actor.username if actor else None,
                },
            )
        ]
    )
    if to_status != LaneChangeProposal.Status.APPROVED and actor != proposal.proposed_by:
        notify_many(
            messages=[
                Message(
                    recipient_ids=[proposal.proposed_by_id],
                    verb=LANE_PROPOSAL_ACTIONS[to_status],
                    text=f"{proposal.declaration.reference}: your proposal of the "
                    f"{proposal.to_lane} lane is {proposal.get_status_display().lower()}"
                    + (f": {note}" if note else ""),
                    url=reverse("agencies:lane-proposals"),
                )
            ]
        )
    return proposal


def lane_proposals_lapse(*, declaration, actor, reason: str) -> None:
    """Lapse the proposal waiting on a declaration the caller has locked: it left
    review, or its lane was set otherwise, so what was proposed no longer applies."""
    for proposal in (
        LaneChangeProposal.objects.select_for_update(of=("self",))
        .select_related("proposed_by")
        .filter(declaration=declaration, status=LaneChangeProposal.Status.PROPOSED)
    ):
        proposal.declaration = declaration
        lane_proposal_transition(
            proposal=proposal, to_status=LaneChangeProposal.Status.LAPSED, actor=actor,
            note=reason,
        )  # fmt: skip


# --- Permits ---------------------------------------------------------------

# What an officer writes on a permit issued ahead of any declaration; the
# page's form and the API's serializer share this list.
PERMIT_FIELDS = (
    "holder_tax_id", "permit_type", "hs_prefixes", "origin_countries", "valid_from",
    "valid_until", "number",
)  # fmt: skip


def _ensure_officer(actor) -> None:
    if not (actor is not None and actor.is_agency_staff):
        raise PermissionDenied


def _next_permit_number(agency: Agency, now) -> str:
    """AGENCY-YYYY-000001, in sequence within the agency and the year."""
    # Numbers are handed out one issuance at a time per agency; permits are
    # issued by hand, rarely enough that the agency row is the lock.
    Agency.objects.select_for_update().only("pk").get(pk=agency.pk)
    prefix = f"{agency.code.upper()}-{now:%Y}-"
    # The highest of the sequence, not a count: an officer may have typed a
    # number of the same form, and review-issued ones have another.
    last = (
        Permit.objects.filter(agency=agency, number__regex=rf"^{re.escape(prefix)}\d{{6}}$")
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return f"{prefix}{int(last[-6:]) + 1 if last else 1:06d}"


@transaction.atomic
def permit_issue(
    *,
    actor,
    valid_until: date,
    permit_type: str = "",
    number: str = "",
    holder_tax_id: str = "",
    hs_prefixes: list[str] | None = None,
    origin_countries: list[str] | None = None,
    valid_from: date | None = None,
    review_id: int | None = None,
) -> Permit:
    """Issue a permit of the actor's agency to a company for some goods.

    Ahead of any declaration, naming the holder (by tax id) and the goods
    (HS prefixes, origins). Or while reviewing (`review_id`): then the holder
    is the declarant, the goods are the agency's slice and the permit type
    defaults to the one required. The number is generated when not given.
    """
    _ensure_officer(actor)
    today = timezone.localdate()
    review = None
    if review_id is not None:
        review = review_lock(review_id)
        review_ensure_staff(actor, review)
        review_ensure_open(review)
        if review.status == Review.Status.REJECTED:
            raise ApplicationError("A rejected review cannot issue a permit.")
        permit_type = permit_type.strip() or (review.permits_required or [""])[0]
        holder_id = review.company_id or review.declaration.company_id
        hs_prefixes = hs_prefixes or sorted({item.hs_code for item in review.items.all()})
    else:
        tax_id = holder_tax_id.strip()
        holder_id = Company.objects.filter(tax_id=tax_id).values_list("pk", flat=True).first()
        if holder_id is None:
            raise ValidationError(
                {"holder_tax_id": f"No company has the tax id {tax_id or '(empty)'}."}
            )
    if not permit_type.strip():
        raise ValidationError({"permit_type": "Name the permit or certificate."})
    if valid_until < today:
        raise ValidationError({"valid_until": "A permit cannot expire in the past."})
    valid_from = valid_from or today
    if valid_from > valid_until:
        raise ValidationError({"valid_from": "A permit cannot start after it expires."})
    now = timezone.now()
    agency = actor.agency
    if number.strip():
        number = normalise_permit_number(number)
    elif review is not None:
        # The review row is locked, so the sequence within the review is stable.
        sequence = review.permits.count() + 1
        number = f"{agency.code.upper()}-{now:%Y}-{review.pk:08d}-{sequence}"
    else:
        number = _next_permit_number(agency, now)
    permit = Permit(
        agency=agency,
        number=number,
        permit_type=permit_type.strip(),
        holder_id=holder_id,
        hs_prefixes=[p.strip() for p in hs_prefixes or [] if p.strip()],
        origin_countries=[c.strip().upper() for c in origin_countries or [] if c.strip()],
        valid_from=valid_from,
        valid_until=valid_until,
        review=review,
        issued_by=actor,
        issued_at=now,
    )
    if not permit.hs_prefixes:
        raise ValidationError({"hs_prefixes": "Name the goods: at least one HS prefix."})
    permit.full_clean(exclude=["agency", "holder", "review", "issued_by"])
    if Permit.objects.filter(agency=agency, number=number).exists():
        raise ValidationError({"number": f"{agency.name} already issued permit {number}."})
    permit.save()
    notice = f"{agency.name} issued {permit.permit_type} {permit.number}."
    if review is not None:
        audit_append(
            [
                _review_entry(
                    review, actor=actor, action="permit_issued", data={"number": permit.number},
                    notice=notice,
                )
            ]
        )  # fmt: skip
        declarants_tell(notices=[(review.declaration, notice, "permit_issued")], actor=actor)
    else:
        _tell_holder(permit, verb="permit_issued", text=f"{notice} Cite it on your declarations.")
    return permit


def _tell_holder(permit: Permit, *, verb: str, text: str) -> None:
    recipients = recipients_of_companies([permit.holder_id]).get(permit.holder_id, [])
    notify_many(
        messages=[
            Message(
                recipient_ids=recipients,
                verb=verb,
                text=text,
                url=reverse("agencies:permit", args=[permit.pk]),
            )
        ]
    )


@transaction.atomic
def permit_transition(*, permit_id: int, to_status: str, actor, reason: str = "") -> Permit:
    """The only way a permit changes status: row lock, Permit.TRANSITIONS, who, when
    and why on the row itself (a permit outlives any one declaration's audit trail)."""
    permit = Permit.objects.select_for_update().select_related("agency").get(pk=permit_id)
    if not (actor.is_agency_staff and actor.agency_id == permit.agency_id):
        raise PermissionDenied
    permit.ensure_may_become(to_status)
    permit.status = to_status
    if to_status == Permit.Status.REVOKED:
        permit.revoked_by, permit.revoked_at, permit.revoke_reason = actor, timezone.now(), reason
    permit.full_clean(exclude=["agency", "holder", "review", "issued_by", "revoked_by"])
    permit.save()
    return permit


def permit_revoke(*, permit_id: int, actor, reason: str) -> Permit:
    """Revoke a permit: declarations lodged from now on may no longer cite it."""
    if not reason.strip():
        raise ValidationError({"reason": "A revocation needs a reason."})
    with transaction.atomic():
        permit = permit_transition(
            permit_id=permit_id, to_status=Permit.Status.REVOKED, actor=actor,
            reason=reason.strip(),
        )  # fmt: skip
        _tell_holder(
            permit,
            verb="permit_revoked",
            text=f"{permit.agency.name} revoked permit {permit.number}: {permit.revoke_reason}",
        )
    return permit

"""The clearance process: lodgement → risk assessment → lane → agency reviews →
assessment → payment → release.

Each step crosses the domain apps (declarations, risk, agencies), which keep
their own rows and rules and never call one another's services: the steps
here call them, in one transaction, on rows locked declaration first (the
lock order of agencies.services). The domain transitions write the audit
entries and the notifications in that transaction; Celery tasks are queued
once it commits.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import reduce
from operator import or_

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from agencies.models import (
    Agency,
    Inspection,
    LaneChangeProposal,
    LaneOverride,
    Query,
    Review,
    lowers_scrutiny,
)
from agencies.selectors import permit_cleared_reviews
from agencies.services import (
    inspection_complete,
    inspections_follow_lane,
    inspections_order,
    lane_override_record,
    lane_proposal_record,
    lane_proposal_transition,
    lane_proposals_lapse,
    lane_work_done,
    lane_work_needed,
    query_answer_record,
    query_create,
    review_ensure_staff,
    review_lock,
    review_reopen_automatic,
    reviews_approve_automatically,
    reviews_close,
    reviews_open_many,
)
from agencies.services import review_approve as review_approve_slice
from agencies.services import review_reject as review_reject_slice
from core.exceptions import ApplicationError, InvalidTransition
from declarations.duties import import_duties
from declarations.models import Declaration, Lane, Payment
from declarations.notices import lane_guidance, release_notice
from declarations.services import (
    Move,
    declaration_assess,
    declaration_create,
    declaration_lane_set,
    declaration_mark_submitted,
    declaration_reassess,
    declaration_transition,
    declaration_version_create,
    declarations_assess_locked,
    declarations_destination_inspection_require,
    declarations_move_locked,
    ensure_declarant,
    payment_transition,
)
from devices.models import DeviceEvent, MovementAlert
from devices.services import StoredBatch, device_events_attach, device_events_store
from guarantees.services import guarantee_draw, guarantee_draw_move, guarantee_draw_release
from notifications.services import (
    Message,
    notify_many,
    recipients_by_office,
    recipients_with_roles,
)
from payments.services import ensure_not_replayed, payment_notification_record
from relief.services import joint_inspections_offer, owed_documents_open
from risk.models import LaneDecision
from risk.scoring import Floor
from risk.services import (
    ScoringBatch,
    lane_decision_manual,
    scoring_failure_count,
    scoring_faults_update,
)
from risk.training import training_records_from_inspections
from supplies.services import prenotification_match

logger = logging.getLogger(__name__)

Status = Declaration.Status

# After this many failed scoring attempts a declaration goes to manual review.
MAX_SCORING_ATTEMPTS = 3


# ---- Lodgement -----------------------------------------------------------------------------


def _queue_scoring(declaration_id: int) -> None:
    """Queue the risk assessment once the lodgement commits. If the broker is down
    the lodgement still stands: the sweeper finds it without a lane and queues it."""
    from clearance.tasks import score_declaration

    transaction.on_commit(lambda: score_declaration.delay(declaration_id), robust=True)


def transit_at_stake(declaration: Declaration) -> Decimal:
    """The import duties and taxes a transit movement's goods would owe: what its
    guarantee covers, at the rates of the day it was accepted."""
    items = list(declaration.items.order_by("line_no"))
    return import_duties(declaration, items, on=declaration.acceptance_day).total


def _guarantee_draw(declaration: Declaration, *, actor) -> None:
    """A transit movement draws what it puts at stake from its guarantee as it is lodged,
    in the lodgement's transaction: a guarantee found short then (another movement drew
    first) refuses the lodgement on its field, and nothing is stored."""
    if declaration.is_transit:
        guarantee_draw(declaration=declaration, amount=transit_at_stake(declaration), actor=actor)


def _guarantee_release(declaration: Declaration, *, actor, reason: str) -> None:
    """A transit declaration that ends without moving gives its guarantee back."""
    if declaration.is_transit:
        guarantee_draw_release(declaration=declaration, actor=actor, reason=reason)


@transaction.atomic
def declaration_lodge(*, actor, header: dict, items: list[dict]) -> Declaration:
    """File and lodge a declaration in one step (no draft in between)."""
    declaration = declaration_create(actor=actor, header=header, items=items, lodge=True)
    _guarantee_draw(declaration, actor=actor)
    prenotification_match(declaration=declaration, actor=actor)
    owed_documents_open(declaration=declaration, actor=actor)
    _queue_scoring(declaration.pk)
    return declaration


@transaction.atomic
def declaration_submit(*, declaration: Declaration, actor) -> Declaration:
    """Lodge a draft; its risk assessment is queued once the submission commits."""
    submitted = declaration_mark_submitted(declaration=declaration, actor=actor)
    _guarantee_draw(submitted, actor=actor)
    prenotification_match(declaration=submitted, actor=actor)
    owed_documents_open(declaration=submitted, actor=actor)
    _queue_scoring(submitted.pk)
    return submitted


@transaction.atomic
def declaration_amend(
    *, actor, declaration: Declaration, header: dict, items: list[dict], reason: str = ""
) -> Declaration:
    """Replace a lodged declaration by a new version, lodged and assessed again.

    The replaced version leaves every queue: its waiting reviews close and its
    ordered checks are cancelled. The new version is scored never below the
    lane of the one it replaces (see lane_floors).
    """
    old, new = declaration_version_create(
        actor=actor, declaration=declaration, header=header, items=items, reason=reason
    )
    if old.is_transit or new.is_transit:
        # The guarantee follows the newest version, for what it now puts at stake.
        at_stake = transit_at_stake(new) if new.is_transit else Decimal("0")
        guarantee_draw_move(old=old, new=new, amount=at_stake, actor=actor)
    reviews_close(declaration=old, actor=actor, reason=f"replaced by version {new.version}")
    prenotification_match(declaration=new, actor=actor)
    # A provisional declaration's deadline and documents owed follow the newest version.
    owed_documents_open(declaration=new, actor=actor, replaces=old)
    _queue_scoring(new.pk)
    return new


@transaction.atomic
def declaration_cancel(*, actor, declaration: Declaration, reason: str) -> Declaration:
    """The declarant withdraws the declaration; the agencies' waiting reviews close."""
    ensure_declarant(actor, declaration)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the declaration is cancelled."})
    locked = Declaration.objects.select_for_update().get(pk=declaration.pk)
    declaration_transition(
        declaration_id=locked.pk,
        locked=locked,
        to_status=Status.CANCELLED,
        actor=actor,
        reason=reason.strip(),
        notice=f"Cancelled: {reason.strip()}",
    )
    _guarantee_release(locked, actor=actor, reason="cancelled by the declarant")
    reviews_close(declaration=locked, actor=actor, reason="cancelled by the declarant")
    return locked


# ---- Risk assessment -----------------------------------------------------------------------


def _waiting():
    """Submitted declarations without a lane decision, locked as they are read;
    rows another transaction holds are skipped, not waited for."""
    decided = LaneDecision.objects.filter(declaration_id=OuterRef("pk"))
    return (
        Declaration.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=Status.SUBMITTED)
        .exclude(Exists(decided))
        .select_related("company")
    )


def declarations_assess_risk(*, declaration_ids: list[int], more: int = 0) -> list[LaneDecision]:
    """Score submitted declarations, and up to `more` others waiting for a lane.

    They are scored together: locked first with SKIP LOCKED, so concurrent
    workers take disjoint batches and one already decided, no longer
    submitted or being decided elsewhere is left alone (any number of runs
    leave one decision); then one model call and one transaction decide them
    all. A declaration whose scoring fails, or all of them if deciding them
    together fails, is then decided in a transaction of its own, so that a
    bad declaration is counted (and in the end held) alone. A systemic fault
    (the model or a live rule failing for every declaration) is no
    declaration's: they are decided by a fallback and the fault is recorded
    once (risk.services.ScoringBatch, scoring_faults_update).
    """
    try:
        decisions, undecided = _assess_together(declaration_ids=declaration_ids, more=more)
    except OperationalError:
        raise
    except Exception:
        logger.warning("scoring %s together failed", declaration_ids, exc_info=True)
        decisions, undecided = [], list(declaration_ids)
    for declaration_id in undecided:
        decision = _assess_alone(declaration_id)
        if decision is not None:
            decisions.append(decision)
    return decisions


def declaration_assess_risk(*, declaration_id: int) -> LaneDecision | None:
    """Score one submitted declaration, set its lane and open the agency reviews.

    Safe to run any number of times (see declarations_assess_risk).
    """
    decisions = declarations_assess_risk(declaration_ids=[declaration_id])
    return decisions[0] if decisions else None


@transaction.atomic
def _assess_together(*, declaration_ids: list[int], more: int) -> tuple[list[LaneDecision], list]:
    """Lock, score and decide a batch in one transaction and a constant number of
    statements. Returns the decisions and the ids of the declarations whose
    scoring raised, left to be decided one by one."""
    declarations = list(_waiting().filter(pk__in=declaration_ids))
    if more > 0:
        # Oldest first, as a queue: the partial index on submitted declarations.
        others = _waiting().exclude(pk__in=declaration_ids).order_by("submitted_at")
        declarations += others[:more]
    if not declarations:
        return [], []
    batch = ScoringBatch(declarations)
    floors = lane_floors(declarations)
    decided, undecided = [], []
    for declaration in declarations:
        try:
            decided.append(
                (declaration, *_decide_timed(batch, declaration, floors.get(declaration.pk)))
            )
        except Exception:
            logger.exception("scoring declaration %s failed", declaration.pk)
            undecided.append(declaration.pk)
    records = _record_decisions(batch, decided) if decided else []
    scoring_faults_update(batch=batch)
    return records, undecided


def _assess_alone(declaration_id: int) -> LaneDecision | None:
    """Score one declaration in a transaction of its own; a failure is counted for it."""
    try:
        with transaction.atomic():
            declarations = list(_waiting().filter(pk=declaration_id))
            if not declarations:
                logger.info(
                    "declaration %s: decided, being decided or not submitted", declaration_id
                )
                return None
            batch = ScoringBatch(declarations)
            floor = lane_floors(declarations).get(declaration_id)
            decided = [(declarations[0], *_decide_timed(batch, declarations[0], floor))]
            record = _record_decisions(batch, decided)[0]
            scoring_faults_update(batch=batch)
            return record
    except OperationalError:
        raise
    except Exception as exc:
        logger.exception("scoring declaration %s failed", declaration_id)
        declaration_scoring_failed(
            declaration_id=declaration_id, error=f"{type(exc).__name__}: {exc}"
        )
        return None


def lane_floors(declarations: list[Declaration]) -> dict[int, Floor]:
    """What each declaration keeps of one it replaces that was already routed.

    An amendment keeps the lane of the version it amends; an invoice filed
    again after its declaration was cancelled keeps that declaration's lane.
    Either way the random draw is not made again. Otherwise amending or
    refiling would be a way to try for a greener lane. One query a batch.
    """
    wanted = [Q(pk=d.previous_version_id) for d in declarations if d.previous_version_id]
    wanted += [
        Q(company_id=d.company_id, invoice_number=d.invoice_number, status=Status.CANCELLED)
        for d in declarations
        if not d.previous_version_id
    ]
    replaced = (
        Declaration.objects.filter(reduce(or_, wanted))
        .exclude(lane="")
        .select_related("lane_decision")
        .order_by("-updated_at")
    )
    by_pk, by_invoice = {}, {}
    for old in replaced:
        by_pk[old.pk] = old
        if old.status == Status.CANCELLED:
            by_invoice.setdefault((old.company_id, old.invoice_number), old)
    floors = {}
    for declaration in declarations:
        if declaration.previous_version_id:
            old = by_pk.get(declaration.previous_version_id)
            why = f"amends version {old.version} ({old.reference})" if old else ""
        else:
            old = by_invoice.get((declaration.company_id, declaration.invoice_number))
            why = (
                f"refiles invoice {old.invoice_number} of cancelled {old.reference}" if old else ""
            )
        if old is None:
            continue
        drawn = getattr(getattr(old, "lane_decision", None), "randomly_selected", "")
        floors[declaration.pk] = Floor(
            lane=old.lane,
            randomly_selected=drawn,
            text=f"lane at least {old.lane}: {why}, routed {old.lane}",
        )
    return floors


def _decide_timed(batch: ScoringBatch, declaration, floor: Floor | None) -> tuple:
    mark = time.perf_counter()
    decision = batch.decide(declaration, floor)
    rules_ms = round((time.perf_counter() - mark) * 1000, 1)
    return decision, {"model_ms": batch.model_ms, "rules_ms": rules_ms}


def _record_decisions(batch: ScoringBatch, decided: list[tuple]) -> list[LaneDecision]:
    """Apply the lanes of declarations locked in this transaction and store their
    decisions: (declaration, decision, timings), in a constant number of statements."""
    mark = time.perf_counter()
    choices, records = [], []
    for declaration, decision, timings in decided:
        record = batch.record(declaration, decision, timings)
        records.append(record)
        choices.append(LaneChoice(declaration, decision.lane, decision=record))
    lanes_apply(choices=choices, actor=None, items_of=batch.items_of)
    writes_ms = (time.perf_counter() - mark) * 1000 / len(decided)
    for record, (_, _, timings) in zip(records, decided, strict=True):
        timings["reviews_ms"] = round(writes_ms, 1)
        timings["total_ms"] = round(batch.shared_ms + timings["rules_ms"] + writes_ms)
        record.duration_ms = timings["total_ms"]
    return LaneDecision.objects.bulk_create(records)


@transaction.atomic
def declaration_scoring_failed(*, declaration_id: int, error: str) -> bool:
    """Count a failed scoring attempt; after MAX_SCORING_ATTEMPTS, hold the declaration
    for manual routing and tell those who route it. Returns whether it was held."""
    declaration = (
        Declaration.objects.select_for_update().filter(pk=declaration_id, status=Status.SUBMITTED)
    ).first()
    if declaration is None:
        return False
    attempts = scoring_failure_count(declaration_id=declaration_id, error=error)
    if attempts < MAX_SCORING_ATTEMPTS:
        return False
    declaration_transition(
        declaration_id=declaration_id,
        locked=declaration,
        to_status=Status.HELD,
        actor=None,
        reason=f"risk scoring failed {attempts} times; held for manual review",
        data={"risk_error": error[:500], "attempts": attempts},
    )
    routers = recipients_with_roles(roles=["analyst"]) + recipients_with_roles(
        roles=["supervisor"], agency_id=_customs_id(), office_codes=[declaration.control_office]
    )
    notify_many(
        messages=[
            Message(
                recipient_ids=routers,
                verb="held",
                text=f"{declaration.reference}: risk scoring failed {attempts} times; "
                "route it by hand",
                url=reverse("declarations:detail", args=[declaration_id]),
            )
        ]
    )
    return True


def _customs_id() -> int | None:
    return Agency.objects.filter(is_customs=True).values_list("pk", flat=True).first()


# ---- Lanes ---------------------------------------------------------------------------------


@dataclass
class LaneChoice:
    """A lane for a declaration locked in this transaction: its first, with the decision
    that chose it, or a new one, with the supervisor's written reason."""

    declaration: Declaration
    lane: str
    decision: LaneDecision | None = None
    reason: str = ""
    # A new lane is a supervisor's (a LaneOverride records it) unless the risk engine
    # itself chose it again (clearance.continuity: its decision row says why).
    by_supervisor: bool = True


def lanes_apply(*, choices: list[LaneChoice], actor, items_of: dict | None = None) -> list:
    """Apply lanes: the one place a declaration's lane is set, whoever chose it (the
    risk engine for a batch, an analyst routing a held declaration by hand, a
    supervisor changing it).

    A first lane opens one review per agency concerned, orders the check the
    lane needs (yellow: documents, red: the goods) and moves the declaration
    under review; the caller stores its decision. A new lane is recorded with
    its reason, the ordered checks follow it, and the declaration may be
    cleared by it. Either way the declarant reads the lane and what to do
    next, never why. Constant statements for first lanes, whatever their number.
    """
    first = [c for c in choices if c.decision is not None]
    records = []
    if first:
        _first_lanes(first, actor=actor, items_of=items_of)
        records += [c.decision for c in first]
    for choice in choices:
        if choice.decision is None:
            records.append(_lane_change(choice, actor=actor))
    return records


def _first_lanes(choices: list[LaneChoice], *, actor, items_of: dict | None) -> None:
    declarations = [c.declaration for c in choices]
    for choice in choices:
        # The lane is set before the reviews open, which rank by it.
        choice.declaration.lane = choice.lane
    if items_of is None:
        items_of = {d.pk: list(d.items.order_by("line_no")) for d in declarations}
    reviews = reviews_open_many(declarations=declarations, items_of=items_of)
    inspections_order(reviews=[r for opened in reviews.values() for r in opened])
    moves = []
    for choice in choices:
        declaration, decision = choice.declaration, choice.decision
        moves.append(
            Move(
                declaration,
                Status.UNDER_REVIEW,
                reason=choice.reason or f"lane {choice.lane}, score {decision.score}",
                data={
                    "lane": choice.lane,
                    "score": decision.score,
                    "reasons": [r["text"] for r in decision.reasons],
                    "reviews": sorted(r.agency.code for r in reviews[declaration.pk]),
                    "rule_set_version": decision.rule_set_version,
                    "model_version": decision.model_version,
                },
                changes={"lane": choice.lane},
                notice=lane_guidance(choice.lane, office=declaration.control_office),
            )
        )
    declarations_move_locked(moves=moves, actor=actor)
    _clear_automatically(declarations, reviews, items_of, actor=actor)
    # Relief consignments several agencies must inspect: one inspection for all of them.
    joint_inspections_offer(declarations=declarations, reviews_of=reviews)


# What lets the platform approve a slice with no officer.
GREEN_BASIS = "green lane, no check of the documents or the goods"
PERMIT_BASIS = "every item cites a valid permit of the agency"


def _automatic_basis(declaration: Declaration, review: Review, permit_cleared=()) -> str:
    if review.agency.is_customs:
        return GREEN_BASIS if declaration.lane == Lane.GREEN else ""
    return PERMIT_BASIS if review.pk in permit_cleared else ""


def _permit_cleared(declarations: list, reviews_of: dict[int, list], items_of: dict) -> set:
    """The agencies' reviews whose slice the permits cited cover, judged on each
    declaration's day of acceptance; a few queries for each day in the batch."""
    by_day: dict = {}
    for declaration in declarations:
        by_day.setdefault(declaration.acceptance_day, []).extend(reviews_of[declaration.pk])
    cleared = set()
    for day, reviews in by_day.items():
        cleared |= permit_cleared_reviews(reviews=reviews, items_of=items_of, on=day)
    return cleared


def _clear_automatically(
    declarations: list, reviews_of: dict[int, list], items_of: dict, *, actor
) -> None:
    """Approve the slices no officer needs to see (customs' when the lane is green, an
    agency's when the permits it issued cover them), and assess the declarations
    nobody else needs to see either: green is automatic clearance, released once
    the duties are paid. Constant statements for a day's batch."""
    permit_cleared = _permit_cleared(declarations, reviews_of, items_of)
    automatic = []
    for declaration in declarations:
        for review in reviews_of[declaration.pk]:
            review.automatic_basis = _automatic_basis(declaration, review, permit_cleared)
            if review.automatic_basis:
                automatic.append(review)
    if not automatic:
        return
    reviews_approve_automatically(reviews=automatic)
    cleared = [
        declaration
        for declaration in declarations
        if all(r.status == Review.Status.APPROVED for r in reviews_of[declaration.pk])
    ]
    declarations_assess_locked(declarations=cleared, actor=actor)


def _lane_change(choice: LaneChoice, *, actor) -> LaneOverride | None:
    declaration = choice.declaration
    previous = declaration.lane
    declaration_lane_set(
        declaration=declaration,
        lane=choice.lane,
        actor=actor,
        reason=choice.reason,
        notice="Lane changed. " + lane_guidance(choice.lane, office=declaration.control_office),
    )
    override = None
    if choice.by_supervisor:
        override = lane_override_record(
            declaration=declaration, from_lane=previous, to_lane=choice.lane, actor=actor,
            reason=choice.reason,
        )  # fmt: skip
    why = f"lane {previous} → {choice.lane}"
    customs = (
        Review.objects.select_for_update(of=("self",))
        .select_related("agency")
        .filter(declaration=declaration, agency__is_customs=True)
        .first()
    )
    basis = ""
    if customs is not None:
        customs.declaration = declaration
        basis = _automatic_basis(declaration, customs)
        if customs.automatic_basis and not basis:
            # Raised from green: customs now looks, as if it had been this lane all along.
            review_reopen_automatic(review=customs, actor=actor, reason=why)
    inspections_follow_lane(declaration=declaration, actor=actor, reason=why)
    if basis and customs.may_become(Review.Status.APPROVED):
        customs.automatic_basis = basis
        reviews_approve_automatically(reviews=[customs])
    declaration_assess_if_cleared(declaration_id=declaration.pk, actor=actor)
    return override


@transaction.atomic
def declaration_route_manually(
    *, declaration_id: int, lane: str, actor, reason: str
) -> LaneDecision:
    """Set the lane of a declaration held after scoring failed, and open its reviews.

    The decision a worker could not take, taken by a customs supervisor or a
    risk analyst, with the reason on record; it is the declaration's one lane
    decision, like any other.
    """
    if not (actor.is_analyst or (actor.role == "supervisor" and actor.agency.is_customs)):
        raise PermissionDenied
    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    if not actor.is_analyst:
        _ensure_customs_supervisor(actor, declaration)
    if (
        declaration.status != Status.HELD
        or LaneDecision.objects.filter(declaration_id=declaration_id).exists()
    ):
        raise InvalidTransition("Only a declaration held without a lane is routed by hand.")
    decision = lane_decision_manual(
        declaration=declaration, lane=lane, actor=actor, reason=reason.strip()
    )
    lanes_apply(
        choices=[LaneChoice(declaration, lane, decision=decision, reason=reason.strip())],
        actor=actor,
    )
    decision.save()
    return decision


def _ensure_customs_supervisor(actor, declaration: Declaration | None = None) -> None:
    """A customs supervisor, overseeing the declaration's office (if one is given): a
    supervisor acts on the work of the offices they oversee only."""
    if not (actor.role == "supervisor" and actor.agency and actor.agency.is_customs):
        raise PermissionDenied
    if declaration is not None and declaration.control_office not in actor.office_codes:
        raise PermissionDenied


def _did_work_on(declaration: Declaration, actor) -> bool:
    return (
        Review.objects.filter(declaration_id=declaration.pk, decided_by=actor).exists()
        or Inspection.objects.filter(
            review__declaration_id=declaration.pk, recorded_by=actor
        ).exists()
    )


def customs_decided(declaration: Declaration) -> bool:
    """An officer of customs decided; the platform's approval of a green lane is not
    final, and goes when the lane is raised."""
    return Review.objects.filter(
        declaration_id=declaration.pk,
        agency__is_customs=True,
        status__in=[Review.Status.APPROVED, Review.Status.REJECTED],
        decided_by__isnull=False,
    ).exists()


OWN_WORK = (
    "Four eyes: you decided a review or recorded an inspection of this declaration; "
    "another supervisor must change its lane."
)


@transaction.atomic
def declaration_lane_override(*, declaration_id: int, lane: str, actor, reason: str):
    """A customs supervisor changes the lane, never on work they did themselves.

    Raising scrutiny applies at once (a LaneOverride). Lowering it is only
    proposed (a LaneChangeProposal): a second customs supervisor approves it
    with lane_change_approve.
    """
    _ensure_customs_supervisor(actor)
    if not reason.strip():
        raise ValidationError({"reason": "A lane change needs a written reason."})
    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    _ensure_customs_supervisor(actor, declaration)
    if _did_work_on(declaration, actor):
        raise ApplicationError(OWN_WORK)
    if customs_decided(declaration):
        raise ApplicationError("Customs has already decided this declaration; its lane is final.")
    if lane == declaration.lane:
        raise ValidationError({"lane": f"The declaration is already in the {lane} lane."})
    if lowers_scrutiny(declaration.lane, lane):
        if not declaration.is_under_review:
            label = declaration.get_status_display().lower()
            raise InvalidTransition(f"The lane of a {label} declaration cannot change.")
        return lane_proposal_record(
            declaration=declaration, to_lane=lane, actor=actor, reason=reason.strip()
        )
    lane_proposals_lapse(
        declaration=declaration, actor=actor, reason=f"lane set to {lane} by {actor.username}"
    )
    [override] = lanes_apply(
        choices=[LaneChoice(declaration, lane, reason=reason.strip())], actor=actor
    )
    return override


def _lane_proposal_lock(proposal_id: int) -> LaneChangeProposal:
    """Lock the proposal's declaration, then the proposal (the lock order of reviews)."""
    declaration_id = LaneChangeProposal.objects.values_list("declaration_id", flat=True).get(
        pk=proposal_id
    )
    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    proposal = (
        LaneChangeProposal.objects.select_for_update(of=("self",))
        .select_related("proposed_by")
        .get(pk=proposal_id)
    )
    proposal.declaration = declaration
    return proposal


def lane_change_approve(*, proposal_id: int, actor) -> LaneChangeProposal:
    """A second customs supervisor approves a proposed lowering of the lane: the lane
    changes (lanes_apply: checks follow it, the declarant is told) and the trail
    names both supervisors. A proposal that no longer fits the declaration lapses
    instead, and the approver is told why."""
    proposal, lapsed = _lane_change_approve(proposal_id=proposal_id, actor=actor)
    if lapsed:
        raise ApplicationError(f"This proposal has lapsed: {lapsed}.")
    return proposal


@transaction.atomic
def _lane_change_approve(*, proposal_id: int, actor) -> tuple[LaneChangeProposal, str]:
    _ensure_customs_supervisor(actor)
    proposal = _lane_proposal_lock(proposal_id)
    declaration = proposal.declaration
    _ensure_customs_supervisor(actor, declaration)
    proposal.ensure_may_become(LaneChangeProposal.Status.APPROVED)
    if proposal.proposed_by_id == actor.pk:
        raise ApplicationError(
            "Four eyes: you proposed this lane change; another supervisor must approve it."
        )
    if _did_work_on(declaration, actor):
        raise ApplicationError(OWN_WORK)
    stale = ""
    if not declaration.is_under_review:
        stale = f"the declaration is {declaration.get_status_display().lower()}"
    elif declaration.lane != proposal.from_lane:
        stale = f"the lane is {declaration.lane} now"
    elif customs_decided(declaration):
        stale = "customs has already decided the declaration"
    if stale:
        lane_proposals_lapse(declaration=declaration, actor=actor, reason=stale)
        return proposal, stale
    lane_proposal_transition(
        proposal=proposal, to_status=LaneChangeProposal.Status.APPROVED, actor=actor
    )
    lanes_apply(
        choices=[
            LaneChoice(
                declaration,
                proposal.to_lane,
                reason=f"{proposal.reason} (proposed by {proposal.proposed_by.username}, "
                f"approved by {actor.username})",
            )
        ],
        actor=actor,
    )
    return proposal, ""


@transaction.atomic
def lane_change_refuse(*, proposal_id: int, actor, reason: str) -> LaneChangeProposal:
    """Another customs supervisor refuses a proposed lowering (or its proposer withdraws
    it); the lane stays."""
    _ensure_customs_supervisor(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the lane stays."})
    proposal = _lane_proposal_lock(proposal_id)
    _ensure_customs_supervisor(actor, proposal.declaration)
    return lane_proposal_transition(
        proposal=proposal,
        to_status=LaneChangeProposal.Status.REFUSED,
        actor=actor,
        note=reason.strip(),
    )


# ---- Agencies' reviews ---------------------------------------------------------------------


def _ensure_did_not_set_lane(declaration_id: int, actor, *, doing: str) -> None:
    """Four eyes: whoever chose a declaration's lane by hand does not also clear it."""
    if (
        LaneOverride.objects.filter(declaration_id=declaration_id, changed_by=actor).exists()
        or LaneDecision.objects.filter(declaration_id=declaration_id, decided_by=actor).exists()
        or LaneChangeProposal.objects.filter(
            declaration_id=declaration_id,
            proposed_by=actor,
            status__in=[LaneChangeProposal.Status.PROPOSED, LaneChangeProposal.Status.APPROVED],
        ).exists()
    ):
        raise ApplicationError(
            f"Four eyes: you set the lane of this declaration; another officer must {doing}."
        )


@transaction.atomic
def review_approve(*, review_id: int, actor, conditions: str = "") -> Review:
    """Approve the agency's slice; the last approval sends the declaration to assessment."""
    review = review_lock(review_id)
    review_ensure_staff(actor, review)
    _ensure_did_not_set_lane(review.declaration_id, actor, doing="approve its reviews")
    review_approve_slice(review=review, actor=actor, conditions=conditions)
    declaration_assess_if_cleared(declaration_id=review.declaration_id, actor=actor)
    return review


@transaction.atomic
def review_reject(*, review_id: int, actor, reason: str) -> Review:
    """Reject the slice: the whole declaration is rejected, the other reviews close."""
    review = review_lock(review_id)
    review_reject_slice(review=review, actor=actor, reason=reason)
    declaration_transition(
        declaration_id=review.declaration_id,
        locked=review.declaration,
        to_status=Status.REJECTED,
        actor=actor,
        reason=f"{review.agency.name}: {review.reason}",
        notice=f"Rejected by {review.agency.name}: {review.reason}",
    )
    _guarantee_release(review.declaration, actor=actor, reason=f"rejected by {review.agency.name}")
    reviews_close(
        declaration=review.declaration, actor=actor, reason=f"rejected by {review.agency.name}"
    )
    return review


@transaction.atomic
def review_query(*, review_id: int, actor, question: str) -> Query:
    """Ask the trader; the declaration waits until every query is answered."""
    review = review_lock(review_id)
    query = query_create(review=review, actor=actor, question=question)
    if review.declaration.may_become(Status.QUERIED):
        # The query itself told the declarant what is asked.
        declaration_transition(
            declaration_id=review.declaration_id,
            locked=review.declaration,
            to_status=Status.QUERIED,
            actor=actor,
            reason=f"{review.agency.name} asks: {query.question}",
            notice=None,
        )
    return query


@transaction.atomic
def query_answer(*, query_id: int, actor, answer: str) -> Query:
    """The trader answers; with no query left open, the declaration is under review again."""
    query, review = query_answer_record(query_id=query_id, actor=actor, answer=answer)
    still_open = Query.objects.filter(
        review__declaration_id=review.declaration_id, answered_at__isnull=True
    ).exists()
    if not still_open and review.declaration.status == Status.QUERIED:
        declaration_transition(
            declaration_id=review.declaration_id,
            locked=review.declaration,
            to_status=Status.UNDER_REVIEW,
            actor=actor,
            reason="every query answered",
            notice="Every question answered: back under review.",
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
    items: list[int] | tuple = (),
) -> Inspection:
    """Customs' lane work: a documentary check or a physical inspection, what it found,
    and what follows from it.

    Prohibited or undeclared goods detain the declaration until a customs
    supervisor decides; a discrepancy with revenue at stake is reassessed
    and the declarant told what is added. Either way the items concerned
    (`items`, line numbers) become labelled examples for the risk model, and
    the declaration's other items examples of goods found as declared.
    """
    review = review_lock(review_id)
    review_ensure_staff(actor, review)
    _ensure_did_not_set_lane(review.declaration_id, actor, doing="inspect it")
    inspection = inspection_complete(
        review=review, actor=actor, kind=kind, finding=finding,
        revenue_difference=revenue_difference, notes=notes, items=items,
    )  # fmt: skip
    inspection_follow_up(review=review, inspection=inspection, actor=actor)
    return inspection


def inspection_follow_up(*, review: Review, inspection: Inspection, actor) -> None:
    """What follows from a finding recorded on a review the caller has locked: a
    detention, or a reassessment, and the training labels (clearance.relief calls it
    once for a joint inspection's finding, recorded on every agency's review)."""
    finding = inspection.finding
    declaration = review.declaration
    what = inspection.get_kind_display().lower()
    lines = ", ".join(str(item.line_no) for item in inspection.items.all())
    if finding in Inspection.DETAINING:
        declaration_transition(
            declaration_id=declaration.pk,
            locked=declaration,
            to_status=Status.DETAINED,
            actor=actor,
            reason=f"{what} found {inspection.get_finding_display().lower()} (items {lines})",
            data={"inspection": inspection.pk, "finding": finding},
        )
        _tell_customs_supervisors(
            declaration,
            verb="detained",
            text=f"{declaration.reference}: detained after the {what} "
            f"({inspection.get_finding_display().lower()}); decide whether to seize",
            url=reverse("agencies:review", args=[review.pk]),
        )
    elif inspection.revenue_difference > 0:
        amount = f"{inspection.revenue_difference:,.2f} {settings.NATIONAL_CURRENCY}"
        declaration_reassess(
            declaration=declaration,
            amount=inspection.revenue_difference,
            actor=actor,
            reason=f"{what}: {inspection.get_finding_display().lower()}",
            notice=f"Reassessed after the {what} ({inspection.get_finding_display().lower()}, "
            f"item {lines}): {amount} added to the duties and taxes due.",
        )
    training_records_from_inspections(inspections=[inspection])


@transaction.atomic
def declaration_detention_decide(*, declaration_id: int, actor, seize: bool, reason: str):
    """A customs supervisor decides on detained goods: seized (the declaration ends, the
    reviews close) or released to the review, which goes on where it stopped.
    Never the officer who recorded the finding: four eyes."""
    _ensure_customs_supervisor(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the goods are seized or released."})
    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    _ensure_customs_supervisor(actor, declaration)
    if declaration.status != Status.DETAINED:
        raise InvalidTransition("Only detained goods are seized or released from detention.")
    if Inspection.objects.filter(
        review__declaration_id=declaration_id,
        recorded_by=actor,
        finding__in=Inspection.DETAINING,
    ).exists():
        raise ApplicationError(
            "Four eyes: you recorded the finding that detained these goods; another "
            "supervisor decides on them."
        )
    if seize:
        declaration_transition(
            declaration_id=declaration_id,
            locked=declaration,
            to_status=Status.SEIZED,
            actor=actor,
            reason=reason.strip(),
        )
        # Seized goods go nowhere: no duty stays at stake on the movement.
        _guarantee_release(declaration, actor=actor, reason="goods seized")
        reviews_close(declaration=declaration, actor=actor, reason="goods seized")
        return declaration
    declaration_transition(
        declaration_id=declaration_id,
        locked=declaration,
        to_status=Status.UNDER_REVIEW,
        actor=actor,
        reason=reason.strip(),
        notice="Released from detention: the review of the declaration goes on.",
    )
    declaration_assess_if_cleared(declaration_id=declaration_id, actor=actor)
    return declaration


def _tell_customs_supervisors(declaration, *, verb: str, text: str, url: str) -> None:
    """Tell the customs supervisors overseeing the declaration's office."""
    notify_many(
        messages=[
            Message(
                recipient_ids=recipients_with_roles(
                    roles=["supervisor"],
                    agency_id=_customs_id(),
                    office_codes=[declaration.control_office],
                ),
                verb=verb,
                text=text,
                url=url,
            )
        ]
    )


# ---- Assessment, payment, release ----------------------------------------------------------


def release_blockers(declaration, *, seen_by=None) -> list[str]:
    """What still stands between a declaration and the release of its goods.

    `seen_by`: an agency other than customs reads only what concerns its own review,
    not which other agencies look at the declaration.
    """
    reviews = declaration.reviews.select_related("agency")
    if seen_by is not None and not seen_by.is_customs:
        reviews = reviews.filter(agency_id=seen_by.pk)
    blockers = [
        f"{review.agency.name} has not approved"
        for review in reviews
        if review.status != Review.Status.APPROVED
    ]
    if not declaration.reviews.exists():
        blockers.append("no agency has reviewed the declaration")
    if not lane_work_done(declaration):
        blockers.append(f"customs has not recorded {lane_work_needed(declaration)}")
    return blockers


@transaction.atomic
def declaration_assess_if_cleared(*, declaration_id: int, actor):
    """Move the declaration on to duty assessment once nothing but payment is left."""
    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    if not declaration.may_become(Status.ASSESSED) or release_blockers(declaration):
        return None
    return declaration_assess(declaration_id=declaration_id, actor=actor)


@dataclass(frozen=True)
class BankNotification:
    """What the payer's bank says it was paid, from a notification whose signature
    the entry point has checked."""

    notification_id: str
    body: dict


@transaction.atomic
def payment_confirm(
    *,
    payment_reference: str,
    amount: Decimal,
    currency: str,
    bank_reference: str,
    paid_at: datetime,
    source: str,
    actor=None,
    notification: BankNotification | None = None,
) -> Payment:
    """The payer's bank (a signed notification) or a customs cashier confirms a payment
    order: the payment is confirmed with its receipt, the declaration is paid, and the
    goods are released if nothing else blocks. Anything that does not match the
    order is refused and changes nothing.
    """
    if source == Payment.Source.CASHIER:
        if actor is None or not actor.is_cashier:
            raise PermissionDenied
    elif notification is None:
        raise ValueError("a bank confirms a payment with its notification")
    if notification is not None:
        ensure_not_replayed(notification.notification_id)
    order = Payment.objects.filter(reference=payment_reference).first()
    if order is None:
        raise ValidationError({"payment_reference": "No payment order has this reference."})
    # The declaration first, then its payment: the lock order of every clearance step.
    declaration = Declaration.objects.select_for_update().get(pk=order.declaration_id)
    payment = Payment.objects.select_for_update().get(pk=order.pk)
    payment.declaration = declaration  # its audit entry extends the chain of the locked row
    if payment.status == Payment.Status.CONFIRMED:
        raise InvalidTransition(
            f"Payment {payment.reference} was confirmed already "
            f"(receipt {payment.receipt_number}); nothing was changed.",
            extra={"status": payment.status},
        )
    if currency != payment.currency:
        raise ValidationError(
            {"currency": f"The order is payable in {payment.currency}, not {currency}."}
        )
    if amount != payment.amount:
        raise ValidationError(
            {
                "amount": f"The order is for {payment.amount:,.2f} {payment.currency}; "
                f"{amount:,.2f} does not match it."
            }
        )
    if not declaration.may_become(Status.PAID):
        raise InvalidTransition(
            f"{declaration.reference} is {declaration.get_status_display().lower()}: "
            "it cannot be paid now.",
            extra={"status": declaration.status},
        )
    if notification is not None:
        payment_notification_record(
            payment=payment,
            notification_id=notification.notification_id,
            bank_reference=bank_reference,
            amount=amount,
            currency=currency,
            paid_at=paid_at,
            body=notification.body,
        )
    payment_transition(
        payment=payment,
        to_status=Payment.Status.CONFIRMED,
        actor=actor,
        reason=f"confirmed by {payment.Source(source).label.lower()}",
        changes={
            "paid_at": paid_at,
            "source": source,
            "bank_reference": bank_reference,
            "confirmed_by": actor,
        },
    )
    by = "your bank" if source == Payment.Source.BANK else "the customs cashier"
    declaration_transition(
        declaration_id=declaration.pk,
        locked=declaration,
        to_status=Status.PAID,
        actor=actor,
        data={
            "payment_reference": payment.reference,
            "receipt_number": payment.receipt_number,
            "amount": str(payment.amount),
            "source": source,
        },
        notice=f"Payment {payment.reference} of {payment.amount:,.2f} {payment.currency} "
        f"confirmed by {by}: receipt {payment.receipt_number}.",
    )
    declaration_release_if_cleared(declaration_id=declaration.pk)
    return payment


@transaction.atomic
def declaration_release_if_cleared(*, declaration_id: int):
    """Release a paid declaration when its payment is confirmed, every review is
    approved and the lane work is done; else do nothing. The platform releases,
    whoever's step completed the conditions."""
    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    if not declaration.may_become(Status.RELEASED) or release_blockers(declaration):
        return None
    if declaration.is_transit:
        # Released under seal by an officer of its office of departure (clearance.transit).
        return None
    payment = Payment.objects.filter(declaration=declaration).first()
    if payment is None or payment.status != Payment.Status.CONFIRMED:
        return None
    return declaration_transition(
        declaration_id=declaration_id,
        locked=declaration,
        to_status=Status.RELEASED,
        actor=None,
        reason="every agency approved, lane work done, duties paid",
        notice=release_notice(declaration),
    )


# ---- E-seals and cargo sensors ---------------------------------------------------------------


def _movement_alerts_act(*, alerts: list[MovementAlert], movements: dict[int, Declaration]) -> None:
    """What a new alert does, in the transaction that raised it (movements locked): the
    office of destination must inspect the goods before discharging them, the
    movement's trail says why, and the customs staff of its offices of departure
    and destination are told. The declarant is not: targeting is confidential."""
    if not alerts:
        return
    declarations_destination_inspection_require(
        reasons=[
            (
                movements[alert.movement_id],
                f"{alert.get_kind_display()}: {alert.detail}",
                {"alert": alert.kind, "alert_id": alert.pk, "device_event": alert.event_id},
            )
            for alert in alerts
        ]
    )
    posted = recipients_by_office(
        {
            code
            for m in movements.values()
            for code in (m.office_of_departure, m.office_of_destination)
        }
    )
    messages = []
    for alert in alerts:
        movement = movements[alert.movement_id]
        offices = (movement.office_of_departure, movement.office_of_destination)
        messages.append(
            Message(
                recipient_ids=[pk for office in offices for pk in posted.get(office, [])],
                verb="movement_alert",
                text=f"{movement.reference}: {alert.get_kind_display().lower()} "
                f"({alert.detail}). Inspect the goods at {movement.office_of_destination} "
                "before discharge.",
                url=reverse("devices:movement", args=[movement.pk]),
            )
        )
    notify_many(messages=messages)


@transaction.atomic
def device_events_record(*, events: list[DeviceEvent]) -> StoredBatch:
    """The one way device events enter the platform (MQTT listener and HTTP endpoint):
    stored once each, attached to their movements, evaluated, and every new alert
    acted on, all in one transaction. The listener acknowledges the messages to
    the broker only after it commits, so a crash before then loses nothing."""
    batch = device_events_store(events=events)
    _movement_alerts_act(alerts=batch.alerts, movements=batch.movements)
    return batch


@transaction.atomic
def device_events_rematch(*, declaration_id: int) -> list[MovementAlert]:
    """Events of seals no movement carried yet, attached to this transit movement now
    that it is released under those seals, and acted on like any other. For the
    release at the office of departure to call (idempotent: run again, it finds
    nothing waiting)."""
    movement = Declaration.objects.select_for_update().get(pk=declaration_id)
    alerts, movements = device_events_attach(movement=movement)
    _movement_alerts_act(alerts=alerts, movements=movements)
    return alerts

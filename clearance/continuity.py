"""Business continuity: the clearance process when parts of the system or the country fail.

- An office closes: the declarations waiting there (lodged, not yet released)
  are diverted to another open office of a suitable kind. The declaration's
  control office changes (OfficeDiversion and an audit entry), its open reviews
  move into the new office's queues, and the declarant and the new office's
  staff are told. Lodgements naming a closed office are refused
  (declarations.validation.closed_office_errors).
- The risk engine comes back after a fallback (a systemic fault, or an
  administrator's planned outage): the decisions the fallback took are scored
  again by the full engine (lane_decisions_rescore, run by a worker). A
  declaration keeps its one lane decision: where the engine raises scrutiny,
  or where nobody has worked the declaration yet, the decision row takes the
  new lane and reasons (the old ones kept in a LaneRescore and in the audit
  trail); a lower lane is never applied by the machine, it becomes a proposal a
  second customs supervisor decides (agencies' lane proposals).
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from agencies.models import Agency, Inspection, LaneChangeProposal, LaneOverride, Review
from agencies.services import lane_proposal_record, lane_proposals_lapse, reviews_move_office
from clearance.services import LaneChoice, customs_decided, lane_floors, lanes_apply
from core.exceptions import ApplicationError
from declarations.audit import audit_append, audit_entry
from declarations.models import Declaration, OfficeDiversion
from declarations.selectors import declarations_waiting_at
from declarations.services import declarations_divert_locked
from notifications.services import Message, notify_many, recipients_with_roles
from reference.models import Office, OfficeClosure
from reference.selectors import DIVERSION_KINDS, diversion_targets
from risk import scoring
from risk.jobs import risk_job_transition
from risk.models import ConfigAuditEntry, LaneDecision, LaneRescore, RiskJob, RiskSettings
from risk.selectors import rescore_candidates
from risk.services import ScoringBatch, config_audit_record

logger = logging.getLogger(__name__)

Status = Declaration.Status


# ---- Office closures: diverting the waiting work ------------------------------------------


def may_divert_from(user, office_code: str) -> bool:
    """An administrator, or a customs supervisor overseeing the office: moving a
    declaration's control office is customs' call."""
    if not user.is_authenticated:
        return False
    if user.is_platform_admin:
        return True
    return (
        user.role == "supervisor"
        and bool(user.agency_id)
        and user.agency.is_customs
        and office_code in user.office_codes
    )


def _closure_in_force(office_code: str) -> OfficeClosure:
    closure = (
        OfficeClosure.objects.in_force().select_related("office").filter(office_id=office_code)
    ).first()
    if closure is None:
        raise ApplicationError(
            f"{office_code} is not closed: only a closed office's work is diverted."
        )
    return closure


def _target(closure: OfficeClosure, to_office: str) -> Office:
    target = diversion_targets(closure.office).filter(code=(to_office or "").upper()).first()
    if target is None:
        kinds = " or ".join(
            Office.Kind(kind).label.lower() for kind in DIVERSION_KINDS[closure.office.kind]
        )
        raise ValidationError(
            {
                "to_office": f"{to_office or 'No office'} cannot take {closure.office_id}'s "
                f"work: choose an open {kinds} of the same country."
            }
        )
    return target


@transaction.atomic
def declarations_divert(
    *,
    office_code: str,
    to_office: str,
    reason: str,
    actor,
    declaration_ids: list[int] | None = None,
) -> list[OfficeDiversion]:
    """Divert declarations waiting at a closed office to another open office: those named
    by `declaration_ids`, or every one waiting there. Declarations that no longer wait
    there (released, diverted meanwhile) are left alone; if none is left, nothing is
    done and the caller is told so. A constant number of statements however many.
    """
    office_code = (office_code or "").upper()
    if not may_divert_from(actor, office_code):
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError({"reason": "Say why the declarations are diverted."})
    closure = _closure_in_force(office_code)
    target = _target(closure, to_office)
    waiting = declarations_waiting_at(office_code)
    if declaration_ids is not None:
        waiting = waiting.filter(pk__in=declaration_ids)
    # Locked in id order, as every batch of declarations is, so that two diversions
    # (or a diversion and a scoring batch) never wait on each other in a cycle.
    declarations = list(
        Declaration.objects.select_for_update(of=("self",))
        .select_related("company")
        .filter(pk__in=waiting.values("pk"))
        .order_by("pk")
    )
    # Read again under the lock: a declaration released or moved meanwhile stays.
    declarations = [
        d
        for d in declarations
        if d.status in Declaration.AT_OFFICE and d.control_office == office_code
    ]
    if not declarations:
        raise ApplicationError(f"No declaration of these waits at {office_code} any more.")
    why = f"{office_code} closed: {reason.strip()}"
    moved = reviews_move_office(
        declarations=declarations, to_office=target.code, actor=actor, reason=why
    )
    diversions = declarations_divert_locked(
        declarations=declarations,
        to_office=target.code,
        closure=closure,
        reason=reason.strip(),
        actor=actor,
        moved_reviews={
            pk: sorted(review.agency.code for review in reviews) for pk, reviews in moved.items()
        },
    )
    _tell_customs_at(target.code, declarations, moved)
    return diversions


def _tell_customs_at(office_code: str, declarations: list, moved: dict) -> None:
    """The work that arrives without a customs review to show it in a queue (not yet
    scored, held, cleared and waiting for payment or release under seal): the customs
    officers and supervisors of the new office are told of it."""
    customs = Agency.objects.filter(is_customs=True).values_list("pk", flat=True).first()
    unseen = [
        declaration
        for declaration in declarations
        if not any(
            review.agency_id == customs and review.is_active
            for review in moved.get(declaration.pk, [])
        )
    ]
    if not unseen:
        return
    recipients = recipients_with_roles(
        roles=["officer", "supervisor"], agency_id=customs, office_codes=[office_code]
    )
    notify_many(
        messages=[
            Message(
                recipient_ids=recipients,
                verb="declaration_diverted",
                text=f"{declaration.reference} ({declaration.get_status_display().lower()}) "
                f"diverted to {office_code}: its office is closed",
            )
            for declaration in unseen
        ]
    )


# ---- Re-scoring the decisions a fallback took ---------------------------------------------

# Declarations scored together: one lock, one model call, one transaction.
RESCORE_BATCH = 32


def _ensure_admin(actor) -> None:
    if actor is None or not actor.is_platform_admin:
        raise PermissionDenied


@transaction.atomic
def lane_decisions_rescore_request(*, actor) -> RiskJob:
    """Queue the re-scoring of every decision a fallback took: the engine must be back
    (no planned fallback on), and one such job runs at a time."""
    _ensure_admin(actor)
    settings_ = RiskSettings.objects.select_for_update().get(pk=RiskSettings.current().pk)
    if settings_.planned_fallback:
        raise ApplicationError(
            "A planned fallback is on: switch it off first, or the decisions would fall back again."
        )
    running = RiskJob.objects.filter(
        kind=RiskJob.Kind.RESCORE, status__in=[RiskJob.Status.QUEUED, RiskJob.Status.RUNNING]
    ).first()
    if running is not None:
        raise ApplicationError(
            f"Re-scoring job {running.pk} is {running.get_status_display().lower()}; "
            "wait for it to finish."
        )
    waiting = rescore_candidates().count()
    if not waiting:
        raise ApplicationError("No decision taken by a fallback waits to be re-scored.")
    job = RiskJob(kind=RiskJob.Kind.RESCORE, params={"waiting": waiting}, requested_by=actor)
    job.full_clean()
    job.save()
    config_audit_record(
        action=ConfigAuditEntry.Action.RESCORE_REQUESTED,
        subject=f"re-scoring job {job.pk}",
        proposed_by=actor,
        reason=f"{waiting} decisions taken by a fallback",
    )
    from clearance.tasks import rescore_fallback_decisions

    transaction.on_commit(lambda: rescore_fallback_decisions.delay(job.pk), robust=True)
    return job


def lane_decisions_rescore(*, job_id: int) -> dict | None:
    """Run a re-scoring job: every decision a fallback took, a batch per transaction.

    Safe to run twice, at once or again (a redelivered message, a worker killed
    halfway): each declaration is locked, and a decision is re-scored once (the
    LaneRescore's one-to-one key), so a second run finds nothing left to do. The
    job's counts are read from the LaneRescore rows, whichever run wrote them.
    Decisions the engine still cannot take in full (the fault is not over) are left
    for a later job.
    """
    Status_ = RiskJob.Status
    job = RiskJob.objects.select_related("requested_by").filter(pk=job_id).first()
    if job is None or job.is_finished:
        return None
    if job.status == Status_.QUEUED:
        risk_job_transition(
            job_id=job_id, from_status=Status_.QUEUED, to_status=Status_.RUNNING,
            message="started",
        )  # fmt: skip
    total = max(job.params.get("waiting", 0), 1)
    after, still_falling_back, errors = 0, 0, 0
    while True:
        ids = list(
            rescore_candidates()
            .filter(declaration_id__gt=after)
            .order_by("declaration_id")
            .values_list("declaration_id", flat=True)[:RESCORE_BATCH]
        )
        if not ids:
            break
        after = ids[-1]
        try:
            fell_back, failed = _rescore_batch(ids, job=job)
        except OperationalError:
            raise
        except Exception:
            logger.exception("re-scoring declarations %s failed", ids)
            fell_back, failed = 0, len(ids)
        still_falling_back += fell_back
        errors += failed
        done = LaneRescore.objects.filter(job_id=job_id).count()
        RiskJob.objects.filter(pk=job_id).update(
            progress=min(99, done * 100 // total), message=f"{done} re-scored"
        )
    result = _rescore_result(job_id, still_falling_back=still_falling_back, errors=errors)
    risk_job_transition(
        job_id=job_id, from_status=Status_.RUNNING, to_status=Status_.DONE, progress=100,
        message="done", result=result, finished_at=timezone.now(),
    )  # fmt: skip
    return result


def _rescore_result(job_id: int, *, still_falling_back: int, errors: int) -> dict:
    counts = dict.fromkeys(LaneRescore.Outcome.values, 0)
    for outcome in LaneRescore.objects.filter(job_id=job_id).values_list("outcome", flat=True):
        counts[outcome] += 1
    return {"outcomes": counts, "still_falling_back": still_falling_back, "errors": errors}


@transaction.atomic
def _rescore_batch(declaration_ids: list[int], *, job: RiskJob) -> tuple[int, int]:
    """Score a batch again and act on each result; returns how many the engine still
    decided by a fallback and how many failed (both left for a later job)."""
    declarations = list(
        Declaration.objects.select_for_update(of=("self",))
        .select_related("company")
        .filter(pk__in=declaration_ids)
        .order_by("pk")
    )
    decisions = {
        d.declaration_id: d
        for d in LaneDecision.objects.select_for_update(of=("self",))
        .filter(declaration_id__in=declaration_ids)
        .exclude(fallback="")
        .filter(rescore__isnull=True)
    }
    declarations = [d for d in declarations if d.pk in decisions]
    if not declarations:
        return 0, 0
    batch = ScoringBatch(declarations)
    floors = lane_floors(declarations)
    fell_back, failed = 0, 0
    for declaration in declarations:
        old = decisions[declaration.pk]
        try:
            # The draw made then stands: scoring again is not drawing again. So does
            # the lane of a version it amends (or of an invoice refiled).
            kept = floors.get(declaration.pk)
            floor = scoring.Floor(
                lane=kept.lane if kept else scoring.GREEN,
                randomly_selected=old.randomly_selected,
                text=kept.text if kept else "",
            )
            new = batch.decide(declaration, floor)
        except Exception:
            logger.exception("re-scoring declaration %s failed", declaration.pk)
            failed += 1
            continue
        if new.fallback:
            fell_back += 1
            continue
        try:
            with transaction.atomic():
                _rescore_apply(declaration, old, new, batch=batch, job=job)
        except Exception:
            logger.exception("applying the re-score of declaration %s failed", declaration.pk)
            failed += 1
    return fell_back, failed


def _snapshot(decision: LaneDecision) -> dict:
    return {
        "lane": decision.lane,
        "score": decision.score,
        "reasons": decision.reasons,
        "fallback": decision.fallback,
        "rule_set_version": decision.rule_set_version,
        "model_version": decision.model_version,
        "model_probability": decision.model_probability,
        "randomly_selected": decision.randomly_selected,
        "decided_at": decision.decided_at.isoformat(),
    }


FALLBACK_WORDS = {"rules_only": "the rules alone", "default_lane": "the fallback lane"}
# Ended without the goods going anywhere: a stricter lane there is nobody's business.
ENDED_UNCLEARED = frozenset({Status.AMENDED, Status.CANCELLED, Status.REJECTED, Status.SEIZED})


def review_work_started(declaration: Declaration) -> bool:
    """Whether anyone has worked the declaration since its lane: a review taken, queried
    or decided by an officer, a check recorded, or its lane changed by hand."""
    reviews = Review.objects.filter(declaration_id=declaration.pk)
    return (
        reviews.filter(
            Q(assigned_to__isnull=False)
            | Q(decided_by__isnull=False)
            | Q(
                status__in=[
                    Review.Status.IN_PROGRESS,
                    Review.Status.QUERIED,
                    Review.Status.REJECTED,
                ]
            )
        ).exists()
        or Inspection.objects.filter(
            review__declaration_id=declaration.pk, status=Inspection.Status.DONE
        ).exists()
        or LaneOverride.objects.filter(declaration_id=declaration.pk).exists()
    )


def _rescore_apply(declaration, old: LaneDecision, new: scoring.Decision, *, batch, job) -> str:
    """What the full engine's lane means for a declaration a fallback routed (both rows
    locked by the caller): raise at once, record where nobody has worked it yet,
    propose a lowering, or keep."""
    actor = job.requested_by
    current = declaration.lane
    raises = scoring.LANE_SEVERITY[new.lane] > scoring.LANE_SEVERITY[current]
    lowers = scoring.LANE_SEVERITY[new.lane] < scoring.LANE_SEVERITY[current]
    lane_can_change = declaration.is_under_review and not customs_decided(declaration)
    started = review_work_started(declaration)
    was = FALLBACK_WORDS.get(old.fallback, old.fallback)
    when = timezone.localtime(old.decided_at)
    if raises:
        outcome = LaneRescore.Outcome.RAISED if lane_can_change else LaneRescore.Outcome.TOO_LATE
    elif not lowers:
        outcome = LaneRescore.Outcome.KEPT if started else LaneRescore.Outcome.UPDATED
    elif lane_can_change and not started and not _lane_proposal_waiting(declaration):
        outcome = LaneRescore.Outcome.PROPOSED
    else:
        outcome = LaneRescore.Outcome.KEPT
    before = _snapshot(old)
    record = batch.record(declaration, new, timings={})
    after = {**_snapshot(record), "decided_at": timezone.now().isoformat()}
    why = (
        f"re-scored by the full engine after a fallback ({was}: lane {old.lane}, "
        f"{when:%Y-%m-%d %H:%M}): lane {new.lane}, score {new.score}"
    )
    if outcome in LaneRescore.APPLIED:
        old.lane, old.score = new.lane, new.score
        old.reasons = [{"kind": "rescore", "text": why}, *record.reasons]
        old.rule_set_version, old.model_version = record.rule_set_version, record.model_version
        old.model_probability = record.model_probability
        old.randomly_selected, old.fallback = record.randomly_selected, ""
        old.full_clean(exclude=["declaration"], validate_unique=False, validate_constraints=False)
        old.save()
    if outcome == LaneRescore.Outcome.RAISED:
        lane_proposals_lapse(declaration=declaration, actor=actor, reason=why)
        # As a supervisor's raise applies (the declarant told, customs' checks follow,
        # a green lane's automatic approval reopened), but no supervisor chose it: no
        # LaneOverride, the decision row says why.
        lanes_apply(
            choices=[LaneChoice(declaration, new.lane, reason=why, by_supervisor=False)],
            actor=actor,
        )
    elif outcome == LaneRescore.Outcome.PROPOSED:
        lane_proposal_record(
            declaration=declaration, to_lane=new.lane, actor=actor,
            reason=f"{why}; a lower lane is never applied without a second person",
        )  # fmt: skip
    elif outcome == LaneRescore.Outcome.TOO_LATE and declaration.status not in ENDED_UNCLEARED:
        _tell_too_late(declaration, old_lane=current, new=new, why=why)
    rescore = LaneRescore(
        lane_decision=old, job=job, outcome=outcome, before=before, after=after,
        requested_by=actor, at=timezone.now(),
    )  # fmt: skip
    rescore.full_clean(exclude=["lane_decision", "job", "requested_by"])
    rescore.save()
    audit_append(
        [
            audit_entry(
                declaration, actor=actor, action="lane_rescored", reason=why,
                data={"outcome": outcome, "job": job.pk,
                      "before": {k: before[k] for k in ("lane", "score", "fallback")},
                      "after": {k: after[k] for k in ("lane", "score")}},
            )
        ]
    )  # fmt: skip
    return outcome


def _lane_proposal_waiting(declaration) -> bool:
    return LaneChangeProposal.objects.filter(
        declaration_id=declaration.pk, status=LaneChangeProposal.Status.PROPOSED
    ).exists()


def _tell_too_late(declaration, *, old_lane: str, new, why: str) -> None:
    """The engine would have looked harder at goods already past their lane: the customs
    supervisors of the office, who may order a post-clearance check, are told."""
    customs = Agency.objects.filter(is_customs=True).values_list("pk", flat=True).first()
    notify_many(
        messages=[
            Message(
                recipient_ids=recipients_with_roles(
                    roles=["supervisor"],
                    agency_id=customs,
                    office_codes=[declaration.control_office],
                ),
                verb="rescored_too_late",
                text=f"{declaration.reference} ({declaration.get_status_display().lower()}) "
                f"would now be {new.lane}, not {old_lane}: {why}. Consider a post-clearance "
                "check.",
                url=reverse("declarations:detail", args=[declaration.pk]),
            )
        ]
    )

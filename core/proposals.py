"""The writes every four-eyes proposal (core.models.Proposal) shares: filing one
while its one-pending constraint decides, and deciding it."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError


def proposal_file(proposal, *, subject: str):
    """Store a new proposal. The model's unique constraint on pending proposals is what
    keeps one waiting at a time, concurrent filings included; the refusal names
    `subject` ("guarantee GRT-1", "Typhoon Mawar")."""
    proposal.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            proposal.save()
    except IntegrityError as exc:
        raise ApplicationError(
            f"A proposal for {subject} already waits for approval; approve or refuse it first."
        ) from exc
    return proposal


def proposal_transition(proposal, *, to_status: str, actor, note: str = ""):
    """The only way a proposal is decided (the caller holds its lock): its status, who
    decided, when and with what note."""
    proposal.ensure_may_become(to_status)
    proposal.status = to_status
    proposal.decided_by, proposal.decided_at = actor, timezone.now()
    proposal.decision_note = note
    proposal.full_clean(validate_constraints=False)
    proposal.save()
    return proposal

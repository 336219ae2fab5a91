"""Every write of the guarantees app: accepting a guarantee and raising its amount
(four eyes), and the draws transit movements make on it.

Balances change only here, on a guarantee row locked with SELECT ... FOR
UPDATE, so two movements drawing at once are serialised and neither can take
what the other took; the database's check constraints are the last word
(a balance never below zero nor above the amount). Lock order: the
declaration (the caller's), then guarantees by id, then their draws.

Which declaration draws, when, and what follows is the clearance process's
(clearance.services, clearance.transit); these are the guarantee's own records.
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Company
from core.exceptions import ApplicationError
from core.proposals import proposal_file, proposal_transition
from declarations.audit import audit_append, audit_entry
from guarantees.models import Guarantee, GuaranteeDraw, GuaranteeProposal, not_yours
from guarantees.selectors import is_customs_staff
from notifications.services import (
    Message,
    notify_many,
    recipients_of_companies,
    recipients_with_roles,
)

Kind = GuaranteeProposal.Kind


def _ensure_customs_staff(actor) -> None:
    if not is_customs_staff(actor):
        raise PermissionDenied


def _ensure_customs_supervisor(actor) -> None:
    if not (is_customs_staff(actor) and actor.role == "supervisor"):
        raise PermissionDenied


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


# ---- Accepting a guarantee, raising its amount: four eyes ----------------------------------


def _tell_other_supervisors(actor, *, verb: str, text: str) -> None:
    others = [
        pk
        for pk in recipients_with_roles(roles=["supervisor"], agency_id=actor.agency_id)
        if pk != actor.pk
    ]
    notify_many(
        messages=[
            Message(recipient_ids=others, verb=verb, text=text, url=reverse("guarantees:list"))
        ]
    )


@transaction.atomic
def guarantee_propose(
    *,
    actor,
    company_tax_id: str,
    reference: str,
    amount: Decimal,
    valid_from: date,
    valid_until: date,
    reason: str,
) -> GuaranteeProposal:
    """A customs officer records a trader's guarantee and proposes to accept it; it
    covers nothing until a second customs supervisor approves."""
    _ensure_customs_staff(actor)
    errors = {}
    company = Company.objects.filter(tax_id=company_tax_id.strip()).first()
    if company is None:
        errors["company_tax_id"] = [f"No company has the tax id {company_tax_id.strip()}."]
    reference = reference.strip().upper()
    if Guarantee.objects.cited(reference).exists():
        errors["reference"] = [f"Guarantee {reference} is already registered."]
    if valid_until < timezone.localdate():
        errors["valid_until"] = ["A guarantee that has already expired covers nothing."]
    if not reason.strip():
        errors["reason"] = ["Say why the guarantee should be accepted."]
    if errors:
        raise ValidationError(errors)
    guarantee = Guarantee(
        company=company,
        reference=reference,
        currency=settings.NATIONAL_CURRENCY,
        amount=amount,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    guarantee.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            guarantee.save()
    except IntegrityError as exc:
        # Registered concurrently by someone else: the constraint is what decides.
        raise ValidationError(
            {"reference": f"Guarantee {reference} is already registered."}
        ) from exc
    proposal = _proposal_create(
        guarantee, kind=Kind.ACCEPT, amount=amount, actor=actor, reason=reason
    )
    _tell_other_supervisors(
        actor,
        verb="guarantee_proposed",
        text=f"{actor.username} proposes to accept guarantee {reference} of "
        f"{_money(amount, guarantee.currency)} for {company.name}; a second supervisor "
        "must approve it",
    )
    return proposal


def _proposal_create(guarantee, *, kind, amount, actor, reason) -> GuaranteeProposal:
    proposal = GuaranteeProposal(
        guarantee=guarantee,
        kind=kind,
        amount=amount,
        reason=reason.strip(),
        proposed_by=actor,
        proposed_at=timezone.now(),
    )
    return proposal_file(proposal, subject=f"guarantee {guarantee.reference}")


@transaction.atomic
def guarantee_raise_propose(
    *, actor, guarantee_id: int, amount: Decimal, reason: str
) -> GuaranteeProposal:
    """Propose a higher amount for an accepted guarantee (a second supervisor approves)."""
    _ensure_customs_staff(actor)
    guarantee = Guarantee.objects.select_for_update().get(pk=guarantee_id)
    if guarantee.status != Guarantee.Status.ACCEPTED:
        raise ApplicationError(
            f"Guarantee {guarantee.reference} is {guarantee.get_status_display().lower()}: "
            "only an accepted guarantee is raised."
        )
    if amount <= guarantee.amount:
        raise ValidationError(
            {
                "amount": f"The new amount must be above the present "
                f"{_money(guarantee.amount, guarantee.currency)}."
            }
        )
    if not reason.strip():
        raise ValidationError({"reason": "Say why the amount should be raised."})
    proposal = _proposal_create(
        guarantee, kind=Kind.RAISE, amount=amount, actor=actor, reason=reason
    )
    _tell_other_supervisors(
        actor,
        verb="guarantee_proposed",
        text=f"{actor.username} proposes to raise guarantee {guarantee.reference} to "
        f"{_money(amount, guarantee.currency)}; a second supervisor must approve it",
    )
    return proposal


def _proposal_lock(proposal_id: int) -> GuaranteeProposal:
    """Lock the proposal's guarantee, then the proposal (the order every writer takes)."""
    guarantee_id = GuaranteeProposal.objects.values_list("guarantee_id", flat=True).get(
        pk=proposal_id
    )
    guarantee = Guarantee.objects.select_for_update().select_related("company").get(pk=guarantee_id)
    proposal = (
        GuaranteeProposal.objects.select_for_update(of=("self",))
        .select_related("proposed_by")
        .get(pk=proposal_id)
    )
    proposal.guarantee = guarantee
    return proposal


@transaction.atomic
def guarantee_proposal_approve(*, proposal_id: int, actor) -> GuaranteeProposal:
    """A second customs supervisor approves: the guarantee is accepted with its whole
    amount to draw, or its amount (and balance) raised by the difference. The
    company's users are told."""
    _ensure_customs_supervisor(actor)
    proposal = _proposal_lock(proposal_id)
    proposal.ensure_may_become(GuaranteeProposal.Status.APPROVED)
    if proposal.proposed_by_id == actor.pk:
        raise ApplicationError(
            "Four eyes: you proposed this; another customs supervisor must approve it."
        )
    guarantee = proposal.guarantee
    if guarantee.valid_until < timezone.localdate():
        raise ApplicationError(
            f"Guarantee {guarantee.reference} expired on {guarantee.valid_until}; refuse the "
            "proposal."
        )
    if proposal.kind == Kind.ACCEPT:
        guarantee.ensure_may_become(Guarantee.Status.ACCEPTED)
        guarantee.status = Guarantee.Status.ACCEPTED
        guarantee.amount = guarantee.balance = proposal.amount
        text = (
            f"Guarantee {guarantee.reference} accepted by customs: "
            f"{_money(guarantee.amount, guarantee.currency)} to cover your transit movements."
        )
    else:
        # Amounts already drawn stay drawn: the balance grows by what is added.
        guarantee.balance += proposal.amount - guarantee.amount
        guarantee.amount = proposal.amount
        text = (
            f"Guarantee {guarantee.reference} raised to "
            f"{_money(guarantee.amount, guarantee.currency)}."
        )
    guarantee.full_clean(validate_constraints=False)
    guarantee.save(update_fields=["status", "amount", "balance"])
    proposal_transition(proposal, to_status=GuaranteeProposal.Status.APPROVED, actor=actor)
    company_users = recipients_of_companies([guarantee.company_id]).get(guarantee.company_id, [])
    notify_many(
        messages=[
            Message(company_users, "guarantee_accepted", text, reverse("guarantees:list")),
            Message(
                [proposal.proposed_by_id],
                "guarantee_approved",
                f"Your proposal for guarantee {guarantee.reference} was approved by "
                f"{actor.username}.",
                reverse("guarantees:detail", args=[guarantee.pk]),
            ),
        ]
    )
    return proposal


@transaction.atomic
def guarantee_proposal_refuse(*, proposal_id: int, actor, reason: str) -> GuaranteeProposal:
    """A customs supervisor refuses a proposal, or its proposer withdraws it: nothing
    changes, and a guarantee proposed for acceptance is refused."""
    _ensure_customs_staff(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the proposal is refused."})
    proposal = _proposal_lock(proposal_id)
    if actor.role != "supervisor" and proposal.proposed_by_id != actor.pk:
        raise PermissionDenied
    proposal.ensure_may_become(GuaranteeProposal.Status.REFUSED)
    guarantee = proposal.guarantee
    if proposal.kind == Kind.ACCEPT:
        guarantee.ensure_may_become(Guarantee.Status.REFUSED)
        guarantee.status = Guarantee.Status.REFUSED
        guarantee.save(update_fields=["status"])
    proposal_transition(
        proposal, to_status=GuaranteeProposal.Status.REFUSED, actor=actor, note=reason.strip()
    )
    if proposal.proposed_by_id != actor.pk:
        notify_many(
            messages=[
                Message(
                    [proposal.proposed_by_id],
                    "guarantee_refused",
                    f"Your proposal for guarantee {guarantee.reference} was refused: "
                    f"{reason.strip()}",
                    reverse("guarantees:detail", args=[guarantee.pk]),
                )
            ]
        )
    return proposal


# ---- Draws: what transit movements hold of a guarantee -------------------------------------


def _draw_from(guarantee: Guarantee, *, declaration, amount: Decimal, actor) -> GuaranteeDraw:
    """Draw from a guarantee locked by the caller, or refuse on the declaration's
    guarantee field: checked again under the lock, whatever lodgement checked before
    (another movement may have drawn since)."""
    problem = guarantee.refusal(
        company_id=declaration.company_id, on=declaration.acceptance_day, amount=amount
    )
    if problem:
        raise ValidationError({"guarantee_reference": problem})
    guarantee.balance -= amount
    guarantee.full_clean(validate_constraints=False)
    guarantee.save(update_fields=["balance"])
    draw = GuaranteeDraw(
        guarantee=guarantee, declaration=declaration, amount=amount, drawn_at=timezone.now()
    )
    draw.full_clean(validate_constraints=False)
    draw.save()
    return draw


def _release(draw: GuaranteeDraw, *, guarantee: Guarantee, note: str) -> GuaranteeDraw:
    """Give a draw's amount back to its guarantee; both locked by the caller."""
    draw.ensure_may_become(GuaranteeDraw.Status.RELEASED)
    guarantee.balance += draw.amount
    guarantee.full_clean(validate_constraints=False)
    guarantee.save(update_fields=["balance"])
    draw.status = GuaranteeDraw.Status.RELEASED
    draw.released_at = timezone.now()
    draw.note = note[:300]
    draw.save(update_fields=["status", "released_at", "note"])
    return draw


def _locked_guarantees(ids) -> dict[int, Guarantee]:
    # Ordered by id: two transactions locking the same guarantees never deadlock.
    return {
        g.pk: g
        for g in Guarantee.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk")
    }


def _cited_ids(declaration) -> list[int]:
    """The guarantee the declaration cites (its id, in a list), or a refusal on the field."""
    cited = list(
        Guarantee.objects.cited(declaration.guarantee_reference).values_list("pk", flat=True)
    )
    if not cited:
        raise ValidationError({"guarantee_reference": not_yours(declaration.guarantee_reference)})
    return cited


def _engaged_draw(declaration) -> GuaranteeDraw | None:
    draw = (
        GuaranteeDraw.objects.select_for_update()
        .filter(declaration=declaration, status__in=GuaranteeDraw.ENGAGED)
        .first()
    )
    if draw is not None:
        draw.declaration = declaration  # its audit entries extend the locked row's chain
    return draw


def _record(entries: list) -> None:
    if entries:
        audit_append(entries)


def _drawn_entry(draw: GuaranteeDraw, *, actor):
    guarantee = draw.guarantee
    return audit_entry(
        draw.declaration,
        actor=actor,
        action="guarantee_drawn",
        data={"guarantee": guarantee.reference, "amount": str(draw.amount)},
        notice=f"Guarantee {guarantee.reference}: {_money(draw.amount, guarantee.currency)} "
        "engaged until the movement is discharged.",
    )


def _released_entry(draw: GuaranteeDraw, *, actor, reason: str):
    guarantee = draw.guarantee
    return audit_entry(
        draw.declaration,
        actor=actor,
        action="guarantee_released",
        reason=reason,
        data={"guarantee": guarantee.reference, "amount": str(draw.amount)},
        notice=f"Guarantee {guarantee.reference}: {_money(draw.amount, guarantee.currency)} "
        "released.",
    )


def guarantee_draw(*, declaration, amount: Decimal, actor) -> GuaranteeDraw | None:
    """Draw the amount a transit movement puts at stake from the guarantee it cites.
    The caller holds the declaration's lock (it is being lodged). Nothing at stake,
    nothing drawn. A guarantee short of the amount at that moment refuses on the
    field `guarantee_reference`, and the caller's transaction stores nothing."""
    if amount <= 0:
        return None
    cited = _cited_ids(declaration)
    guarantee = _locked_guarantees(cited)[cited[0]]
    draw = _draw_from(guarantee, declaration=declaration, amount=amount, actor=actor)
    _record([_drawn_entry(draw, actor=actor)])
    return draw


def guarantee_draw_move(*, old, new, amount: Decimal, actor) -> GuaranteeDraw | None:
    """An amendment replaces `old` by `new` (both locked by the caller): what the old
    version holds goes back to its guarantee and the new version draws what it puts at
    stake (from the guarantee it cites, the same or another), under one lock of both
    guarantees. Either side may have none (an amendment that changes the type)."""
    draw = _engaged_draw(old)
    cited = _cited_ids(new) if new.is_transit and amount > 0 else []
    locked = _locked_guarantees([*cited, *([draw.guarantee_id] if draw else [])])
    entries = []
    if draw is not None:
        reason = f"replaced by version {new.version}"
        draw.guarantee = locked[draw.guarantee_id]
        _release(draw, guarantee=draw.guarantee, note=reason)
        entries.append(_released_entry(draw, actor=actor, reason=reason))
    drawn = None
    if cited:
        drawn = _draw_from(locked[cited[0]], declaration=new, amount=amount, actor=actor)
        entries.append(_drawn_entry(drawn, actor=actor))
    _record(entries)
    return drawn


def guarantee_draw_release(*, declaration, actor, reason: str) -> GuaranteeDraw | None:
    """Give back what the declaration (locked by the caller) holds of its guarantee: the
    movement was discharged, or will never run. None when it holds nothing."""
    draw = _engaged_draw(declaration)
    if draw is None:
        return None
    draw.guarantee = _locked_guarantees([draw.guarantee_id])[draw.guarantee_id]
    _release(draw, guarantee=draw.guarantee, note=reason)
    _record([_released_entry(draw, actor=actor, reason=reason)])
    return draw


def guarantee_draw_keep(*, declaration, actor, reason: str) -> GuaranteeDraw | None:
    """Keep the amount a movement holds engaged (overdue, or arrived with discrepancies):
    it is released only once customs settles them. The balance does not change. The
    declarant is told by the caller's step; None when it holds nothing."""
    draw = _engaged_draw(declaration)
    if draw is None or draw.status == GuaranteeDraw.Status.KEPT:
        return draw
    draw.ensure_may_become(GuaranteeDraw.Status.KEPT)
    draw.status = GuaranteeDraw.Status.KEPT
    draw.kept_at = timezone.now()
    draw.note = reason[:300]
    draw.save(update_fields=["status", "kept_at", "note"])
    _record(
        [
            audit_entry(
                declaration,
                actor=actor,
                action="guarantee_kept",
                reason=reason,
                data={"guarantee_draw": draw.pk, "amount": str(draw.amount)},
            )
        ]
    )
    return draw

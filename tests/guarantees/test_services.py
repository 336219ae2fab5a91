"""Accepting a guarantee or raising it moves money: one customs officer proposes, a
different customs supervisor approves. The database keeps balances in bounds."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError
from guarantees.models import Guarantee, GuaranteeProposal
from guarantees.services import (
    guarantee_proposal_approve,
    guarantee_proposal_refuse,
    guarantee_propose,
    guarantee_raise_propose,
)
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def propose(actor, company, **overrides):
    today = timezone.localdate()
    fields = {
        "company_tax_id": company.tax_id,
        "reference": "grt-2026-0042",
        "amount": Decimal("50000000"),
        "valid_from": today,
        "valid_until": today + timedelta(days=365),
        "reason": "Surety undertaking of Hana Bank checked",
    }
    fields.update(overrides)
    return guarantee_propose(actor=actor, **fields)


def test_a_guarantee_covers_nothing_until_a_second_supervisor_approves_it(cast, posted):
    proposal = propose(posted.departure, cast.company_a)
    guarantee = proposal.guarantee
    assert (guarantee.reference, guarantee.status, guarantee.balance) == (
        "GRT-2026-0042", "proposed", Decimal("0"),
    )  # fmt: skip
    # The other supervisors are told it waits for one of them.
    assert Notification.objects.filter(
        recipient=posted.supervisor, verb="guarantee_proposed"
    ).exists()
    # Not an officer, not a trader, and not the one who proposed it.
    for actor in (posted.destination, cast.trader_a, cast.food_officer):
        with pytest.raises(PermissionDenied):
            guarantee_proposal_approve(proposal_id=proposal.pk, actor=actor)
    own = propose(posted.supervisor, cast.company_b, reference="GRT-B-7")
    with pytest.raises(ApplicationError, match="Four eyes"):
        guarantee_proposal_approve(proposal_id=own.pk, actor=posted.supervisor)

    guarantee_proposal_approve(proposal_id=proposal.pk, actor=posted.supervisor)
    guarantee.refresh_from_db()
    assert (guarantee.status, guarantee.balance) == ("accepted", Decimal("50000000"))
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == ("approved", posted.supervisor)
    told = Notification.objects.get(recipient=cast.trader_a, verb="guarantee_accepted")
    assert told.text.startswith("Guarantee GRT-2026-0042 accepted by customs: 50,000,000.00 KRW")
    # A decided proposal is not decided again.
    with pytest.raises(ApplicationError):
        guarantee_proposal_approve(proposal_id=proposal.pk, actor=posted.supervisor2)


def test_raising_a_guarantee_adds_the_difference_to_its_balance_once_approved(
    cast, posted, guarantee, movement_drawn
):
    guarantee.refresh_from_db()
    drawn = guarantee.amount - guarantee.balance
    assert drawn > 0
    proposal = guarantee_raise_propose(
        actor=posted.departure, guarantee_id=guarantee.pk, amount=Decimal("150000000"),
        reason="More movements next quarter",
    )  # fmt: skip
    guarantee.refresh_from_db()
    assert guarantee.amount == Decimal("100000000")  # nothing changes before approval
    with pytest.raises(ApplicationError, match="already waits"):
        guarantee_raise_propose(
            actor=posted.departure, guarantee_id=guarantee.pk, amount=Decimal("200000000"),
            reason="again",
        )  # fmt: skip
    guarantee_proposal_approve(proposal_id=proposal.pk, actor=posted.supervisor2)
    guarantee.refresh_from_db()
    assert guarantee.amount == Decimal("150000000")
    assert guarantee.balance == Decimal("150000000") - drawn


def test_a_raise_must_raise(cast, posted, guarantee):
    with pytest.raises(ValidationError) as refused:
        guarantee_raise_propose(
            actor=posted.departure, guarantee_id=guarantee.pk, amount=Decimal("100"),
            reason="typo",
        )  # fmt: skip
    assert "must be above the present 100,000,000.00 KRW" in refused.value.message_dict["amount"][0]


def test_a_refused_guarantee_keeps_its_record_and_its_reference_may_be_proposed_again(cast, posted):
    proposal = propose(posted.departure, cast.company_a)
    with pytest.raises(ValidationError):
        guarantee_proposal_refuse(proposal_id=proposal.pk, actor=posted.supervisor, reason=" ")
    guarantee_proposal_refuse(
        proposal_id=proposal.pk, actor=posted.supervisor, reason="Undertaking unsigned"
    )
    assert Guarantee.objects.get(pk=proposal.guarantee_id).status == "refused"
    assert Notification.objects.filter(recipient=posted.departure, verb="guarantee_refused")
    again = propose(posted.departure, cast.company_a)
    assert again.guarantee_id != proposal.guarantee_id
    assert GuaranteeProposal.objects.count() == 2


def test_proposals_name_the_field_in_error(cast, posted, guarantee):
    yesterday = timezone.localdate() - timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        propose(
            posted.departure, cast.company_a, company_tax_id="NOBODY", reference="GRT-A-0001",
            valid_from=yesterday - timedelta(days=9), valid_until=yesterday, reason="",
        )  # fmt: skip
    assert set(refused.value.message_dict) == {
        "company_tax_id", "reference", "valid_until", "reason",
    }  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        propose(posted.departure, cast.company_a, reference="no spaces allowed")
    assert "reference" in refused.value.message_dict


def test_traders_and_other_agencies_register_no_guarantee(cast, posted):
    for actor in (cast.trader_a, cast.food_officer, cast.analyst):
        with pytest.raises(PermissionDenied):
            propose(actor, cast.company_a)
    assert not Guarantee.objects.exists()


def test_the_database_keeps_a_balance_between_zero_and_the_amount(cast, posted, guarantee):
    for balance in (Decimal("-1"), guarantee.amount + 1):
        with pytest.raises(IntegrityError), transaction.atomic():
            Guarantee.objects.filter(pk=guarantee.pk).update(balance=balance)

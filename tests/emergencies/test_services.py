"""Declaring, extending and ending an emergency takes two administrators; so does
making an organisation a humanitarian consignee."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core.exceptions import ApplicationError
from emergencies.models import Emergency, HumanitarianConsignee
from emergencies.selectors import emergencies_in_force
from emergencies.services import (
    consignee_decide,
    consignee_register,
    emergency_declare_propose,
    emergency_end_propose,
    emergency_extend_propose,
    emergency_proposal_approve,
    emergency_proposal_refuse,
)
from notifications.models import Notification
from tests.emergencies.conftest import declare
from tests.factories import TEST_OFFICE, UserFactory

pytestmark = pytest.mark.django_db


def propose(actor, **overrides):
    now = timezone.now()
    fields = {
        "name": "Earthquake Gyeongju",
        "starts_at": now,
        "ends_at": now + timedelta(days=10),
        "hs_prefixes": ["3004"],
        "office_codes": [TEST_OFFICE],
        "reason": "Magnitude 6.8; hospitals short of antibiotics",
    }
    fields.update(overrides)
    return emergency_declare_propose(actor=actor, **fields)


def test_an_emergency_is_in_force_only_once_a_second_administrator_approves_it(cast, second_admin):
    proposal = propose(cast.admin)
    emergency = proposal.emergency
    assert emergency.status == "proposed"
    assert emergencies_in_force() == []
    assert Notification.objects.filter(recipient=second_admin, verb="emergency_proposed").exists()
    # Nobody but an administrator, and not the one who proposed it.
    for actor in (cast.supervisor, cast.trader_a, cast.analyst):
        with pytest.raises(PermissionDenied):
            emergency_proposal_approve(proposal_id=proposal.pk, actor=actor)
    with pytest.raises(ApplicationError, match="Four eyes"):
        emergency_proposal_approve(proposal_id=proposal.pk, actor=cast.admin)

    emergency_proposal_approve(proposal_id=proposal.pk, actor=second_admin)
    assert emergencies_in_force() == [emergency]
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == ("approved", second_admin)
    # The staff of the office it covers hear of it.
    assert Notification.objects.filter(
        recipient=cast.customs_officer, verb="emergency_declare"
    ).exists()


def test_a_refused_declaration_never_comes_into_force(cast, second_admin):
    proposal = propose(cast.admin)
    with pytest.raises(ValidationError) as error:
        emergency_proposal_refuse(proposal_id=proposal.pk, actor=second_admin, reason=" ")
    assert "reason" in error.value.message_dict
    emergency_proposal_refuse(
        proposal_id=proposal.pk, actor=second_admin, reason="Not of national scale"
    )
    assert Emergency.objects.get().status == "refused"
    assert emergencies_in_force() == []
    assert Notification.objects.filter(recipient=cast.admin, verb="emergency_refused").exists()


def test_extending_and_ending_take_a_second_administrator_too(cast, second_admin):
    emergency = declare(cast.admin, second_admin)
    later = emergency.ends_at + timedelta(days=14)
    with pytest.raises(ValidationError) as error:
        emergency_extend_propose(
            actor=second_admin, emergency_id=emergency.pk, ends_at=emergency.starts_at,
            reason="more",
        )  # fmt: skip
    assert "ends_at" in error.value.message_dict
    extension = emergency_extend_propose(
        actor=second_admin, emergency_id=emergency.pk, ends_at=later, reason="Aftershocks"
    )
    # One proposal at a time.
    with pytest.raises(ApplicationError, match="already waits"):
        emergency_end_propose(actor=cast.admin, emergency_id=emergency.pk, reason="over")
    with pytest.raises(ApplicationError, match="Four eyes"):
        emergency_proposal_approve(proposal_id=extension.pk, actor=second_admin)
    emergency_proposal_approve(proposal_id=extension.pk, actor=cast.admin)
    emergency.refresh_from_db()
    assert emergency.ends_at == later

    ending = emergency_end_propose(actor=cast.admin, emergency_id=emergency.pk, reason="Over")
    assert emergencies_in_force() == [emergency]
    emergency_proposal_approve(proposal_id=ending.pk, actor=second_admin)
    emergency.refresh_from_db()
    assert emergency.status == "ended"
    assert emergency.ends_at <= timezone.now()
    assert emergencies_in_force() == []
    # The history names both people of each step.
    assert [(p.kind, p.proposed_by, p.decided_by) for p in emergency.proposals.all()] == [
        ("declare", cast.admin, second_admin),
        ("extend", second_admin, cast.admin),
        ("end", cast.admin, second_admin),
    ]


def test_an_emergency_must_name_its_area_goods_and_a_period(cast):
    now = timezone.now()
    cases = [
        ({"office_codes": []}, "office_codes"),
        ({"office_codes": ["XXNOPE"]}, "office_codes"),
        ({"hs_prefixes": []}, "hs_prefixes"),
        ({"hs_prefixes": ["3"]}, "hs_prefixes"),
        ({"ends_at": now - timedelta(days=1)}, "ends_at"),
        ({"reason": ""}, "reason"),
    ]
    for overrides, field in cases:
        with pytest.raises(ValidationError) as error:
            propose(cast.admin, **overrides)
        assert field in error.value.message_dict, (overrides, error.value.message_dict)
    assert not Emergency.objects.exists()


def test_a_consignee_is_approved_by_an_administrator_other_than_who_registered_it(
    cast, second_admin
):
    ngo_user = UserFactory(username="ngo", company=cast.company_b)
    consignee = consignee_register(actor=ngo_user, kind="ngo", mission="Water purification")
    assert consignee.status == "requested"
    with pytest.raises(ValidationError):
        consignee_register(actor=ngo_user, kind="ngo", mission="again")
    with pytest.raises(PermissionDenied):
        consignee_decide(actor=ngo_user, consignee_id=consignee.pk, status="approved")
    consignee_decide(actor=cast.admin, consignee_id=consignee.pk, status="approved")
    assert Notification.objects.filter(recipient=ngo_user, verb="consignee_approved").exists()
    with pytest.raises(ValidationError):
        consignee_decide(actor=cast.admin, consignee_id=consignee.pk, status="suspended")
    consignee_decide(
        actor=cast.admin, consignee_id=consignee.pk, status="suspended", note="Under inquiry"
    )
    assert HumanitarianConsignee.objects.get().status == "suspended"

    registered = consignee_register(
        actor=cast.admin, kind="un", mission="WFP", company_tax_id=cast.company_a.tax_id
    )
    with pytest.raises(ApplicationError, match="Four eyes"):
        consignee_decide(actor=cast.admin, consignee_id=registered.pk, status="approved")
    consignee_decide(actor=second_admin, consignee_id=registered.pk, status="approved")

"""Risk configuration is dual-controlled: one analyst proposes, a second approves, and the
configuration audit log names both."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction

from clearance.services import declaration_assess_risk
from core.exceptions import ApplicationError, InvalidTransition
from risk.models import (
    ConfigAuditEntry,
    RiskSettings,
    RiskSettingsProposal,
    RuleSet,
    live_rule_set_id,
)
from risk.services import (
    risk_settings_approve,
    risk_settings_propose,
    risk_settings_reject,
    rule_create,
    rule_set_approve,
    rule_set_draft_create,
    rule_set_send_back,
    rule_set_submit,
    rule_update,
)
from tests.factories import second_analyst
from tests.risk.conftest import submitted

pytestmark = pytest.mark.django_db


def phones_draft(cast, score=40):
    draft = rule_set_draft_create(actor=cast.analyst, note="watch phones")
    rule_create(actor=cast.analyst, rule_set=draft, name="Phones", hs_prefix="8517", score=score)
    return draft


def test_publishing_a_rule_set_alone_does_nothing_until_a_second_analyst_approves(
    cast, no_random_selection
):
    live_before = RuleSet.objects.get(pk=live_rule_set_id())
    draft = phones_draft(cast)
    rule_set_submit(actor=cast.analyst, rule_set=draft)

    decision = declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk)
    assert decision.rule_set_version == f"v{live_before.version}"
    assert decision.score == 0
    with pytest.raises(ApplicationError, match="another analyst must approve"):
        rule_set_approve(actor=cast.analyst, rule_set=draft)
    assert RuleSet.objects.get(pk=live_before.pk).status == RuleSet.Status.LIVE

    rule_set_approve(actor=second_analyst(cast.analyst), rule_set=draft)
    decision = declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk)
    assert decision.rule_set_version == f"v{draft.version}"
    assert decision.score == 40
    assert RuleSet.objects.get(pk=live_before.pk).status == RuleSet.Status.RETIRED


def test_a_draft_cannot_be_approved_without_being_submitted(cast):
    draft = phones_draft(cast)
    with pytest.raises(InvalidTransition):
        rule_set_approve(actor=second_analyst(cast.analyst), rule_set=draft)
    assert RuleSet.objects.get(pk=draft.pk).status == RuleSet.Status.DRAFT


def test_whoever_wrote_changed_or_submitted_a_rule_set_may_not_approve_it(cast):
    other = second_analyst(cast.analyst)
    third = second_analyst(other)
    draft = phones_draft(cast)
    # The second analyst changed a rule: they are an author too.
    rule_update(actor=other, rule=draft.rules.get(), score=45)
    rule_set_submit(actor=third, rule_set=draft)
    for author in (cast.analyst, other, third):
        with pytest.raises(ApplicationError, match="Four eyes"):
            rule_set_approve(actor=author, rule_set=draft)
    assert RuleSet.objects.get(pk=draft.pk).status == RuleSet.Status.PENDING


def test_wrong_roles_cannot_submit_or_approve(cast):
    draft = phones_draft(cast)
    for user in (cast.trader_a, cast.customs_officer, cast.supervisor):
        with pytest.raises(PermissionDenied):
            rule_set_submit(actor=user, rule_set=draft)
    rule_set_submit(actor=cast.analyst, rule_set=draft)
    for user in (cast.trader_a, cast.customs_officer, cast.supervisor):
        with pytest.raises(PermissionDenied):
            rule_set_approve(actor=user, rule_set=draft)


def test_a_pending_rule_set_is_frozen_until_sent_back_with_a_reason(cast):
    draft = phones_draft(cast)
    rule_set_submit(actor=cast.analyst, rule_set=draft)
    with pytest.raises(ValidationError) as error:
        rule_update(actor=cast.analyst, rule=draft.rules.get(), score=99)
    assert "send it back to draft" in str(error.value)

    other = second_analyst(cast.analyst)
    with pytest.raises(ValidationError) as error:
        rule_set_send_back(actor=other, rule_set=draft, reason=" ")
    assert "reason" in error.value.message_dict
    rule_set_send_back(actor=other, rule_set=draft, reason="Score too high for a first try")
    draft.refresh_from_db()
    assert draft.status == RuleSet.Status.DRAFT
    assert draft.sent_back_reason == "Score too high for a first try"
    rule_update(actor=cast.analyst, rule=draft.rules.get(), score=30)


def test_rule_set_steps_are_in_the_configuration_audit_naming_both_analysts(cast):
    other = second_analyst(cast.analyst)
    draft = phones_draft(cast)
    rule_set_submit(actor=cast.analyst, rule_set=draft)
    rule_set_approve(actor=other, rule_set=draft)
    entries = list(ConfigAuditEntry.objects.order_by("at", "id"))
    assert [(e.action, e.proposed_by, e.decided_by) for e in entries] == [
        ("rule_set_submitted", cast.analyst, None),
        ("rule_set_approved", cast.analyst, other),
    ]
    approved = entries[-1]
    assert approved.subject == f"rule set v{draft.version}"
    assert approved.after["rules"][0]["name"] == "Phones"
    assert approved.before["version"] == draft.based_on.version


def test_the_configuration_audit_log_is_append_only(cast):
    draft = phones_draft(cast)
    rule_set_submit(actor=cast.analyst, rule_set=draft)
    entry = ConfigAuditEntry.objects.get()
    for attempt in (
        lambda: ConfigAuditEntry.objects.filter(pk=entry.pk).update(reason="nothing to see"),
        lambda: ConfigAuditEntry.objects.filter(pk=entry.pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert ConfigAuditEntry.objects.get().reason == entry.reason


def test_proposed_thresholds_do_not_apply_until_a_second_analyst_approves(cast):
    RiskSettings.objects.update_or_create(
        pk=1, defaults={"random_yellow_rate": Decimal("0"), "random_red_rate": Decimal("0")}
    )
    draft = phones_draft(cast, score=40)
    rule_set_submit(actor=cast.analyst, rule_set=draft)
    rule_set_approve(actor=second_analyst(cast.analyst), rule_set=draft)

    proposal = risk_settings_propose(
        actor=cast.analyst, reason="Phones are the season's risk", yellow_from=20, red_from=35
    )
    assert RiskSettings.current().red_from == 60
    assert declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk).lane == "yellow"
    with pytest.raises(ApplicationError, match="another analyst must approve"):
        risk_settings_approve(actor=cast.analyst, proposal=proposal)
    with pytest.raises(PermissionDenied):
        risk_settings_approve(actor=cast.supervisor, proposal=proposal)

    other = second_analyst(cast.analyst)
    risk_settings_approve(actor=other, proposal=proposal)
    assert (RiskSettings.current().yellow_from, RiskSettings.current().red_from) == (20, 35)
    assert declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk).lane == "red"
    approved = ConfigAuditEntry.objects.get(action="settings_approved")
    assert (approved.proposed_by, approved.decided_by) == (cast.analyst, other)
    assert (approved.before["red_from"], approved.after["red_from"]) == (60, 35)
    assert approved.reason == "Phones are the season's risk"


def test_one_settings_proposal_waits_at_a_time_and_a_rejection_changes_nothing(cast):
    first = risk_settings_propose(actor=cast.analyst, reason="more", random_yellow_rate="2.5")
    other = second_analyst(cast.analyst)
    with pytest.raises(ApplicationError, match="waits for approval"):
        risk_settings_propose(actor=other, reason="less", random_yellow_rate="0.5")
    with pytest.raises(ValidationError) as error:
        risk_settings_reject(actor=other, proposal=first, reason="")
    assert "reason" in error.value.message_dict
    risk_settings_reject(actor=other, proposal=first, reason="Officers are at capacity")
    assert RiskSettings.current().random_yellow_rate == Decimal("1.00")
    assert RiskSettingsProposal.objects.get().status == RiskSettingsProposal.Status.REJECTED
    with pytest.raises(InvalidTransition):
        risk_settings_approve(actor=other, proposal=first)
    rejected = ConfigAuditEntry.objects.get(action="settings_rejected")
    assert (rejected.proposed_by, rejected.decided_by) == (cast.analyst, other)
    # Now another proposal may wait.
    risk_settings_propose(actor=other, reason="less", random_yellow_rate="0.5")


def test_settings_proposals_are_validated_and_must_change_something(cast):
    with pytest.raises(ValidationError) as error:
        risk_settings_propose(actor=cast.analyst, reason="x", yellow_from=70, red_from=60)
    assert "yellow_from" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        risk_settings_propose(actor=cast.analyst, reason="x", yellow_from=30)
    assert "changes nothing" in str(error.value)
    with pytest.raises(ValidationError) as error:
        risk_settings_propose(actor=cast.analyst, reason=" ", yellow_from=31)
    assert "reason" in error.value.message_dict
    with pytest.raises(PermissionDenied):
        risk_settings_propose(actor=cast.customs_officer, reason="x", yellow_from=31)
    assert not RiskSettingsProposal.objects.exists()


def test_analysts_submit_and_approve_on_the_pages(cast, login):
    draft = phones_draft(cast)
    page = login(cast.analyst).get(f"/risk/rule-sets/{draft.pk}/").content.decode()
    assert "Submit for approval" in page
    login(cast.analyst).post(f"/risk/rule-sets/{draft.pk}/submit/")
    page = login(cast.analyst).get(f"/risk/rule-sets/{draft.pk}/").content.decode()
    assert "Approve: make it live" not in page
    assert "another analyst must approve it" in page
    refused = login(cast.analyst).post(f"/risk/rule-sets/{draft.pk}/approve/", follow=True)
    assert "another analyst must approve it" in refused.content.decode()
    assert RuleSet.objects.get(pk=draft.pk).status == RuleSet.Status.PENDING

    other = login(second_analyst(cast.analyst))
    assert "Approve: make it live" in other.get(f"/risk/rule-sets/{draft.pk}/").content.decode()
    other.post(f"/risk/rule-sets/{draft.pk}/approve/")
    assert RuleSet.objects.get(pk=draft.pk).status == RuleSet.Status.LIVE
    audit = other.get("/risk/audit/").content.decode()
    assert "Rule set approved and live" in audit
    assert "analyst_2" in audit

    for user in (cast.trader_a, cast.supervisor):
        client = login(user)
        assert client.post(f"/risk/rule-sets/{draft.pk}/send-back/").status_code == 404
        assert client.get("/risk/audit/").status_code == 404


def test_analysts_propose_and_approve_settings_on_the_page(cast, login):
    values = {
        "yellow_from": "25",
        "red_from": "60",
        "random_yellow_rate": "1.00",
        "random_red_rate": "0.50",
        "expected_yellow_share": "15.00",
        "expected_red_share": "5.00",
        "model_enabled": "on",
        "model_weight": "100",
        "fallback_lane": "red",
    }
    client = login(cast.analyst)
    missing_reason = client.post("/risk/settings/", values)
    assert missing_reason.status_code == 200
    assert not RiskSettingsProposal.objects.exists()
    client.post("/risk/settings/", {**values, "reason": "More documentary checks"})
    proposal = RiskSettingsProposal.objects.get()
    page = client.get("/risk/settings/").content.decode()
    assert "More documentary checks" in page
    assert "another analyst must approve it" in page
    assert RiskSettings.current().yellow_from == 30

    other = login(second_analyst(cast.analyst))
    assert "Approve: apply these settings" in other.get("/risk/settings/").content.decode()
    other.post(f"/risk/settings/proposals/{proposal.pk}/approve/")
    assert RiskSettings.current().yellow_from == 25
    assert (
        login(cast.trader_a)
        .post(f"/risk/settings/proposals/{proposal.pk}/reject/", {"reason": "x"})
        .status_code
        == 404
    )

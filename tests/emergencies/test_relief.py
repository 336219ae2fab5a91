"""What a relief consignment gets during an emergency: it is recognised at lodgement,
pays no duty where the measure says so, gets a lane one lower unless a rule forces
red, and goes to the top of every agency's queue."""

from decimal import Decimal

import pytest
from django.db import transaction

from agencies.selectors import review_queue
from clearance.services import declaration_assess_risk, declaration_submit
from declarations.models import Declaration
from emergencies.selectors import relief_check
from risk.services import rule_create, rule_set_draft_create
from tests.emergencies.conftest import MEDICINES, TENTS, declare, relief_header
from tests.factories import item_data, make_declaration, route, rule_set_publish

pytestmark = pytest.mark.django_db


def lodged(actor, items, **header) -> Declaration:
    draft = make_declaration(actor=actor, items=items, **header)
    with transaction.atomic():
        return declaration_submit(declaration=draft, actor=actor)


def test_a_humanitarian_consignee_importing_listed_goods_lodges_a_relief_consignment(
    cast, emergency, ngo
):
    declaration = lodged(ngo, [MEDICINES, TENTS], **relief_header(ngo))
    assert declaration.emergency == emergency
    # Duty relief: nothing to pay, and what was forgiven is kept for the reconciliation.
    assert (declaration.duty_total, declaration.vat_total) == (Decimal("0"), Decimal("0"))
    assert declaration.duties_relieved > 0
    lodged_event = declaration.events.filter(to_status="submitted").get()
    assert lodged_event.data == {"relief": "Typhoon Mawar"}
    # The declarant reads which measures it gets (never what risk made of it).
    assert lodged_event.notice == (
        "Lodged. The risk assessment follows. A relief consignment of Typhoon Mawar: "
        "priority in every agency's queue; lighter controls (a lower lane) unless a security "
        "rule applies; no import duty or VAT; documents may follow within 14 days "
        "(provisional declaration)."
    )


def test_what_keeps_a_consignment_from_being_relief_is_said(cast, emergency, ngo):
    # Goods the emergency does not list.
    phones = make_declaration(actor=ngo, items=[MEDICINES, item_data()], **relief_header(ngo))
    check = relief_check(phones, list(phones.items.order_by("line_no")))
    assert not check.relief
    assert check.problems == ["Not among the goods Typhoon Mawar lists: item 2 (HS 851713)."]
    assert phones.emergency is None
    assert phones.duty_total > 0
    # An importer that is not a registered consignee (an ordinary trader's medicines).
    ordinary = make_declaration(actor=cast.trader_a, items=[MEDICINES])
    problems = relief_check(ordinary, list(ordinary.items.all())).problems
    assert problems[0].startswith("The importer is not a humanitarian consignee")
    # An office outside the affected area.
    elsewhere = make_declaration(
        actor=ngo, items=[MEDICINES], office_of_entry="KRICN", invoice_number="INV-ICN",
        **relief_header(ngo),
    )  # fmt: skip
    assert relief_check(elsewhere, list(elsewhere.items.all())).problems == [
        "The office of entry KRICN is not in the area of Typhoon Mawar (KRPUS)."
    ]


def test_no_relief_once_the_emergency_has_ended_even_for_a_draft_saved_during_it(
    cast, emergency, ngo, second_admin
):
    from emergencies.services import emergency_end_propose, emergency_proposal_approve

    draft = make_declaration(actor=ngo, items=[MEDICINES], **relief_header(ngo))
    assert draft.emergency == emergency
    ending = emergency_end_propose(actor=cast.admin, emergency_id=emergency.pk, reason="Over")
    emergency_proposal_approve(proposal_id=ending.pk, actor=second_admin)
    with transaction.atomic():
        submitted = declaration_submit(declaration=draft, actor=ngo)
    submitted.refresh_from_db()
    assert submitted.emergency is None
    assert submitted.duty_total > 0 and submitted.duties_relieved == 0


def test_without_duty_relief_a_relief_consignment_pays_as_usual(cast, ngo, second_admin):
    declare(cast.admin, second_admin, duty_relief=False)
    declaration = lodged(ngo, [MEDICINES], **relief_header(ngo))
    assert declaration.emergency is not None
    assert declaration.duty_total > 0 and declaration.duties_relieved == 0


@pytest.fixture
def medicines_score(cast, no_random_selection):
    """Medicines score into the red lane; they are not forced there."""
    rules = rule_set_draft_create(actor=cast.analyst)
    rule_create(actor=cast.analyst, rule_set=rules, name="Medicines", hs_prefix="3004", score=90)
    rule_set_publish(actor=cast.analyst, rule_set=rules)


def test_a_relief_consignment_is_routed_one_lane_lower(cast, emergency, ngo, medicines_score):
    ordinary = lodged(cast.trader_a, [MEDICINES])
    assert declaration_assess_risk(declaration_id=ordinary.pk).lane == "red"

    relief = lodged(ngo, [MEDICINES], **relief_header(ngo))
    decision = declaration_assess_risk(declaration_id=relief.pk)
    assert decision.lane == "yellow"
    texts = [r["text"] for r in decision.reasons]
    assert "relief consignment (Typhoon Mawar): lane lowered from red to yellow" in texts
    assert texts[-1].startswith("lane yellow: one below what risk found")


def test_a_rule_forcing_red_holds_for_relief_too(cast, emergency, ngo, no_random_selection):
    rules = rule_set_draft_create(actor=cast.analyst)
    rule_create(
        actor=cast.analyst, rule_set=rules, name="Tents from a sanctioned source",
        hs_prefix="6306", force_lane="red",
    )  # fmt: skip
    rule_set_publish(actor=cast.analyst, rule_set=rules)
    relief = lodged(ngo, [TENTS], **relief_header(ngo))
    decision = declaration_assess_risk(declaration_id=relief.pk)
    assert decision.lane == "red"
    assert any("forced by rule, not lowered" in r["text"] for r in decision.reasons)


def test_analysts_rules_can_test_for_relief(cast, emergency, ngo, no_random_selection):
    rules = rule_set_draft_create(actor=cast.analyst)
    rule_create(
        actor=cast.analyst, rule_set=rules, name="Relief: documentary check",
        conditions=[{"field": "relief_consignment", "op": "eq", "value": True}], score=50,
    )  # fmt: skip
    rule_set_publish(actor=cast.analyst, rule_set=rules)
    relief = lodged(ngo, [MEDICINES], **relief_header(ngo))
    ordinary = lodged(cast.trader_a, [MEDICINES])
    fired = declaration_assess_risk(declaration_id=relief.pk).reasons
    assert any(r["kind"] == "rule" for r in fired)
    assert not any(
        r["kind"] == "rule" for r in declaration_assess_risk(declaration_id=ordinary.pk).reasons
    )


def test_relief_goes_to_the_top_of_every_agency_queue(cast, emergency, ngo):
    red = route(lodged(cast.trader_a, [MEDICINES]), lane="red")
    green_relief = route(lodged(ngo, [MEDICINES], **relief_header(ngo)), lane="green")
    assert [r.declaration_id for r in review_queue(user=cast.customs_officer)][:2] == [
        green_relief.pk,
        red.pk,
    ]

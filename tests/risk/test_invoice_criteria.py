"""The invoice at scoring: criteria rules can test, a reason in every decision for staff,
nothing of it for the declarant, and no statement per declaration in a batch."""

from decimal import Decimal

import pytest
from django.db import transaction

from clearance.services import (
    declaration_assess_risk,
    declaration_submit,
    declarations_assess_risk,
)
from declarations.models import Declaration
from risk.criteria import REGISTRY
from risk.models import SelectivityRule
from risk.services import rule_create, rule_set_draft_create
from tests.declarations.invoice_pdfs import InvoiceSpec, scanned_invoice, table_invoice
from tests.declarations.invoicing import attach_invoice, declared_from, items_of
from tests.factories import rule_set_publish
from tests.risk.conftest import submitted

pytestmark = pytest.mark.django_db

SPEC = InvoiceSpec()


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def publish(cast, *conditions, score=0, force_lane="", **rule):
    rule_set = rule_set_draft_create(actor=cast.analyst)
    SelectivityRule.objects.filter(rule_set=rule_set).delete()
    rule_create(
        actor=cast.analyst,
        rule_set=rule_set,
        name="invoice",
        conditions=list(conditions),
        score=score,
        force_lane=force_lane,
        **rule,
    )
    rule_set_publish(actor=cast.analyst, rule_set=rule_set)
    return rule_set.rules.get()


def lodged(declaration):
    with transaction.atomic():
        return declaration_submit(declaration=declaration, actor=declaration.created_by)


def with_invoice(cast, content=None, *, number, items=None, **header):
    spec = InvoiceSpec(number=number)
    declaration = declared_from(spec, actor=cast.trader_a, items=items, **header)
    attach_invoice(declaration, content if content is not None else table_invoice(spec))
    return lodged(declaration)


def undervalued(cast, number="INV-UNDER"):
    """Chargers declared at 1,200.00 where the invoice says 1,500.00."""
    items = items_of(SPEC, {2: {"value": Decimal("1200.00")}})
    return with_invoice(cast, number=number, items=items, invoice_total=Decimal("13700.00"))


def test_a_rule_on_a_disagreeing_invoice_changes_the_lane(cast, no_random_selection):
    publish(cast, {"field": "invoice_disagrees", "op": "eq", "value": True}, force_lane="red")
    honest = declaration_assess_risk(declaration_id=with_invoice(cast, number="INV-OK").pk)
    cheap = declaration_assess_risk(declaration_id=undervalued(cast).pk)
    assert (honest.lane, cheap.lane) == ("green", "red")
    assert (
        cheap.reasons[0]["text"].startswith("rule ")
        and "the invoice disagrees on value, quantity, currency or seller is True"
        in (cheap.reasons[0]["text"])
    )


@pytest.mark.parametrize(
    ("criterion", "fires"),
    [
        ("invoice_value_disagrees", True),
        ("invoice_quantity_disagrees", False),
        ("invoice_currency_disagrees", False),
        ("invoice_seller_disagrees", False),
    ],
)
def test_each_kind_of_disagreement_is_a_criterion(cast, no_random_selection, criterion, fires):
    publish(cast, {"field": criterion, "op": "eq", "value": True}, score=40)
    assert (declaration_assess_risk(declaration_id=undervalued(cast).pk).score == 40) is fires


def test_a_seller_who_is_not_the_exporter_is_a_criterion(cast, no_random_selection):
    publish(cast, {"field": "invoice_seller_disagrees", "op": "eq", "value": True}, score=40)
    other = with_invoice(cast, number="INV-SELLER", exporter_name="Another Exporter Ltd.")
    assert declaration_assess_risk(declaration_id=other.pk).score == 40


def test_an_unreadable_invoice_is_a_criterion(cast, no_random_selection):
    publish(cast, {"field": "invoice_reading", "op": "eq", "value": "not_readable"}, score=40)
    scan = with_invoice(cast, scanned_invoice(SPEC), number="INV-SCAN")
    read = with_invoice(cast, number="INV-READ")
    none = submitted(cast.trader_a)
    assert declaration_assess_risk(declaration_id=scan.pk).score == 40
    assert declaration_assess_risk(declaration_id=read.pk).score == 0
    assert declaration_assess_risk(declaration_id=none.pk).score == 0


def test_no_invoice_is_not_a_disagreement(cast, no_random_selection):
    publish(cast, {"field": "invoice_disagrees", "op": "eq", "value": False}, score=40)
    # Unknown, not false: a rule on it fires for invoices read, not for missing ones.
    assert declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk).score == 0
    read = with_invoice(cast, number="INV-FINE")
    assert declaration_assess_risk(declaration_id=read.pk).score == 40


def test_an_item_rule_names_the_item_the_invoice_contradicts(cast, no_random_selection):
    rule = publish(cast, {"field": "invoice_line_disagrees", "op": "eq", "value": True}, score=40)
    decision = declaration_assess_risk(declaration_id=undervalued(cast).pk)
    assert decision.reasons[0]["items"] == [2]
    assert decision.reasons[0]["text"] == (
        f"rule {rule.pk}: the invoice says otherwise of this item's quantity or value, or "
        "omits it is True on item 2, +40"
    )


def test_every_decision_records_what_the_invoice_said(cast, no_random_selection):
    decisions = {
        "undervalued": declaration_assess_risk(declaration_id=undervalued(cast).pk),
        "honest": declaration_assess_risk(declaration_id=with_invoice(cast, number="I-2").pk),
        "scan": declaration_assess_risk(
            declaration_id=with_invoice(cast, scanned_invoice(SPEC), number="I-3").pk
        ),
        "none": declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk),
    }
    facts = {
        name: [
            (r["invoice_status"], r["disagrees_on"], r["score"], r["text"])
            for r in decision.reasons
            if r["kind"] == "invoice"
        ]
        for name, decision in decisions.items()
    }
    assert facts == {
        "undervalued": [("read", ["value"], 0, "invoice disagrees with the declaration on value")],
        "honest": [("read", [], 0, "invoice read; agrees with the declaration")],
        "scan": [
            (
                "not_readable",
                [],
                0,
                "invoice not readable by the machine (a scan or a picture): compare it by hand",
            )
        ],
        "none": [],
    }
    # It weighs nothing by itself, and the lane line still closes the reasons.
    assert decisions["undervalued"].score == 0
    assert decisions["undervalued"].reasons[-1]["kind"] == "lane"


def test_the_declarant_never_sees_the_criterion_or_the_score(cast, api, login):
    publish(cast, {"field": "invoice_disagrees", "op": "eq", "value": True}, score=70)
    declaration = undervalued(cast)
    declaration_assess_risk(declaration_id=declaration.pk)
    body = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{declaration.pk}/").json()
    page = login(cast.trader_a).get(f"/declarations/{declaration.pk}/").content.decode()
    assert "lane_decision" not in body
    for text in (str(body), page):
        assert "invoice disagrees with the declaration on" not in text
        assert "the invoice disagrees on value, quantity, currency or seller" not in text
        assert "+70" not in text
    # Their own differences they do see.
    assert body["invoice_check"]["disagrees_on"] == "value"
    official = api.as_user(cast.analyst).get(f"/api/v1/declarations/{declaration.pk}/").json()
    assert any(r["kind"] == "invoice" for r in official["lane_decision"]["reasons"])


INVOICE_CRITERIA = {
    "invoice_reading",
    "invoice_disagrees",
    "invoice_value_disagrees",
    "invoice_quantity_disagrees",
    "invoice_currency_disagrees",
    "invoice_seller_disagrees",
    "invoice_line_disagrees",
}


def test_the_invoice_criteria_are_listed_for_analysts_without_a_replay_reader(cast, api):
    names = {c["name"] for c in api.as_user(cast.analyst).get("/api/v1/risk/criteria/").json()}
    assert names >= INVOICE_CRITERIA
    # The KCS history has no invoices: replay never fires these.
    assert all(REGISTRY[name].read_record is None for name in INVOICE_CRITERIA)


@pytest.mark.parametrize("size", [2, 6])
def test_a_batch_reads_the_invoices_once(
    cast, no_random_selection, django_assert_num_queries, size
):
    publish(cast, {"field": "invoice_disagrees", "op": "eq", "value": True}, score=10)
    declarations_assess_risk(declaration_ids=[undervalued(cast, "WARM").pk])  # warm caches
    waiting = [
        undervalued(cast, f"INV-BATCH-{n}") if n % 2 else with_invoice(cast, number=f"B-{n}")
        for n in range(size)
    ]
    # As many statements for 6 as for 2: the invoices come in one query with the batch.
    with django_assert_num_queries(41):
        decisions = declarations_assess_risk(declaration_ids=[waiting[0].pk], more=31)
    assert len(decisions) == size
    scores = dict(
        Declaration.objects.filter(pk__in=[w.pk for w in waiting]).values_list(
            "invoice_number", "lane_decision__score"
        )
    )
    assert scores == {w.invoice_number: 10 if w.invoice_number.startswith("INV-") else 0
                      for w in waiting}  # fmt: skip

"""Hot paths take a constant number of statements, whatever the batch or declaration size."""

import pytest

from clearance.services import declaration_submit, declarations_assess_risk, inspection_record
from declarations.models import Declaration
from tests.agencies.conftest import regulated_item, review_of
from tests.factories import item_data, make_declaration
from tests.risk.conftest import submitted

pytestmark = pytest.mark.django_db

BEEF = "020130"


def test_submitting_a_draft_takes_fourteen_statements(cast, django_assert_num_queries):
    # One of them asks whether an emergency in force makes it a relief consignment, one
    # whether relief was announced for it (supplies.services.prenotification_match), and
    # one whether an office the declaration names is closed now
    # (declarations.validation.closed_office_errors): never from a cache.
    warm_up = make_declaration(actor=cast.trader_a, invoice_number="INV-QC-0")
    declaration_submit(declaration=warm_up, actor=cast.trader_a)
    for n, items in enumerate(([item_data()], [item_data() for _ in range(8)]), start=1):
        draft = make_declaration(actor=cast.trader_a, items=items, invoice_number=f"INV-QC-{n}")
        with django_assert_num_queries(14):
            declaration_submit(declaration=draft, actor=cast.trader_a)


@pytest.mark.parametrize("size", [3, 12])
def test_scoring_a_batch_takes_the_same_statements_whatever_its_size(
    cast, no_random_selection, django_assert_num_queries, size
):
    declarations_assess_risk(declaration_ids=[submitted(cast.trader_a).pk])  # warm caches
    waiting = [
        # Two companies, and goods that open one, two or three reviews each.
        submitted(
            trader,
            items=[regulated_item(BEEF, holder=trader.company)] if n % 3 == 0 else [item_data()],
        )
        for n in range(size)
        for trader in [cast.trader_a if n % 2 else cast.trader_b]
    ]
    # 29 to decide and route (one reads the batch's invoices), 3 to check the permits
    # cited against those issued, 12 more to clear the green ones nobody needs to see:
    # their customs approvals and their assessment, each with its audit entries and the
    # declarant's notices.
    with django_assert_num_queries(44):
        decisions = declarations_assess_risk(declaration_ids=[waiting[0].pk], more=31)
    assert len(decisions) == size
    assert {d.status for d in Declaration.objects.filter(pk__in=[w.pk for w in waiting])} == {
        "assessed",  # green, customs only
        "under_review",  # green, waiting for the food agency
    }


@pytest.mark.parametrize("who", ["trader_a", "analyst"])
def test_the_declaration_detail_takes_the_same_statements_however_long_its_story(
    cast, api, login, reviewed, django_assert_num_queries, who
):
    short = reviewed(lane="yellow", hs_codes=(BEEF,))
    long = reviewed(lane="yellow", hs_codes=(BEEF, "080510", "851713", "851713"))
    assert long.reviews.count() == 3  # customs, food and plant
    inspection_record(
        review_id=review_of(long, cast.customs).pk, actor=cast.customs_officer,
        kind="documentary", finding="no_discrepancy",
    )  # fmt: skip
    user = getattr(cast, who)
    client, browser = api.as_user(user), login(user)
    for declaration in (short, long):
        client.get(f"/api/v1/declarations/{declaration.pk}/")
        with django_assert_num_queries(9):
            assert client.get(f"/api/v1/declarations/{declaration.pk}/").status_code == 200
        browser.get(f"/declarations/{declaration.pk}/")
        with django_assert_num_queries(12):
            assert browser.get(f"/declarations/{declaration.pk}/").status_code == 200

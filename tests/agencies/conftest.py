"""Declarations put under review the way risk assessment does it, for the agency tests."""

import itertools

import pytest

from clearance.services import declaration_submit
from declarations.models import Declaration
from tests.factories import item_data, make_declaration, permit_citations, route

invoice_numbers = (f"INV-AG-{n:06d}" for n in itertools.count(1))

MEAT = "020130"  # food
ORANGES = "080510"  # food (0805) and plant (08)
PHONES = "851713"  # customs only


def regulated_item(hs_code: str, *, holder, procedure: str = "4000", **overrides) -> dict:
    """An item citing a permit issued to `holder` by every agency whose jurisdiction
    covers it."""
    data = item_data(hs_code=hs_code, **overrides)
    data["permits"] = permit_citations(data, holder=holder, procedure=procedure)
    return data


def under_review(declaration, *, lane: str = "green", actor) -> Declaration:
    """Submit, then apply the lane as the risk engine does (reviews, ordered checks)."""
    declaration_submit(declaration=declaration, actor=actor)
    return route(declaration, lane=lane)


@pytest.fixture
def reviewed(cast, django_capture_on_commit_callbacks):
    """Factory: a declaration of company A (meat and oranges by default) under review."""

    def make(*, lane: str = "green", hs_codes=(MEAT, ORANGES), actor=None, **header):
        actor = actor or cast.trader_a
        items = [
            regulated_item(code, holder=actor.company, procedure=header.get("procedure", "4000"))
            for code in hs_codes
        ]
        header.setdefault("invoice_number", next(invoice_numbers))
        declaration = make_declaration(actor=actor, items=items, **header)
        # The risk task queued on commit is not wanted here: the reviews are opened directly.
        with django_capture_on_commit_callbacks(execute=False):
            return under_review(declaration, lane=lane, actor=actor)

    return make


def review_of(declaration, agency):
    return declaration.reviews.get(agency=agency)

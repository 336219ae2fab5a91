"""Jurisdiction: which agencies review a declaration, and which items each sees."""

import pytest

from agencies.models import LANE_RANK, Review
from agencies.services import jurisdiction_rule_create, jurisdiction_rule_delete
from clearance.services import declaration_lane_override
from tests.agencies.conftest import MEAT, ORANGES, PHONES, review_of

pytestmark = pytest.mark.django_db


def slice_of(declaration, agency) -> list[str]:
    return [item.hs_code for item in review_of(declaration, agency).items.order_by("line_no")]


def test_an_item_under_two_agencies_opens_both_reviews_each_with_its_slice(cast, reviewed):
    declaration = reviewed(hs_codes=(MEAT, ORANGES, PHONES))
    assert {r.agency.code for r in declaration.reviews.all()} == {"customs", "food", "plant"}
    assert slice_of(declaration, cast.customs) == [MEAT, ORANGES, PHONES]
    assert slice_of(declaration, cast.food) == [MEAT, ORANGES]
    assert slice_of(declaration, cast.plant) == [ORANGES]
    assert review_of(declaration, cast.plant).permits_required == ["Phytosanitary certificate"]


def test_goods_nobody_regulates_are_reviewed_by_customs_alone(cast, reviewed):
    declaration = reviewed(hs_codes=(PHONES,))
    assert [r.agency.code for r in declaration.reviews.all()] == ["customs"]


def test_origin_and_procedure_conditions_narrow_a_rule(cast, reviewed):
    jurisdiction_rule_create(
        agency=cast.plant, hs_prefix="0901", origin_countries=["br"], permit_type="Coffee"
    )
    jurisdiction_rule_create(agency=cast.food, hs_prefix="0902", procedure_codes=["4000"])
    from tests.agencies.conftest import invoice_numbers, regulated_item, under_review
    from tests.factories import make_declaration

    a = cast.company_a

    def routed(items, procedure="4000"):
        declaration = make_declaration(
            actor=cast.trader_a,
            items=items,
            procedure=procedure,
            invoice_number=next(invoice_numbers),
        )
        return {r.agency.code for r in under_review(declaration, actor=cast.trader_a).reviews.all()}

    assert routed([regulated_item("090111", holder=a, origin_country="BR")]) == {"customs", "plant"}
    assert routed([regulated_item("090111", holder=a, origin_country="CN")]) == {"customs"}
    assert routed([regulated_item("090210", holder=a)], procedure="4000") == {"customs", "food"}
    assert routed([regulated_item("090210", holder=a, procedure="4071")], procedure="4071") == {
        "customs"
    }


def test_a_rule_needs_valid_codes(cast):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        jurisdiction_rule_create(
            agency=cast.food, hs_prefix="123", origin_countries=["XYZ"], procedure_codes=["40"]
        )
    assert {"hs_prefix", "origin_countries", "procedure_codes"} <= set(error.value.message_dict)


def test_changing_jurisdiction_leaves_open_reviews_as_they_were(cast, reviewed):
    before = reviewed(hs_codes=(MEAT, ORANGES))
    for rule in cast.food.jurisdiction.all():
        jurisdiction_rule_delete(rule=rule, actor=cast.admin)
    assert slice_of(before, cast.food) == [MEAT, ORANGES]
    after = reviewed(hs_codes=(MEAT, ORANGES), invoice_number="INV-AFTER")
    assert {r.agency.code for r in after.reviews.all()} == {"customs", "plant"}


def test_only_an_administrator_changes_jurisdiction(cast):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        jurisdiction_rule_create(agency=cast.food, hs_prefix="04", actor=cast.food_officer)


def test_the_review_keeps_the_lane_rank_in_step_with_the_declaration(cast, reviewed):
    declaration = reviewed(lane="yellow")
    ranks = set(Review.objects.filter(declaration=declaration).values_list("lane_rank", flat=True))
    assert ranks == {LANE_RANK["yellow"]}
    declaration_lane_override(
        declaration_id=declaration.pk, lane="red", actor=cast.supervisor, reason="tip-off"
    )
    ranks = set(Review.objects.filter(declaration=declaration).values_list("lane_rank", flat=True))
    assert ranks == {LANE_RANK["red"]}

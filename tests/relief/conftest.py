"""A typhoon in force over the test office, a humanitarian consignee, and medicines
the food agency licenses: relief consignments lodged with documents to follow, and
relief consignments two agencies must inspect."""

import pytest
from django.db import transaction

from agencies.services import jurisdiction_rule_create
from clearance.services import declaration_lodge
from relief.models import JointInspection
from tests.agencies.conftest import ORANGES, regulated_item
from tests.emergencies.conftest import (  # noqa: F401
    MEDICINES,
    TENTS,
    declare,
    emergency,
    ngo,
    relief_header,
    second_admin,
)
from tests.factories import consistent_header, route

LICENCE = "Medicine import licence"


@pytest.fixture
def medicine_licences(cast):
    """The food and drug agency licenses medicines (a permit at lodgement)."""
    return jurisdiction_rule_create(agency=cast.food, hs_prefix="3004", permit_type=LICENCE)


def provisional_header(trader, items, **overrides) -> dict:
    """A relief consignment lodged before its invoice and bill of lading are to hand."""
    fields = {
        "invoice_number": "",
        "transport_document": "",
        "documents_follow": True,
        **relief_header(trader),
        **overrides,
    }
    return consistent_header(items, **fields)


def lodge(trader, items, **header):
    """Lodge in one step (the risk task queued on commit is not run)."""
    with transaction.atomic():
        return declaration_lodge(actor=trader, header=header, items=items)


@pytest.fixture
def typhoon(cast, second_admin):  # noqa: F811 (the fixture imported above)
    """An emergency listing fruit (food and plant quarantine look at oranges), medicines
    and tents."""
    return declare(cast.admin, second_admin, hs_prefixes=["0805", "3004", "6306"])


def relief_oranges(cast, trader, *, lane="green", extra=(), **header):
    """Oranges (food and plant quarantine), permits cited, lodged by a humanitarian
    consignee and routed to `lane`."""
    items = [regulated_item(ORANGES, holder=trader.company, description="Oranges"), *extra]
    header = {**relief_header(trader), **header}
    declaration = lodge(trader, items, **consistent_header(items, **header))
    return route(declaration, lane=lane)


def offered(declaration) -> JointInspection:
    return JointInspection.objects.get(declaration=declaration)

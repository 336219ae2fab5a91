"""An emergency in force over the test office (KRPUS), an approved humanitarian
consignee with a trader, and helpers to announce, lodge and release relief."""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clearance.services import declaration_submit
from declarations.models import Declaration
from supplies.services import prenotification_file
from tests.emergencies.conftest import (  # noqa: F401
    MEDICINES,
    TENTS,
    declare,
    emergency,
    ngo,
    relief_header,
    second_admin,
)
from tests.factories import TEST_OFFICE, make_declaration, route
from tests.risk.conftest import no_random_selection  # noqa: F401

AWB = "180-1234 5675"


def announcement(under, consignee_trader, **overrides) -> dict:
    """What a filer sends: amoxicillin and tents by air to Busan, due tomorrow."""
    fields = {
        "emergency_id": under.pk,
        "consignee_tax_id": consignee_trader.company.tax_id,
        "office_code": TEST_OFFICE,
        "sender_name": "UNICEF Supply Division",
        "sender_country": "DK",
        "transport_mode": "4",
        "transport_document": AWB,
        "expected_arrival": timezone.now() + timedelta(days=1),
        "notes": "",
        "lines": [
            {"hs_code": "300490", "description": "Amoxicillin 500 mg",
             "quantity": Decimal("20000"), "unit": "NAR"},
            {"hs_code": "630622", "description": "Family tents",
             "quantity": Decimal("500"), "unit": "NAR"},
        ],
    }  # fmt: skip
    fields.update(overrides)
    return fields


def announce(actor, under, consignee_trader, **overrides):
    return prenotification_file(actor=actor, **announcement(under, consignee_trader, **overrides))


def lodge_relief(trader, items, **header) -> Declaration:
    """A relief consignment lodged by the consignee's trader, by air under the AWB."""
    header = {"transport_mode": "4", "transport_document": AWB, **relief_header(trader), **header}
    draft = make_declaration(actor=trader, items=items, **header)
    with transaction.atomic():
        return declaration_submit(declaration=draft, actor=trader)


def release(declaration) -> Declaration:
    """Green lane, nothing to pay (duty relief): released as the engine would route it."""
    released = route(declaration, lane="green")
    assert released.status == Declaration.Status.RELEASED, released.status
    return released

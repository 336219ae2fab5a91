"""An emergency in force over the test office, and a humanitarian consignee."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from emergencies.services import (
    consignee_decide,
    consignee_register,
    emergency_declare_propose,
    emergency_proposal_approve,
)
from tests.factories import TEST_OFFICE, CompanyFactory, UserFactory, item_data
from tests.risk.conftest import no_random_selection  # noqa: F401

MEDICINES = item_data(
    hs_code="300490",
    description="Antibiotics, amoxicillin 500 mg capsules",
    unit="NAR",
    quantity=Decimal("20000"),
    net_mass_kg=Decimal("400.000"),
    gross_mass_kg=Decimal("450.000"),
    value=Decimal("12000.00"),
)
TENTS = item_data(
    hs_code="630622",
    description="Family tents, synthetic fibres",
    unit="NAR",
    quantity=Decimal("500"),
    net_mass_kg=Decimal("9000.000"),
    gross_mass_kg=Decimal("9500.000"),
    value=Decimal("60000.00"),
)


@pytest.fixture
def second_admin(cast):
    return UserFactory(username="admin2", role="admin")


def declare(actor, approver, **overrides):
    now = timezone.now()
    fields = {
        "name": "Typhoon Mawar",
        "description": "Landfall on the south coast; ports of Busan and Ulsan damaged.",
        "starts_at": now - timedelta(hours=1),
        "ends_at": now + timedelta(days=30),
        "hs_prefixes": ["3004", "6306", "8421 21"],
        "priority": True,
        "lower_lane": True,
        "duty_relief": True,
        "documents_may_follow": True,
        "documents_within_days": 14,
    }
    fields.update(overrides)
    office_codes = fields.pop("office_codes", [TEST_OFFICE])
    proposal = emergency_declare_propose(
        actor=actor, office_codes=office_codes, reason="Typhoon landfall", **fields
    )
    emergency_proposal_approve(proposal_id=proposal.pk, actor=approver)
    proposal.emergency.refresh_from_db()
    return proposal.emergency


@pytest.fixture
def emergency(cast, second_admin):
    return declare(cast.admin, second_admin)


@pytest.fixture
def ngo(cast, second_admin):
    """A relief organisation with a trader account, approved as a humanitarian consignee."""
    company = CompanyFactory(name="Korea Relief Cross", tax_id="KR2208800001")
    trader = UserFactory(username="relief_trader", company=company)
    consignee = consignee_register(
        actor=trader, kind="red_cross", mission="Disaster relief; registered charity 1953-01"
    )
    consignee_decide(actor=cast.admin, consignee_id=consignee.pk, status="approved")
    return trader


def relief_header(trader, **overrides) -> dict:
    return {
        "importer_name": trader.company.name,
        "importer_tax_id": trader.company.tax_id,
        **overrides,
    }

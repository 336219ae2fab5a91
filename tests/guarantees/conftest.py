"""Transit movements from Busan (KRPUS) to Seoul (KRSEL) under company A's guarantee:
officers posted at both ends, a guarantee accepted with four eyes, and the body of a
transit declaration."""

import itertools
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from accounts.models import User
from clearance.services import inspection_record, review_approve
from declarations.models import Declaration
from guarantees.models import Guarantee
from guarantees.services import guarantee_proposal_approve, guarantee_propose
from tests.agencies.conftest import review_of
from tests.factories import UserFactory, api_payload, consistent_header, item_data, route

invoice_numbers = (f"INV-TR-{n:06d}" for n in itertools.count(1))

DEPARTURE, DESTINATION, VIA = "KRPUS", "KRSEL", "KRUWN"


@pytest.fixture
def posted(cast):
    """Customs staff at each end of the movement: the cast's officer at Busan, an officer
    and two supervisors at Seoul (the cast's supervisor oversees both offices)."""
    cast.customs_officer.offices.set([DEPARTURE])
    cast.supervisor.offices.set([DEPARTURE, DESTINATION])
    customs = {"agency": cast.customs}
    seoul = UserFactory(
        username="seoul_officer", role=User.Role.OFFICER, offices=[DESTINATION], **customs
    )
    supervisor2 = UserFactory(
        username="seoul_supervisor", role=User.Role.SUPERVISOR, offices=[DESTINATION], **customs
    )
    # Customs staff posted elsewhere: they see none of these movements.
    incheon = UserFactory(
        username="incheon_officer", role=User.Role.OFFICER, offices=["KRINC"], **customs
    )
    return SimpleNamespace(
        departure=cast.customs_officer,
        destination=seoul,
        supervisor=cast.supervisor,
        supervisor2=supervisor2,
        elsewhere=incheon,
    )


def guarantee_accept(
    *,
    company,
    proposer,
    approver,
    reference: str = "GRT-A-0001",
    amount: Decimal = Decimal("100000000"),
    valid_from=None,
    valid_until=None,
) -> Guarantee:
    """A guarantee registered by one customs officer and approved by a supervisor."""
    today = timezone.localdate()
    proposal = guarantee_propose(
        actor=proposer,
        company_tax_id=company.tax_id,
        reference=reference,
        amount=amount,
        valid_from=valid_from or today - timedelta(days=30),
        valid_until=valid_until or today + timedelta(days=365),
        reason="Bank undertaking checked",
    )
    guarantee_proposal_approve(proposal_id=proposal.pk, actor=approver)
    return Guarantee.objects.get(pk=proposal.guarantee_id)


@pytest.fixture
def guarantee(cast, posted):
    """Company A's accepted guarantee of 100,000,000 KRW."""
    return guarantee_accept(
        company=cast.company_a, proposer=cast.customs_officer, approver=cast.supervisor
    )


def transit_header(items=None, **overrides) -> dict:
    """A transit declaration's header (for the services), agreeing with its items."""
    fields = {
        "type": "TR",
        "procedure": "8000",
        "office_of_entry": "",
        "office_of_departure": DEPARTURE,
        "office_of_destination": DESTINATION,
        "itinerary": [VIA],
        "guarantee_reference": "GRT-A-0001",
        "transit_days": 3,
        "invoice_number": next(invoice_numbers),
    }
    fields.update(overrides)
    return consistent_header(items or [item_data()], **fields)


def transit_payload(**overrides) -> dict:
    """The same, as the JSON body a broker's system posts."""
    fields = {
        "type": "TR",
        "procedure": "8000",
        "office_of_entry": "",
        "office_of_departure": DEPARTURE,
        "office_of_destination": DESTINATION,
        "itinerary": [VIA],
        "guarantee_reference": "GRT-A-0001",
        "transit_days": 3,
        "invoice_number": next(invoice_numbers),
    }
    fields.update(overrides)
    return api_payload(**fields)


@pytest.fixture
def movement_drawn(cast, guarantee, django_capture_on_commit_callbacks):
    """A transit movement of company A lodged, holding part of its guarantee."""
    from clearance.services import declaration_lodge

    items = [item_data()]
    with django_capture_on_commit_callbacks(execute=False):
        return declaration_lodge(actor=cast.trader_a, header=transit_header(items), items=items)


# ---- Movements taken through the steps, through the API --------------------------------------


def lodge(api, trader, django_capture_on_commit_callbacks, **overrides):
    """Lodge a transit declaration through the API, as a broker's system does; the risk
    task is left out (tests give the lane)."""
    with django_capture_on_commit_callbacks(execute=False):
        response = api.as_user(trader).post(
            "/api/v1/declarations/", {**transit_payload(**overrides), "lodge": True}, format="json"
        )
    return response


def cleared(movement, *, officer, lane="yellow"):
    """Route the movement and have the officer of departure clear it."""
    movement = route(movement, lane=lane)
    customs = review_of(movement, movement.reviews.first().agency)
    if lane != "green":
        inspection_record(
            review_id=customs.pk, actor=officer, kind="documentary", finding="no_discrepancy"
        )
        review_approve(review_id=customs.pk, actor=officer)
    return Declaration.objects.get(pk=movement.pk)


@pytest.fixture
def movement(cast, api, posted, guarantee, django_capture_on_commit_callbacks):
    """Factory: a transit movement of company A lodged through the API, then cleared."""

    def make(*, clear=True, **overrides):
        response = lodge(api, cast.trader_a, django_capture_on_commit_callbacks, **overrides)
        assert response.status_code == 201, response.json()
        lodged = Declaration.objects.get(pk=response.json()["id"])
        return cleared(lodged, officer=posted.departure) if clear else lodged

    return make


def released(api, movement, officer, seals=("KRSEAL000123",)):
    response = api.as_user(officer).post(
        f"/api/v1/movements/{movement.pk}/release/", {"seal_numbers": list(seals)}, format="json"
    )
    assert response.status_code == 200, response.json()
    return Declaration.objects.get(pk=movement.pk)


def arrive(api, movement, officer, **overrides):
    body = {
        "arrived_at": timezone.now().isoformat(),
        "seals_intact": True,
        "seal_numbers_found": movement.seal_numbers,
        **overrides,
    }
    return api.as_user(officer).post(
        f"/api/v1/movements/{movement.pk}/arrival/", body, format="json"
    )


def discharge(api, movement, officer):
    return api.as_user(officer).post(f"/api/v1/movements/{movement.pk}/discharge/")

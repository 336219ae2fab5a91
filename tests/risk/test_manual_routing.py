"""A declaration held after scoring failed is routed by hand, once, with a reason."""

import pytest

from agencies.models import Review
from clearance.services import declaration_submit
from declarations.models import Declaration
from declarations.services import declaration_transition
from risk.models import LaneDecision
from tests.factories import make_declaration

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(cast, django_capture_on_commit_callbacks):
    declaration = make_declaration(actor=cast.trader_a)
    with django_capture_on_commit_callbacks(execute=False):
        declaration_submit(declaration=declaration, actor=cast.trader_a)
    declaration_transition(
        declaration_id=declaration.pk, to_status="held", actor=None, reason="scoring failed"
    )
    return declaration


def test_a_customs_supervisor_routes_a_held_declaration(cast, api, held):
    response = api.as_user(cast.supervisor).post(
        f"/api/v1/risk/held/{held.pk}/route/",
        {"lane": "red", "reason": "scoring down; new trader"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    held.refresh_from_db()
    assert (held.status, held.lane) == ("under_review", "red")
    decision = LaneDecision.objects.get(declaration=held)
    assert "set by supervisor" in decision.reasons[0]["text"]
    assert Review.objects.filter(declaration=held, agency=cast.customs).exists()
    event = held.events.order_by("-seq").first()
    assert (event.actor, event.reason) == (cast.supervisor, "scoring down; new trader")


def test_routing_twice_or_without_a_reason_is_refused(cast, api, held):
    client = api.as_user(cast.analyst)
    url = f"/api/v1/risk/held/{held.pk}/route/"
    assert client.post(url, {"lane": "green", "reason": ""}, format="json").status_code == 400
    assert client.post(url, {"lane": "green", "reason": "ok"}, format="json").status_code == 200
    assert client.post(url, {"lane": "red", "reason": "again"}, format="json").status_code == 404
    assert LaneDecision.objects.filter(declaration=held).count() == 1


@pytest.mark.parametrize("who", ["trader_a", "customs_officer", "food_officer", "admin"])
def test_other_roles_get_404(cast, api, held, who):
    response = api.as_user(getattr(cast, who)).post(
        f"/api/v1/risk/held/{held.pk}/route/", {"lane": "green", "reason": "x"}, format="json"
    )
    assert response.status_code == 404
    assert Declaration.objects.get(pk=held.pk).status == "held"

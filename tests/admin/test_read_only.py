"""What services alone write, the admin only shows."""

import pytest
from django.db import transaction

from clearance.services import declaration_assess_risk, declaration_submit
from declarations.models import Declaration
from notifications.models import Notification
from notifications.services import notify
from risk.models import LaneDecision
from tests.factories import make_declaration

pytestmark = pytest.mark.django_db

READ_ONLY = [
    "declarations/declaration",
    "declarations/declarationevent",
    "declarations/exitconfirmation",
    "emergencies/emergency",
    "emergencies/humanitarianconsignee",
    "risk/ruleset",
    "risk/lanedecision",
    "risk/modelversion",
    "risk/trainingrecord",
    "notifications/notification",
    "agencies/review",
    "auth/group",
    "accounts/securitypolicychange",
]


@pytest.fixture
def scored(cast, django_capture_on_commit_callbacks):
    declaration = make_declaration(actor=cast.trader_a)
    # Scored here, synchronously, rather than by the task queued on commit.
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        declaration_submit(declaration=declaration, actor=cast.trader_a)
    declaration_assess_risk(declaration_id=declaration.pk)
    return Declaration.objects.get(pk=declaration.pk)


@pytest.mark.parametrize("model", READ_ONLY)
def test_nothing_is_added_in_the_admin(as_admin, model):
    assert as_admin.get(f"/admin/{model}/").status_code == 200
    assert as_admin.get(f"/admin/{model}/add/").status_code == 403


def test_a_declaration_and_what_was_written_about_it_are_shown_not_changed(cast, as_admin, scored):
    decision = LaneDecision.objects.get(declaration=scored)
    event = scored.events.first()
    [notification] = notify(recipient_ids=[cast.trader_a.pk], verb="test", text="Scored.")
    for model, obj in [
        ("declarations/declaration", scored),
        ("declarations/declarationevent", event),
        ("risk/lanedecision", decision),
        ("notifications/notification", notification),
    ]:
        url = f"/admin/{model}/{obj.pk}"
        assert as_admin.get(f"{url}/change/").status_code == 200, model
        assert as_admin.post(f"{url}/change/", {}).status_code == 403, model
        assert as_admin.post(f"{url}/delete/", {"post": "yes"}).status_code == 403, model
    assert Declaration.objects.filter(pk=scored.pk, status=scored.status).exists()
    assert LaneDecision.objects.filter(pk=decision.pk).exists()
    assert Notification.objects.filter(pk=notification.pk).exists()

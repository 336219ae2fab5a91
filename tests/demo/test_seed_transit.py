import pytest
from django.core.management import call_command

from accounts.models import User
from declarations.models import Declaration, DeclarationEvent
from guarantees.models import Guarantee, GuaranteeDraw

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_each_company_a_guarantee_and_hanbit_two_movements_once():
    call_command("seed_demo", verbosity=0)
    rows = (Guarantee, GuaranteeDraw, Declaration, DeclarationEvent)
    counts = [m.objects.count() for m in rows]
    call_command("seed_demo", verbosity=0)
    assert [m.objects.count() for m in rows] == counts

    guarantees = Guarantee.objects.order_by("reference")
    assert [(g.company.tax_id, g.status) for g in guarantees] == [
        ("KR1048612345", "accepted"),
        ("KR2208754321", "accepted"),
    ]
    movements = Declaration.objects.filter(type="TR").order_by("invoice_number")
    assert [(m.status, m.seal_numbers) for m in movements] == [
        ("released", ["KRSEAL000123"]),
        ("arrived", ["KRSEAL000124"]),
    ]
    for movement in movements:
        assert (movement.office_of_departure, movement.itinerary) == ("KRPUS", ["KRUWN"])
        assert movement.office_of_destination == "KRSEL"
        assert movement.guarantee_draw.status == "drawn"
    hanbit = guarantees[0]
    assert hanbit.balance == hanbit.amount - sum(m.guarantee_draw.amount for m in movements)


def test_the_movement_under_seal_has_its_e_seal_s_track_and_one_alert_for_the_officer(client):
    from devices.models import DeviceEvent, MovementAlert

    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)  # once: its messages are not sent again
    movement = Declaration.objects.get(type="TR", status="released")
    track = DeviceEvent.objects.filter(movement=movement).order_by("recorded_at")
    assert track.count() == 6 and {e.outcome for e in track} == {"applied"}
    assert all(e.receipts == 1 and e.recorded_at >= movement.submitted_at for e in track)
    alert = MovementAlert.objects.get(movement=movement)
    assert alert.kind == "seal_opened" and alert.event == track.last()
    assert movement.destination_inspection_required

    client.force_login(User.objects.get(username="customs_officer"))  # posted at Busan
    page = client.get(f"/seals/{movement.pk}/")
    assert page.status_code == 200
    assert [p["status"] for p in page.context["map"]["points"]] == ["closed"] * 5 + ["opened"]
    assert "Seal opened" in page.content.decode()

import pytest
from django.core.management import call_command

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

"""Joint inspection: a relief consignment several agencies must inspect is offered
one inspection, booked once (time, place, agencies, officers) and recorded once by
an officer of any of them, for all of them: the finding becomes each agency's
inspection, and what follows from it follows once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from agencies.models import Inspection, Review
from clearance.relief import joint_inspection_record
from clearance.services import review_approve
from core.exceptions import ApplicationError
from declarations.models import Declaration
from notifications.models import Notification
from relief.models import JointInspection
from relief.services import joint_inspection_book, joint_inspection_cancel
from tests.agencies.conftest import ORANGES, regulated_item
from tests.emergencies.conftest import TENTS, relief_header
from tests.factories import AgencyFactory, UserFactory, consistent_header, route
from tests.relief.conftest import lodge, offered, relief_oranges

pytestmark = pytest.mark.django_db


def agencies_of(joint) -> list[str]:
    return sorted(p.agency.code for p in joint.participants.all())


def book(joint, actor, *, agencies=("food", "plant"), officers=(), **overrides):
    fields = {
        "scheduled_at": timezone.now() + timedelta(hours=3),
        "place": "Busan New Port, reefer yard B",
        "agency_codes": list(agencies),
        "officer_usernames": list(officers),
        **overrides,
    }
    return joint_inspection_book(actor=actor, joint_inspection_id=joint.pk, **fields)


def test_offered_for_relief_that_several_agencies_must_inspect(cast, typhoon, ngo):
    declaration = relief_oranges(cast, ngo)
    joint = offered(declaration)
    assert joint.status == JointInspection.Status.OFFERED
    assert joint.office == "KRPUS"
    # Green: customs cleared it; food and plant quarantine both look at the oranges.
    assert agencies_of(joint) == ["food", "plant"]
    for officer in (cast.food_officer, cast.plant_officer):
        assert Notification.objects.filter(
            recipient=officer, verb="joint_inspection_offered", text__contains=declaration.reference
        ).exists()
    assert not Notification.objects.filter(
        recipient=cast.customs_officer, verb="joint_inspection_offered"
    ).exists()
    # The offer is the officers' business, not the declarant's.
    assert declaration.events.get(action="joint_inspection_offered").notice == ""


def test_red_brings_customs_in_and_ordinary_or_single_agency_work_is_not_offered(
    cast, typhoon, ngo
):
    red = relief_oranges(cast, ngo, lane="red", invoice_number="INV-RED")
    assert agencies_of(offered(red)) == ["customs", "food", "plant"]
    # Not relief: each agency inspects on its own.
    items = [regulated_item(ORANGES, holder=cast.company_a)]
    ordinary = route(lodge(cast.trader_a, items, **consistent(items)), lane="red")
    assert not JointInspection.objects.filter(declaration=ordinary).exists()
    # Relief that one agency alone inspects (customs, red): nothing to join.
    tents = route(lodge(ngo, [TENTS], **consistent([TENTS], **relief_header(ngo))), lane="red")
    assert not JointInspection.objects.filter(declaration=tents).exists()


def consistent(items, **header):
    return consistent_header(items, invoice_number=f"INV-{len(items)}-{id(items)}", **header)


def test_booked_by_an_officer_of_an_agency_taking_part(cast, typhoon, ngo):
    declaration = relief_oranges(cast, ngo)
    joint = offered(declaration)
    second_plant = UserFactory(username="plant_2", role="officer", agency=cast.plant)
    book(joint, cast.food_officer, officers=["food_officer", "plant_2"])
    joint.refresh_from_db()
    assert joint.status == JointInspection.Status.BOOKED
    assert joint.booked_by == cast.food_officer and joint.place.startswith("Busan New Port")
    officers = {
        p.agency.code: [o.username for o in p.officers.all()] for p in joint.participants.all()
    }
    assert officers == {"food": ["food_officer"], "plant": ["plant_2"]}
    # The officers sent are told (plant_officer, not sent, is not); so is the declarant.
    assert Notification.objects.filter(
        recipient=second_plant, verb="joint_inspection_booked"
    ).exists()
    assert not Notification.objects.filter(
        recipient=cast.plant_officer, verb="joint_inspection_booked"
    ).exists()
    [told] = Notification.objects.filter(recipient=ngo, verb="joint_inspection_booked")
    assert "Joint inspection of the goods by Food and Drug Safety, Plant Quarantine booked for" in (
        told.text
    )
    assert "reefer yard B" in told.text
    entry = declaration.events.get(action="joint_inspection_booked")
    assert entry.data["agencies"] == ["food", "plant"] and entry.actor == cast.food_officer


def test_what_a_booking_needs_is_named(cast, typhoon, ngo):
    joint = offered(relief_oranges(cast, ngo))
    cases = [
        ({"scheduled_at": timezone.now() - timedelta(hours=1)}, "scheduled_at"),
        ({"place": "  "}, "place"),
        ({"agencies": ["food"]}, "agencies"),
        ({"agencies": ["food", "animal"]}, "agencies"),
        ({"agencies": ["plant", "customs"]}, "agencies"),  # customs approved (green)
        ({"officers": ["customs_officer"]}, "officers"),  # not of an agency taking part
    ]
    for overrides, field in cases:
        with pytest.raises(ValidationError) as refused:
            book(joint, cast.food_officer, **overrides)
        assert field in refused.value.message_dict, (overrides, refused.value)
    # Customs may join (it reviews every declaration), not book others without it.
    with pytest.raises(ValidationError) as refused:
        book(joint, cast.customs_officer)
    assert refused.value.message_dict == {
        "agencies": ["Your agency takes part in the inspections it books."]
    }
    # An officer whose agency does not take part, or posted elsewhere, is refused as
    # if it did not exist.
    animal = AgencyFactory(code="animal", name="Animal Health")
    outsiders = [
        UserFactory(username="food_icn", role="officer", agency=cast.food, offices=["KRICN"]),
        UserFactory(username="animal_officer", role="officer", agency=animal),
    ]
    for outsider in outsiders:
        with pytest.raises(PermissionDenied):
            book(joint, outsider)
    assert offered(joint.declaration).status == JointInspection.Status.OFFERED


def test_recorded_once_for_every_agency_taking_part(cast, typhoon, ngo):
    declaration = relief_oranges(cast, ngo)
    joint = offered(declaration)
    book(joint, cast.food_officer)
    joint_inspection_record(
        actor=cast.plant_officer, joint_inspection_id=joint.pk,
        finding=Inspection.Finding.NO_DISCREPANCY, notes="Fruit sound, no pests found.",
    )  # fmt: skip
    joint.refresh_from_db()
    assert joint.status == JointInspection.Status.DONE and joint.recorded_by == cast.plant_officer
    for agency in (cast.food, cast.plant):
        review = declaration.reviews.get(agency=agency)
        [inspection] = review.inspections.all()
        assert (inspection.kind, inspection.status, inspection.finding) == (
            "physical", "done", "no_discrepancy",
        )  # fmt: skip
        assert inspection.recorded_by == cast.plant_officer
        assert "Fruit sound" in inspection.notes
        assert joint.participants.get(agency=agency).inspection == inspection
    # The plant officer did not take the food agency's review by recording for it.
    food = declaration.reviews.get(agency=cast.food)
    assert food.assigned_to is None and food.status == Review.Status.OPEN
    # Once: the second officer is told who recorded it.
    with pytest.raises(ApplicationError, match="recorded already by plant_officer"):
        joint_inspection_record(
            actor=cast.food_officer, joint_inspection_id=joint.pk, finding="no_discrepancy"
        )
    assert Inspection.objects.filter(review__declaration=declaration).count() == 2
    # Each agency still decides on its own slice.
    review_approve(review_id=food.pk, actor=cast.food_officer)
    review_approve(
        review_id=declaration.reviews.get(agency=cast.plant).pk, actor=cast.plant_officer
    )
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.RELEASED  # duty relief: nothing to pay


def test_a_joint_inspection_is_customs_lane_work_too(cast, typhoon, ngo):
    declaration = relief_oranges(cast, ngo, lane="red")
    joint = offered(declaration)
    book(joint, cast.customs_officer, agencies=["customs", "food", "plant"])
    joint_inspection_record(
        actor=cast.food_officer, joint_inspection_id=joint.pk, finding="no_discrepancy"
    )
    customs = declaration.reviews.get(agency=cast.customs)
    assert customs.inspections.get(status="done").recorded_by == cast.food_officer
    # The red lane's physical inspection is done: customs may approve.
    review_approve(review_id=customs.pk, actor=cast.customs_officer)
    assert Review.objects.get(pk=customs.pk).status == Review.Status.APPROVED


def test_prohibited_goods_detain_the_declaration_once(cast, typhoon, ngo):
    declaration = relief_oranges(cast, ngo, lane="red")
    joint = offered(declaration)
    book(joint, cast.plant_officer, agencies=["customs", "food", "plant"])
    joint_inspection_record(
        actor=cast.plant_officer, joint_inspection_id=joint.pk,
        finding=Inspection.Finding.PROHIBITED_GOODS, items=[1], notes="Fruit fly larvae.",
    )  # fmt: skip
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.DETAINED
    assert declaration.events.filter(to_status="detained").count() == 1
    findings = set(Inspection.objects.filter(review__declaration=declaration).values_list(
        "finding", flat=True))  # fmt: skip
    assert findings == {"prohibited_goods"}
    # The customs supervisor who decides is told once.
    assert Notification.objects.filter(recipient=cast.supervisor, verb="detained").count() == 1


def test_a_finding_on_another_agencys_goods_is_no_discrepancy_on_yours(
    cast, typhoon, ngo, medicine_licences
):
    medicines = regulated_item("300490", holder=ngo.company, description="Antibiotics")
    declaration = relief_oranges(cast, ngo, extra=[medicines], invoice_number="INV-MIX")
    joint = offered(declaration)
    assert agencies_of(joint) == ["food", "plant"]
    book(joint, cast.food_officer)
    joint_inspection_record(
        actor=cast.food_officer, joint_inspection_id=joint.pk,
        finding=Inspection.Finding.MISDECLARED_QUANTITY, items=[2],
    )  # fmt: skip
    food = declaration.reviews.get(agency=cast.food).inspections.get()
    plant = declaration.reviews.get(agency=cast.plant).inspections.get()
    assert (food.finding, [i.line_no for i in food.items.all()]) == ("misdeclared_quantity", [2])
    assert plant.finding == "no_discrepancy"
    assert "concerns item 2, not this agency's goods" in plant.notes


def test_only_customs_adds_revenue_and_it_is_added_once(cast, typhoon, ngo, second_admin):
    declaration = relief_oranges(cast, ngo, lane="red")
    joint = offered(declaration)
    book(joint, cast.customs_officer, agencies=["customs", "food", "plant"])
    record = {
        "joint_inspection_id": joint.pk,
        "finding": Inspection.Finding.MISDECLARED_VALUE,
        "items": [1],
        "revenue_difference": Decimal("150000.00"),
    }
    with pytest.raises(ValidationError) as refused:
        joint_inspection_record(actor=cast.food_officer, **record)
    assert "revenue_difference" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        joint_inspection_record(actor=cast.customs_officer, **{**record, "items": [7]})
    assert refused.value.message_dict == {"items": ["The declaration has no item 7."]}
    joint_inspection_record(actor=cast.customs_officer, **record)
    declaration.refresh_from_db()
    assert declaration.additional_due == Decimal("150000.00")
    assert declaration.events.filter(action="reassessed").count() == 1
    revenue = Inspection.objects.filter(review__declaration=declaration).values_list(
        "review__agency__code", "revenue_difference"
    )
    assert dict(revenue) == {
        "customs": Decimal("150000.00"), "food": Decimal("0"), "plant": Decimal("0"),
    }  # fmt: skip


def test_whoever_set_the_lane_does_not_inspect(cast, typhoon, ngo):
    declaration = relief_oranges(cast, ngo, lane="yellow")
    from clearance.services import declaration_lane_override

    declaration_lane_override(
        declaration_id=declaration.pk, lane="red", actor=cast.supervisor, reason="Intelligence"
    )
    joint = JointInspection.objects.get(declaration=declaration)
    book(joint, cast.supervisor, agencies=["customs", "food", "plant"])
    with pytest.raises(ApplicationError, match="Four eyes"):
        joint_inspection_record(
            actor=cast.supervisor, joint_inspection_id=joint.pk, finding="no_discrepancy"
        )


def test_recorded_only_once_booked_and_while_under_review(cast, typhoon, ngo):
    declaration = relief_oranges(cast, ngo)
    joint = offered(declaration)
    with pytest.raises(ApplicationError, match="once booked"):
        joint_inspection_record(
            actor=cast.food_officer, joint_inspection_id=joint.pk, finding="no_discrepancy"
        )
    book(joint, cast.food_officer)
    joint_inspection_cancel(actor=cast.plant_officer, joint_inspection_id=joint.pk,
                            reason="Plant quarantine inspects at its own station")  # fmt: skip
    joint.refresh_from_db()
    assert joint.status == JointInspection.Status.CANCELLED
    [told] = Notification.objects.filter(recipient=ngo, verb="joint_inspection_cancelled")
    assert "called off" in told.text
    assert Notification.objects.filter(
        recipient=cast.food_officer, verb="joint_inspection_cancelled"
    ).exists()
    with pytest.raises(ApplicationError):
        book(joint, cast.food_officer)
    with pytest.raises(ValidationError):
        joint_inspection_cancel(actor=cast.food_officer, joint_inspection_id=joint.pk, reason="")


def test_the_booking_and_the_finding_are_on_the_declarations_trail(cast, typhoon, ngo):
    declaration = relief_oranges(cast, ngo)
    joint = offered(declaration)
    book(joint, cast.food_officer)
    joint_inspection_record(
        actor=cast.plant_officer, joint_inspection_id=joint.pk, finding="no_discrepancy"
    )
    actions = list(declaration.events.values_list("action", flat=True))
    assert actions.index("joint_inspection_offered") < actions.index("joint_inspection_booked")
    assert actions.index("joint_inspection_booked") < actions.index("joint_inspection_recorded")
    recorded = declaration.events.get(action="joint_inspection_recorded")
    assert recorded.actor == cast.plant_officer
    assert recorded.data["agencies"] == ["food", "plant"]
    assert recorded.data["finding"] == "no_discrepancy"
    from django.core.management import call_command

    call_command("audit_verify", verbosity=0)  # the chain holds


def test_offering_takes_the_same_statements_for_one_consignment_or_many(cast, typhoon, ngo):
    """The offer is made in the risk engine's batch: constant statements, none at all
    for a batch without relief."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from relief.services import joint_inspections_offer

    routed = [relief_oranges(cast, ngo, invoice_number=f"INV-BATCH-{n}") for n in range(3)]
    reviews_of = {d.pk: list(d.reviews.select_related("agency", "declaration")) for d in routed}

    def offer(declarations) -> int:
        JointInspection.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            joint_inspections_offer(declarations=declarations, reviews_of=reviews_of)
        return len(queries)

    assert offer(routed[:1]) == offer(routed)
    assert JointInspection.objects.count() == 3
    for declaration in routed:
        declaration.emergency_id = None  # as if none were relief
    assert offer(routed) == 0

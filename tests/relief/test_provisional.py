"""A provisional relief declaration: lodged with its documents to follow, released
within the measures meanwhile, its documents supplied later and ticked off; nothing
but documents is relaxed, and only for relief."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from clearance.relief import owed_document_supply
from clearance.services import (
    declaration_amend,
    declaration_assess_risk,
    declaration_cancel,
    review_approve,
)
from core.exceptions import ApplicationError
from declarations.models import Declaration, Document
from relief.models import OwedDocument, ProvisionalDeclaration
from tests.emergencies.conftest import MEDICINES, TENTS, declare
from tests.factories import (
    PermitFactory,
    consistent_header,
    item_data,
    make_declaration,
    pdf_bytes,
    route,
)
from tests.relief.conftest import LICENCE, lodge, provisional_header

pytestmark = pytest.mark.django_db


def owed_kinds(declaration) -> list[tuple]:
    return [
        (d.kind, d.item.line_no if d.item else None, d.agency.code if d.agency else "")
        for d in declaration.provisional.documents.order_by("pk")
    ]


def test_a_relief_consignment_is_lodged_with_its_documents_to_follow(
    cast, emergency, ngo, medicine_licences
):
    items = [MEDICINES, TENTS]
    declaration = lodge(ngo, items, **provisional_header(ngo, items))

    assert declaration.status == Declaration.Status.SUBMITTED
    assert declaration.emergency == emergency
    provisional = declaration.provisional
    assert provisional.status == ProvisionalDeclaration.Status.OWED
    # The deadline is the emergency's: 14 days from lodgement.
    assert provisional.due_at == declaration.submitted_at + timedelta(days=14)
    assert owed_kinds(declaration) == [
        ("invoice", None, ""),
        ("transport_document", None, ""),
        ("permit", 1, "food"),
    ]
    assert [d.description for d in provisional.documents.order_by("pk")][2] == (
        f"Item 1: {LICENCE} from {cast.food.name}"
    )
    # The declarant reads what is owed and by when in the history.
    owed = declaration.events.get(action="documents_owed")
    assert owed.notice.startswith("Lodged provisionally under Typhoon Mawar: supply by ")
    assert "Commercial invoice (its number)" in owed.notice
    # The risk engine scores it as any other, without an invoice or B/L number yet.
    decision = declaration_assess_risk(declaration_id=declaration.pk)
    assert Declaration.objects.get(pk=declaration.pk).lane == decision.lane != ""


def test_documents_that_are_all_there_owe_nothing(cast, emergency, ngo):
    items = [TENTS]
    header = provisional_header(ngo, items, invoice_number="INV-R-1", transport_document="B/L-1")
    declaration = lodge(ngo, items, **header)
    assert not ProvisionalDeclaration.objects.filter(declaration=declaration).exists()


def test_goods_data_never_follows(cast, emergency, ngo):
    items = [MEDICINES]
    bad_code = [{**MEDICINES, "hs_code": "300499"}]  # no such HS 2022 subheading
    with pytest.raises(ValidationError) as refused:
        lodge(ngo, bad_code, **provisional_header(ngo, bad_code))
    assert "items[0].hs_code" in refused.value.message_dict

    header = provisional_header(ngo, items, invoice_total=Decimal("1.00"))
    with pytest.raises(ValidationError) as refused:
        lodge(ngo, items, **header)
    assert "invoice_total" in refused.value.message_dict
    no_quantity = [{**MEDICINES, "quantity": Decimal("0")}]
    with pytest.raises(ValidationError) as refused:
        lodge(ngo, no_quantity, **provisional_header(ngo, no_quantity))
    assert "items[0].quantity" in refused.value.message_dict
    assert not Declaration.objects.filter(company=ngo.company).exists()


def test_a_wrong_permit_cited_is_refused_even_when_documents_follow(
    cast, emergency, ngo, medicine_licences
):
    items = [{**MEDICINES, "permits": [{"agency": "food", "reference": "FOOD-NOPE-1"}]}]
    with pytest.raises(ValidationError) as refused:
        lodge(ngo, items, **provisional_header(ngo, items))
    assert refused.value.message_dict["items[0].permits"] == [
        "Item 1: permit FOOD-NOPE-1 was not issued by food."
    ]


def test_documents_follow_only_for_relief_and_the_error_names_the_field(
    cast, emergency, ngo, medicine_licences
):
    items = [MEDICINES]
    # An ordinary importer's medicines: not a relief consignment.
    header = provisional_header(cast.trader_a, items, importer_tax_id="KR1048612345")
    with pytest.raises(ValidationError) as refused:
        lodge(cast.trader_a, items, **header)
    errors = refused.value.message_dict
    assert errors["documents_follow"][0].startswith(
        "Only a relief consignment may be lodged with documents to follow. The importer is "
        "not a humanitarian consignee"
    )
    # And what it lacks is refused as for any declaration.
    assert errors["invoice_number"] == ["This field cannot be blank."]
    assert errors["transport_document"] == ["This field cannot be blank."]
    assert errors["items[0].permits"] == [f"HS 300490 needs a {LICENCE} from {cast.food.name}."]
    # Goods the emergency does not list are not relief either.
    phones = [item_data()]
    with pytest.raises(ValidationError) as refused:
        lodge(ngo, phones, **provisional_header(ngo, phones))
    assert (
        "Not among the goods Typhoon Mawar lists"
        in refused.value.message_dict["documents_follow"][0]
    )
    assert not Declaration.objects.exclude(status="draft").exists()


def test_documents_follow_only_where_the_measures_say_so(cast, ngo, second_admin):
    items = [TENTS]
    with pytest.raises(ValidationError) as refused:
        lodge(ngo, items, **provisional_header(ngo, items))
    assert refused.value.message_dict["documents_follow"] == [
        "No emergency is in force: lodge the declaration with its documents."
    ]
    declare(cast.admin, second_admin, documents_may_follow=False)
    with pytest.raises(ValidationError) as refused:
        lodge(ngo, items, **provisional_header(ngo, items))
    assert refused.value.message_dict["documents_follow"] == [
        "The relief measures of Typhoon Mawar do not let documents follow: lodge the "
        "declaration with its documents."
    ]


def test_a_draft_may_say_documents_follow_and_lodges_provisionally(cast, emergency, ngo):
    from clearance.services import declaration_submit

    items = [TENTS]
    draft = make_declaration(actor=ngo, items=items, **provisional_header(ngo, items))
    assert draft.is_draft and draft.invoice_number == ""
    with transaction.atomic():
        submitted = declaration_submit(declaration=draft, actor=ngo)
    assert owed_kinds(submitted) == [("invoice", None, ""), ("transport_document", None, "")]
    # Two provisional declarations without an invoice number yet are no duplicates.
    second = lodge(ngo, items, **provisional_header(ngo, items))
    assert second.invoice_number == submitted.invoice_number == ""


def test_the_preference_waits_for_its_certificate(cast, ngo, second_admin):
    declare(cast.admin, second_admin, duty_relief=False, hs_prefixes=["0805"])
    oranges = item_data(hs_code="080510", description="Oranges", origin_country="CN",
                        preference="rcep", unit="KGM", quantity=Decimal("5000"))  # fmt: skip
    declaration = lodge(
        ngo, [oranges], **provisional_header(ngo, [oranges], invoice_number="INV-P-1",
                                             transport_document="BL-P-1"),
    )  # fmt: skip
    assert owed_kinds(declaration) == [
        ("certificate_of_origin", 1, ""),
        ("permit", 1, "food"),
        ("permit", 1, "plant"),
    ]
    # Until the certificate is supplied, the general rate (50 %, not RCEP's 30 %): no
    # money moves without the proof.
    assert declaration.items.get().duty_rate == Decimal("50")


def released_provisional(cast, ngo):
    """Medicines and tents lodged provisionally, cleared and released with documents owed."""
    items = [MEDICINES, TENTS]
    declaration = lodge(ngo, items, **provisional_header(ngo, items))
    declaration = route(declaration, lane="green")
    food = declaration.reviews.get(agency=cast.food)
    review_approve(review_id=food.pk, actor=cast.food_officer)
    declaration.refresh_from_db()
    return declaration


def test_released_within_the_measures_then_the_documents_follow(
    cast, emergency, ngo, medicine_licences
):
    declaration = released_provisional(cast, ngo)
    # Duty relief, a green lane, the food agency's approval: released, documents owed.
    assert declaration.status == Declaration.Status.RELEASED
    assert declaration.provisional.status == ProvisionalDeclaration.Status.OWED
    invoice, transport, licence = declaration.provisional.documents.order_by("pk")

    permit = PermitFactory(
        issued_by=cast.food_officer, holder=ngo.company, permit_type=LICENCE, hs_prefixes=["3004"]
    )
    owed_document_supply(
        actor=ngo, declaration_id=declaration.pk, owed_id=licence.pk, reference=permit.number
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("invoice.pdf", pdf_bytes(), content_type="application/pdf")
    owed_document_supply(
        actor=ngo, declaration_id=declaration.pk, owed_id=invoice.pk, reference="INV-RC-77",
        upload=upload,
    )  # fmt: skip
    invoice.refresh_from_db()
    stored = Document.objects.get(pk=invoice.document_id)
    assert (stored.declaration, stored.kind) == (declaration, "invoice")
    assert ProvisionalDeclaration.objects.get(declaration=declaration).status == "owed"

    owed_document_supply(
        actor=ngo, declaration_id=declaration.pk, owed_id=transport.pk, reference="MSKU7654321"
    )
    provisional = ProvisionalDeclaration.objects.get(declaration=declaration)
    assert provisional.status == ProvisionalDeclaration.Status.COMPLETE
    assert provisional.completed_at is not None
    assert [d.reference for d in provisional.documents.order_by("pk")] == [
        "INV-RC-77",
        "MSKU7654321",
        permit.number,
    ]
    actions = list(declaration.events.values_list("action", flat=True))
    assert actions.count("document_supplied") == 3
    assert actions[-1] == "documents_complete"


def test_what_is_supplied_is_checked(cast, emergency, ngo, medicine_licences):
    declaration = released_provisional(cast, ngo)
    invoice, _, licence = declaration.provisional.documents.order_by("pk")

    def supply(owed, reference, actor=ngo):
        return owed_document_supply(
            actor=actor, declaration_id=declaration.pk, owed_id=owed.pk, reference=reference
        )

    with pytest.raises(ValidationError) as refused:
        supply(licence, "FOOD-NOPE-9")
    assert refused.value.message_dict == {
        "reference": ["Permit FOOD-NOPE-9 was not issued by food."]
    }
    # Another company's licence does not serve.
    theirs = PermitFactory(
        issued_by=cast.food_officer, holder=cast.company_a, permit_type=LICENCE,
        hs_prefixes=["3004"],
    )  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        supply(licence, theirs.number)
    assert refused.value.message_dict["reference"] == [
        f"Permit {theirs.number} was issued to another company."
    ]
    with pytest.raises(ValidationError) as refused:
        supply(invoice, "  ")
    assert list(refused.value.message_dict) == ["reference"]
    # An invoice number another live declaration of the company holds.
    make_declaration(
        actor=ngo,
        items=[TENTS],
        invoice_number="INV-TAKEN",
        **{"importer_name": ngo.company.name, "importer_tax_id": ngo.company.tax_id},
    )
    with pytest.raises(ValidationError) as refused:
        supply(invoice, "INV-TAKEN")
    assert "is already declared in" in refused.value.message_dict["reference"][0]
    # Only the declarant supplies; once.
    with pytest.raises(PermissionDenied):
        supply(invoice, "INV-1", actor=cast.trader_a)
    supply(invoice, "INV-OK-1")
    with pytest.raises(ApplicationError, match="supplied already"):
        supply(invoice, "INV-OK-2")
    assert OwedDocument.objects.get(pk=invoice.pk).reference == "INV-OK-1"


def test_an_amendment_keeps_the_deadline_and_owes_what_it_still_lacks(
    cast, emergency, ngo, medicine_licences
):
    items = [MEDICINES, TENTS]
    first = lodge(ngo, items, **provisional_header(ngo, items))
    first = route(first, lane="yellow")
    due = first.provisional.due_at
    header = provisional_header(ngo, items, invoice_number="INV-AM-1")
    with transaction.atomic():
        second = declaration_amend(actor=ngo, declaration=first, header=header, items=items)
    assert second.provisional.due_at == due
    assert owed_kinds(second) == [("transport_document", None, ""), ("permit", 1, "food")]
    first.provisional.refresh_from_db()
    assert first.provisional.status == ProvisionalDeclaration.Status.WITHDRAWN


def test_a_cancelled_declaration_owes_nothing_more(cast, emergency, ngo):
    from relief.tasks import sweep_documents_owed

    items = [TENTS]
    declaration = route(lodge(ngo, items, **provisional_header(ngo, items)), lane="yellow")
    declaration_cancel(actor=ngo, declaration=declaration, reason="Shipment lost at sea")
    ProvisionalDeclaration.objects.filter(declaration=declaration).update(
        due_at=timezone.now() - timedelta(days=1)
    )
    assert sweep_documents_owed() == {"withdrawn": 1, "reminded": 0, "overdue": 0}
    assert declaration.provisional.__class__.objects.get(declaration=declaration).status == (
        "withdrawn"
    )
    with pytest.raises(ApplicationError, match="owes no documents any more"):
        owed_document_supply(
            actor=ngo,
            declaration_id=declaration.pk,
            owed_id=declaration.provisional.documents.first().pk,
            reference="INV-LATE",
        )


def test_a_consistent_header_still_names_the_header_fields():
    # The helper the tests lodge with keeps documents_follow among the header fields.
    assert consistent_header([TENTS], documents_follow=True)["documents_follow"] is True

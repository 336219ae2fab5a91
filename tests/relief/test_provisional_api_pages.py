"""Documents to follow through the API and the pages: lodged with documents_follow,
read on the declaration (declarant) and on the review (officers, each agency its own
items), supplied later; refused with the field named, and 404 to anyone else."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from relief.models import OwedDocument, ProvisionalDeclaration
from tests.emergencies.conftest import MEDICINES, TENTS
from tests.factories import PermitFactory, api_payload, pdf_bytes, route
from tests.relief.conftest import LICENCE, lodge, provisional_header

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def relief_payload(ngo, items, **overrides) -> dict:
    return api_payload(
        items=items,
        **{
            "importer_name": ngo.company.name,
            "importer_tax_id": ngo.company.tax_id,
            "invoice_number": "",
            "transport_document": "",
            **overrides,
        },
    )


def test_lodged_over_the_api_with_documents_to_follow(cast, api, emergency, ngo, medicine_licences):
    client = api.as_user(ngo)
    body = {**relief_payload(ngo, [MEDICINES, TENTS]), "documents_follow": True, "lodge": True}
    response = client.post("/api/v1/declarations/", body, format="json")
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]

    detail = client.get(f"/api/v1/declarations/{pk}/").json()
    assert detail["documents_follow"] is True
    owed = detail["documents_owed"]
    assert owed["status"] == "owed" and owed["emergency"] == "Typhoon Mawar"
    assert [(d["kind"], d["item"], d["agency"], d["supplied"]) for d in owed["documents"]] == [
        ("invoice", None, None, False),
        ("transport_document", None, None, False),
        ("permit", 1, "food", False),
    ]
    assert client.get(f"/api/v1/declarations/{pk}/documents-owed/").json() == owed

    # Supplied: a permit number checked as at lodgement, a file with the invoice.
    licence = owed["documents"][2]
    url = f"/api/v1/declarations/{pk}/documents-owed/{licence['id']}/supply/"
    refused = client.post(url, {"reference": "FOOD-NOPE"}, format="multipart")
    assert refused.status_code == 400
    assert refused.json()["fields"] == {"reference": ["Permit FOOD-NOPE was not issued by food."]}
    permit = PermitFactory(
        issued_by=cast.food_officer, holder=ngo.company, permit_type=LICENCE, hs_prefixes=["3004"]
    )
    supplied = client.post(url, {"reference": permit.number}, format="multipart")
    assert supplied.status_code == 200, supplied.json()
    assert supplied.json()["documents"][2]["supplied"] is True
    again = client.post(url, {"reference": permit.number}, format="multipart")
    assert again.status_code == 409

    invoice = owed["documents"][0]
    with_file = client.post(
        f"/api/v1/declarations/{pk}/documents-owed/{invoice['id']}/supply/",
        {"reference": "INV-API-1", "file": SimpleUploadedFile("inv.pdf", pdf_bytes())},
        format="multipart",
    )
    assert with_file.status_code == 200
    document_id = with_file.json()["documents"][0]["document"]
    assert client.get(f"/api/v1/declarations/{pk}/documents/{document_id}/").status_code == 200


def test_asked_of_anything_but_relief_the_api_names_documents_follow(cast, api, emergency):
    body = {**api_payload(invoice_number="", transport_document=""), "documents_follow": True}
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/", {**body, "lodge": True}, format="json"
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert fields["documents_follow"][0].startswith("Only a relief consignment may be lodged")
    assert fields["invoice_number"] == ["This field cannot be blank."]


def test_nobody_else_reads_or_supplies_the_documents_owed(cast, api, emergency, ngo):
    declaration = lodge(ngo, [TENTS], **provisional_header(ngo, [TENTS]))
    owed = declaration.provisional.documents.first()
    read = f"/api/v1/declarations/{declaration.pk}/documents-owed/"
    supply = f"{read}{owed.pk}/supply/"
    for user in (cast.trader_a, cast.customs_officer, cast.food_officer):
        client = api.as_user(user)
        assert client.get(read).status_code == 404
        assert client.post(supply, {"reference": "X"}, format="multipart").status_code == 404
    # Analysts and administrators read it; only the declarant supplies.
    assert api.as_user(cast.analyst).get(read).status_code == 200
    assert (
        api.as_user(cast.admin).post(supply, {"reference": "X"}, format="multipart").status_code
        == 404
    )
    assert OwedDocument.objects.get(pk=owed.pk).supplied_at is None
    # A declaration lodged complete owes nothing.
    complete = lodge(
        ngo,
        [TENTS],
        **provisional_header(ngo, [TENTS], invoice_number="I-1", transport_document="B-1"),
    )
    assert (
        api.as_user(ngo).get(f"/api/v1/declarations/{complete.pk}/documents-owed/").status_code
        == 404
    )
    assert (
        api.as_user(ngo).get(f"/api/v1/declarations/{complete.pk}/").json()["documents_owed"]
        is None
    )


def test_the_declarant_reads_and_supplies_them_on_the_declaration_page(
    cast, login, emergency, ngo, medicine_licences
):
    declaration = lodge(ngo, [MEDICINES, TENTS], **provisional_header(ngo, [MEDICINES, TENTS]))
    browser = login(ngo)
    page = browser.get(f"/declarations/{declaration.pk}/").content.decode()
    assert "Documents to follow" in page
    assert "Lodged provisionally under Typhoon Mawar" in page
    assert f"Item 1: {LICENCE} from {cast.food.name}" in page
    transport = declaration.provisional.documents.get(kind="transport_document")
    response = browser.post(
        f"/relief/declarations/{declaration.pk}/documents-owed/{transport.pk}/",
        {"reference": "MSKU0001112"},
    )
    assert response.status_code == 302
    transport.refresh_from_db()
    assert transport.reference == "MSKU0001112"
    page = browser.get(f"/declarations/{declaration.pk}/").content.decode()
    assert "MSKU0001112" in page
    assert "Document supplied: Transport document (B/L or AWB) (MSKU0001112)." in page
    # A refusal is shown on the page, naming the field.
    invoice = declaration.provisional.documents.get(kind="invoice")
    browser.post(f"/relief/declarations/{declaration.pk}/documents-owed/{invoice.pk}/",
                 {"reference": ""})  # fmt: skip
    page = browser.get(f"/declarations/{declaration.pk}/").content.decode()
    assert "This field is required." in page
    # Another trader: 404.
    other = login(cast.trader_a).post(
        f"/relief/declarations/{declaration.pk}/documents-owed/{invoice.pk}/", {"reference": "X"}
    )
    assert other.status_code == 404


def test_officers_see_what_is_owed_on_their_review(cast, login, emergency, ngo, medicine_licences):
    declaration = lodge(ngo, [MEDICINES, TENTS], **provisional_header(ngo, [MEDICINES, TENTS]))
    declaration = route(declaration, lane="yellow")
    customs = declaration.reviews.get(agency=cast.customs)
    food = declaration.reviews.get(agency=cast.food)
    due = f"{ProvisionalDeclaration.objects.get(declaration=declaration).due_at:%Y-%m-%d}"

    page = login(cast.customs_officer).get(f"/reviews/{customs.pk}/").content.decode()
    assert "Documents to follow" in page and due in page
    assert "Commercial invoice (its number)" in page and LICENCE in page
    # The food agency sees its own items' documents, not the invoice or the B/L.
    page = login(cast.food_officer).get(f"/reviews/{food.pk}/").content.decode()
    assert LICENCE in page and due in page
    assert "Commercial invoice (its number)" not in page
    assert 'name="reference"' not in page  # officers read, the declarant supplies

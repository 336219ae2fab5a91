import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from declarations.models import Declaration, Document
from tests.factories import (
    image_bytes,
    item_data,
    make_declaration,
    open_reviews,
    pdf_bytes,
    permit_citations,
)

pytestmark = pytest.mark.django_db

PDF = pdf_bytes()
PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(client, declaration, content: bytes, name="file.pdf", kind="invoice", item=None):
    data = {"kind": kind, "file": SimpleUploadedFile(name, content)}
    if item is not None:
        data["item"] = item
    return client.post(
        f"/api/v1/declarations/{declaration.pk}/documents/", data, format="multipart"
    )


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")],
)
def test_pdf_png_and_jpeg_are_stored_with_their_hash(cast, api, content, content_type):
    declaration = make_declaration(actor=cast.trader_a)
    response = upload(api.as_user(cast.trader_a), declaration, content, name="scan.bin")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["content_type"] == content_type
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["size"] == len(content)
    download = api.as_user(cast.trader_a).get(body["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert declaration.events.filter(action="document_added").count() == 1


def test_the_type_is_judged_by_the_bytes_not_the_name(cast, api):
    declaration = make_declaration(actor=cast.trader_a)
    response = upload(
        api.as_user(cast.trader_a), declaration, b"MZ\x90\x00 not a pdf", "invoice.pdf"
    )
    assert response.status_code == 400
    assert "Only PDF, PNG and JPEG" in response.json()["fields"]["file"][0]
    assert Document.objects.count() == 0


HTML_BEHIND_PDF_MAGIC = (
    b"%PDF-1.7\n<html><body><script>alert(document.cookie)</script></body></html>\n"
)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (HTML_BEHIND_PDF_MAGIC, "invoice.pdf", "begins like a PDF but is not a readable PDF"),
        (PDF[: len(PDF) // 2], "invoice.pdf", "begins like a PDF but is not a readable PDF"),
        (pdf_bytes(password="s3cret"), "invoice.pdf", "The PDF is encrypted"),
        (pdf_bytes(pages=0), "invoice.pdf", "The PDF has no pages"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "scan.png", "not a readable PNG image"),
        (JPEG[: len(JPEG) // 2], "scan.jpg", "not a readable JPEG image"),
        (PNG, "invoice.pdf", "named invoice.pdf but is a PNG image"),
        (PDF, "scan.jpeg", "named scan.jpeg but is a PDF"),
    ],
    ids=[
        "html-behind-pdf-magic",
        "truncated-pdf",
        "encrypted-pdf",
        "pdf-without-pages",
        "png-header-only",
        "truncated-jpeg",
        "png-named-pdf",
        "pdf-named-jpeg",
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused_naming_the_field(
    cast, api, content, name, message
):
    declaration = make_declaration(actor=cast.trader_a)
    response = upload(api.as_user(cast.trader_a), declaration, content, name=name)
    assert response.status_code == 400
    assert message in response.json()["fields"]["file"][0]
    assert Document.objects.count() == 0


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_decompression_bomb_is_refused(cast, api):
    # 100 million pixels in 32 kB: past Pillow's MAX_IMAGE_PIXELS (89 million).
    bomb = image_bytes("PNG", size=(10_000, 10_000), mode="1")
    declaration = make_declaration(actor=cast.trader_a)
    response = upload(api.as_user(cast.trader_a), declaration, bomb, name="scan.png")
    assert response.status_code == 400
    assert "more than 89,478,485 pixels" in response.json()["fields"]["file"][0]
    assert Document.objects.count() == 0


def test_a_large_scan_written_to_disk_while_uploaded_is_accepted(cast, api):
    # Past Django's FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) the upload is a temporary file.
    import io
    import os

    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (1600, 1600), os.urandom(1600 * 1600 * 3)).save(
        out, format="JPEG", quality=95
    )
    scan = out.getvalue()
    assert len(scan) > 2_621_440
    declaration = make_declaration(actor=cast.trader_a)
    response = upload(api.as_user(cast.trader_a), declaration, scan, name="scan.jpg")
    assert response.status_code == 201, response.json()
    assert response.json()["sha256"] == hashlib.sha256(scan).hexdigest()


def test_the_page_shows_why_a_file_was_refused(cast, login):
    declaration = make_declaration(actor=cast.trader_a)
    page = login(cast.trader_a).post(
        f"/declarations/{declaration.pk}/documents/",
        {"kind": "invoice", "file": SimpleUploadedFile("invoice.pdf", HTML_BEHIND_PDF_MAGIC)},
        follow=True,
    )
    assert "not a readable PDF" in page.content.decode()
    assert Document.objects.count() == 0


def test_an_oversized_file_is_refused(cast, api, settings):
    settings.DOCUMENT_MAX_BYTES = 100
    declaration = make_declaration(actor=cast.trader_a)
    response = upload(api.as_user(cast.trader_a), declaration, PDF + b"x" * 100)
    assert response.status_code == 400
    assert "the limit is 100 bytes" in response.json()["fields"]["file"][0]
    assert Document.objects.count() == 0


def test_a_document_links_to_an_existing_item_only(cast, api):
    declaration = make_declaration(actor=cast.trader_a)
    client = api.as_user(cast.trader_a)
    assert upload(client, declaration, PDF, item=1).json()["item"] == 1
    refused = upload(client, declaration, PDF, item=7)
    assert refused.status_code == 400
    assert "no item 7" in refused.json()["fields"]["item"][0]


def test_another_company_cannot_upload_or_download(cast, api, login):
    declaration = make_declaration(actor=cast.trader_a)
    document_url = upload(api.as_user(cast.trader_a), declaration, PDF).json()["url"]
    document = Document.objects.get()
    assert upload(api.as_user(cast.trader_b), declaration, PDF).status_code == 404
    assert api.as_user(cast.trader_b).get(document_url).status_code == 404
    assert (
        login(cast.trader_b)
        .get(f"/declarations/{declaration.pk}/documents/{document.pk}/")
        .status_code
        == 404
    )
    assert Document.objects.count() == 1


def test_an_agency_sees_only_the_documents_of_its_items(cast, api):
    beef = item_data(hs_code="020130")
    beef["permits"] = permit_citations(beef, holder=cast.company_a)
    declaration = make_declaration(actor=cast.trader_a, items=[item_data(), beef])
    client = api.as_user(cast.trader_a)
    invoice = upload(client, declaration, PDF).json()
    beef_certificate = upload(client, declaration, PDF, kind="permit", item=2).json()
    Declaration.objects.filter(pk=declaration.pk).update(status="under_review", lane="green")
    open_reviews(declaration)

    food = api.as_user(cast.food_officer)
    assert food.get(beef_certificate["url"]).status_code == 200
    assert food.get(invoice["url"]).status_code == 404
    customs = api.as_user(cast.customs_officer)
    assert customs.get(invoice["url"]).status_code == 200
    assert api.as_user(cast.plant_officer).get(beef_certificate["url"]).status_code == 404


def test_documents_cannot_be_added_once_the_declaration_is_closed(cast, api):
    declaration = make_declaration(actor=cast.trader_a)
    Declaration.objects.filter(pk=declaration.pk).update(status="cancelled")
    response = upload(api.as_user(cast.trader_a), declaration, PDF)
    assert response.status_code == 409
    assert "cancelled declaration" in response.json()["detail"]


def test_a_file_whose_record_is_not_stored_does_not_stay_on_disk(cast, monkeypatch, tmp_path):
    from declarations import services

    declaration = make_declaration(actor=cast.trader_a)

    def failing_append(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "event_append", failing_append)
    with pytest.raises(RuntimeError):
        services.document_upload(
            actor=cast.trader_a,
            declaration=declaration,
            kind="invoice",
            upload=SimpleUploadedFile("invoice.pdf", PDF),
        )
    assert Document.objects.count() == 0
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []

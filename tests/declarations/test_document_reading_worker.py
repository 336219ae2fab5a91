"""Invoices read through the real broker by a real worker process, and a reading whose
message was lost found again by the sweeper."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from declarations.models import Document, InvoiceReading
from declarations.tasks import sweep_unread_invoices
from tests.conftest import wait_for
from tests.declarations.invoice_pdfs import invoice_pdf
from tests.factories import make_declaration

# The worker process caches content types by id: serialized_rollback restores them
# with their original ids after each test's flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def status_of(reading_id: int) -> str:
    return InvoiceReading.objects.values_list("status", flat=True).get(pk=reading_id)


def upload(api, user, declaration, content: bytes, kind="invoice") -> int:
    response = api.as_user(user).post(
        f"/api/v1/declarations/{declaration.pk}/documents/",
        {"kind": kind, "file": SimpleUploadedFile("invoice.pdf", content)},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_an_uploaded_invoice_is_read_by_a_worker(cast, api, celery_worker):
    content, spec = invoice_pdf("two_columns")
    declaration = make_declaration(actor=cast.trader_a)
    document_id = upload(api, cast.trader_a, declaration, content)
    reading = InvoiceReading.objects.get(document_id=document_id)
    wait_for(lambda: status_of(reading.pk) != "pending")
    reading.refresh_from_db()
    assert (reading.status, reading.invoice_number, reading.total) == (
        "read", spec.number, spec.total
    )  # fmt: skip
    assert reading.attempts == 1


def test_a_reading_whose_message_was_lost_is_queued_again(cast, api, celery_worker):
    content, spec = invoice_pdf("blocks")
    declaration = make_declaration(actor=cast.trader_a)
    # Stored, but its message never reached the broker (Redis was down at the commit).
    document_id = upload(api, cast.trader_a, declaration, content, kind="packing_list")
    Document.objects.filter(pk=document_id).update(kind="invoice")
    reading = InvoiceReading.objects.create(
        document_id=document_id, created_at=timezone.now() - timedelta(hours=1)
    )
    assert sweep_unread_invoices() == 1
    wait_for(lambda: status_of(reading.pk) != "pending")
    reading.refresh_from_db()
    assert (reading.status, reading.seller, reading.currency) == (
        "read", spec.seller.name, "EUR"
    )  # fmt: skip
    # Read: nothing is left for the next sweep.
    assert sweep_unread_invoices() == 0

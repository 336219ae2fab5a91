"""Declarations made from a test invoice, and the invoice uploaded and read as the
platform does (the upload service, then the worker's task)."""

from django.core.files.uploadedfile import SimpleUploadedFile

from declarations.models import Declaration, InvoiceReading
from declarations.services import document_upload
from declarations.tasks import read_invoice
from tests.declarations.invoice_pdfs import InvoiceSpec
from tests.factories import item_data, make_declaration


def items_of(spec: InvoiceSpec, per_line: dict | None = None) -> list[dict]:
    """Items as declared from the invoice's lines; per_line[n] changes line n (1-based)."""
    per_line = per_line or {}
    return [
        item_data(
            **{
                "description": line.description,
                "quantity": line.quantity,
                "value": line.amount,
                **per_line.get(n, {}),
            }
        )
        for n, line in enumerate(spec.lines, start=1)
    ]


def declared_from(spec: InvoiceSpec, *, actor, items=None, **header) -> Declaration:
    """A draft made from the invoice, as a careful declarant makes it."""
    values = {
        "invoice_number": spec.number,
        "currency": spec.currency,
        "exporter_name": spec.seller.name,
        "importer_name": spec.buyer.name,
        "invoice_total": spec.total,
    }
    values.update(header)
    return make_declaration(actor=actor, items=items or items_of(spec), **values)


def attach_invoice(declaration, content: bytes, *, name: str = "invoice.pdf") -> InvoiceReading:
    """Upload the invoice as its declarant, and read it as the worker does."""
    document = document_upload(
        actor=declaration.created_by,
        declaration=declaration,
        kind="invoice",
        upload=SimpleUploadedFile(name, content),
    )
    reading = InvoiceReading.objects.get(document=document)
    read_invoice(reading.pk)
    reading.refresh_from_db()
    return reading

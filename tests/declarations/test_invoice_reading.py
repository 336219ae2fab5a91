"""Uploaded invoices read by the machine: every layout field by field, scans and pictures
marked not readable, and a reading that goes wrong never loses the upload."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from declarations.models import Declaration, Document, InvoiceReading
from declarations.reading.numbers import DecimalStyle, currency_codes_in, find_date, parse_amount
from declarations.tasks import read_invoice
from tests.declarations.invoice_pdfs import (
    LAYOUTS,
    InvoiceSpec,
    Line,
    invoice_pdf,
    many_lines,
    multipage_invoice,
    scanned_invoice,
)
from tests.factories import image_bytes, make_declaration, pdf_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(client, declaration, content: bytes, name="invoice.pdf", kind="invoice"):
    return client.post(
        f"/api/v1/declarations/{declaration.pk}/documents/",
        {"kind": kind, "file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


def read_uploaded(declaration) -> InvoiceReading:
    """Run what the worker runs once the upload commits; the reading as stored."""
    reading = InvoiceReading.objects.get(document__declaration=declaration)
    if reading.status == InvoiceReading.Status.PENDING:
        read_invoice(reading.pk)
    reading.refresh_from_db()
    return reading


def uploaded_and_read(cast, api, content: bytes, name="invoice.pdf") -> InvoiceReading:
    declaration = make_declaration(actor=cast.trader_a)
    response = upload(api.as_user(cast.trader_a), declaration, content, name)
    assert response.status_code == 201, response.json()
    return read_uploaded(declaration)


def expected_lines(spec: InvoiceSpec) -> list[dict]:
    return [
        {
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "amount": line.amount,
        }
        for line in spec.lines
    ]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_layout_is_read_field_by_field(cast, api, layout):
    content, spec = invoice_pdf(layout)
    reading = uploaded_and_read(cast, api, content)
    assert reading.status == "read", reading.notes
    assert reading.invoice_number == spec.number
    assert reading.invoice_date == spec.date
    assert reading.seller == spec.seller.name
    assert reading.buyer == spec.buyer.name
    assert reading.currency == spec.currency
    assert reading.total == spec.total
    assert reading.line_values() == expected_lines(spec)
    assert reading.pages == (3 if layout == "multipage" else 1)
    assert reading.reader.startswith("pdfplumber ")
    assert reading.duration_ms is not None and reading.read_at is not None


def test_a_long_invoice_is_read_to_its_total_on_the_last_page(cast, api):
    spec = InvoiceSpec(number="LONG-1", lines=many_lines(400))
    reading = uploaded_and_read(cast, api, multipage_invoice(spec, lines_per_page=40))
    assert reading.pages == 10
    assert reading.total == spec.total
    assert len(reading.lines) == 400
    assert reading.line_values()[-1] == expected_lines(spec)[-1]


def test_an_ambiguous_date_is_read_day_first_and_said_so(cast, api):
    content, _ = invoice_pdf("multipage")  # prints 04/05/2026 for 4 May
    reading = uploaded_and_read(cast, api, content)
    assert reading.invoice_date == date(2026, 5, 4)
    assert reading.notes == ["The date 04/05/2026 could be read either way round; read day first."]


def test_a_scanned_invoice_is_not_readable_rather_than_guessed(cast, api):
    reading = uploaded_and_read(cast, api, scanned_invoice())
    assert reading.status == "not_readable"
    assert "no text, only pictures" in reading.notes[0]
    assert reading.invoice_number == "" and reading.total is None and reading.lines == []


@pytest.mark.parametrize(("image_format", "name"), [("PNG", "invoice.png"), ("JPEG", "inv.jpg")])
def test_a_picture_of_an_invoice_is_not_readable_at_once(cast, api, image_format, name):
    declaration = make_declaration(actor=cast.trader_a)
    response = upload(api.as_user(cast.trader_a), declaration, image_bytes(image_format), name)
    assert response.status_code == 201
    reading = InvoiceReading.objects.get(document__declaration=declaration)
    # No worker needed: nothing in a picture is read.
    assert reading.status == "not_readable"
    assert "does not read text in pictures" in reading.notes[0]


def test_a_pdf_with_no_invoice_in_its_text_is_not_readable(cast, api):
    assert uploaded_and_read(cast, api, pdf_bytes(pages=2)).status == "not_readable"


def test_only_invoices_are_read(cast, api):
    declaration = make_declaration(actor=cast.trader_a)
    content, _ = invoice_pdf("table")
    response = upload(api.as_user(cast.trader_a), declaration, content, kind="packing_list")
    assert response.status_code == 201
    assert not InvoiceReading.objects.exists()


def test_too_many_pages_are_not_read(cast, api, settings):
    settings.INVOICE_READ_MAX_PAGES = 2
    reading = uploaded_and_read(cast, api, invoice_pdf("multipage")[0])
    assert reading.status == "not_readable"
    assert reading.notes == ["It has 3 pages; invoices of more than 2 are not read."]


def test_a_reading_past_its_budget_fails_and_the_upload_stands(cast, api, settings):
    settings.INVOICE_READ_BUDGET_SECONDS = 0
    reading = uploaded_and_read(cast, api, invoice_pdf("multipage")[0])
    assert reading.status == "failed"
    assert reading.notes[0].startswith("Reading took too long.")
    assert Document.objects.filter(pk=reading.document_id).exists()


def test_reading_twice_reads_once(cast, api):
    reading = uploaded_and_read(cast, api, invoice_pdf("table")[0])
    assert read_invoice(reading.pk) == "already read"
    reading.refresh_from_db()
    assert reading.attempts == 1 and reading.status == "read"


def test_a_file_that_keeps_killing_the_worker_is_given_up(cast, api, settings):
    declaration = make_declaration(actor=cast.trader_a)
    upload(api.as_user(cast.trader_a), declaration, invoice_pdf("table")[0])
    # As if the worker had died reading it on every delivery so far.
    InvoiceReading.objects.update(attempts=settings.INVOICE_READ_MAX_ATTEMPTS)
    reading = read_uploaded(declaration)
    assert reading.status == "failed"
    assert reading.notes == ["Reading was given up after 3 attempts."]


def test_an_amendment_keeps_what_was_read(cast, api):
    from clearance.services import declaration_amend, declaration_submit
    from declarations.services import HEADER_FIELDS, declaration_items_input
    from tests.factories import route

    declaration = make_declaration(actor=cast.trader_a)
    upload(api.as_user(cast.trader_a), declaration, invoice_pdf("table")[0])
    first = read_uploaded(declaration)
    declaration_submit(declaration=declaration, actor=cast.trader_a)
    route(declaration, lane="yellow")
    declaration.refresh_from_db()
    amended = declaration_amend(
        actor=cast.trader_a,
        declaration=declaration,
        header={f: getattr(declaration, f) for f in HEADER_FIELDS},
        items=declaration_items_input(declaration),
        reason="packages corrected",
    )
    carried = InvoiceReading.objects.get(document__declaration=amended)
    assert carried.pk != first.pk
    assert (carried.status, carried.total, carried.lines) == ("read", first.total, first.lines)
    assert Declaration.objects.get(pk=declaration.pk).status == "amended"


# ---- numbers as invoices print them -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "style", "value"),
    [
        ("1,234.56", ".", "1234.56"),
        ("1.234,56", ".", "1234.56"),  # the number says its own style
        ("1 234,56", ".", "1234.56"),
        ("1'234.56", ",", "1234.56"),
        ("1,234,567", ".", "1234567"),
        ("1.234.567", ",", "1234567"),
        ("1,234", ".", "1234"),  # ambiguous: the document's style decides
        ("1,234", ",", "1.234"),
        ("1.234", ",", "1234"),
        ("0.500", ",", "0.500"),  # a group never starts with 0
        ("12.5", ",", "12.5"),
        ("1234,56", ".", "1234.56"),
        ("1,23,4", ".", None),
        ("12 abc", ".", None),
    ],
)
def test_amounts_in_either_separator_style(text, style, value):
    parsed = DecimalStyle(style).parse(text)
    assert parsed == (Decimal(value) if value else None)


def test_the_document_style_is_the_one_its_unambiguous_numbers_show():
    assert DecimalStyle.of(["Total 13.000,00 €", "Date 02.04.2026", "Qty 1.200"]).decimal == ","
    assert DecimalStyle.of(["Total 13,000.00", "Date 02.04.2026"]).decimal == "."
    assert DecimalStyle.of(["Qty 1,200"]).decimal == "."


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("$18,160.20", "18160.20", "USD"),
        ("13.000,00 €", "13000.00", "EUR"),
        ("£41,718.00", "41718.00", "GBP"),
        ("USD 341,149.90", "341149.90", "USD"),
        ("CN¥ 1,000.00", "1000.00", "CNY"),
        ("¥120,000", "120000", "JPY"),
        ("HK$ 99.50", "99.50", "HKD"),
        ("1,234.56", "1234.56", None),
    ],
)
def test_amounts_with_their_currency_code_or_symbol(text, value, currency):
    amount = parse_amount(text, DecimalStyle("."))
    assert (amount.value, amount.currency) == (Decimal(value), currency)


def test_three_capitals_are_a_currency_only_when_iso_4217_says_so():
    assert parse_amount("ABC 12.00", DecimalStyle(".")) is None
    assert currency_codes_in("AMOUNT GBP") == ["GBP"]
    assert currency_codes_in("TOTAL DUE") == []


@pytest.mark.parametrize(
    ("text", "expected", "ambiguous"),
    [
        ("2026-03-15", date(2026, 3, 15), False),
        ("15.03.2026", date(2026, 3, 15), False),
        ("02.04.2026", date(2026, 4, 2), False),  # dotted dates are day first
        ("15/03/2026", date(2026, 3, 15), False),
        ("03/15/2026", date(2026, 3, 15), False),
        ("04/05/2026", date(2026, 5, 4), True),
        ("February 27, 2026", date(2026, 2, 27), False),
        ("09 Jan 2026", date(2026, 1, 9), False),
        ("15-Mar-2026", date(2026, 3, 15), False),
    ],
)
def test_dates_as_invoices_write_them(text, expected, ambiguous):
    found = find_date(f"Date: {text}")
    assert (found.value, found.ambiguous) == (expected, ambiguous)


def test_a_line_over_two_rows_keeps_its_whole_description(cast, api):
    long = "Stainless steel hex bolts M12 x 80 mm, DIN 933, grade A2-70, zinc flake coated"
    spec = InvoiceSpec(
        lines=(Line(long, Decimal("5000"), Decimal("0.42")), *InvoiceSpec().lines[:1])
    )
    # The text layout wraps descriptions longer than its column onto the next lines.
    content, _ = invoice_pdf("text_columns", spec)
    reading = uploaded_and_read(cast, api, content)
    assert [line["description"] for line in reading.line_values()] == [
        long,
        spec.lines[1].description,
    ]


def test_a_total_no_invoice_could_have_is_left_out_not_stored_wrong(cast, api):
    gold = Line("Gold bars", Decimal("1"), Decimal("20000000000000000"))
    spec = InvoiceSpec(currency="GBP", lines=(gold,))
    reading = uploaded_and_read(cast, api, invoice_pdf("text_columns", spec)[0])
    assert reading.status == "read"
    assert reading.total is None
    assert reading.notes == [
        "The total read, 20000000000000000.00, is too large to be one; it is left out."
    ]

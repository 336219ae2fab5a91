"""Commercial invoices drawn with reportlab, in the layouts traders really upload.

Each maker returns the PDF's bytes; what it printed is the `InvoiceSpec` it was
given, so a test can check that every field is read back exactly. The layouts:

- `table_invoice`: a ruled table with a header row, subtotal, freight and total
  below it; parties as labelled blocks.
- `blocks_invoice`: every header fact as "Label: value" on its own line, amounts in
  the 1.234,56 style with the euro sign, the table ruled by lines only.
- `two_column_invoice`: SELLER on the left and BUYER on the right on one line, each
  name and address below its label; dollar amounts with the $ sign.
- `text_column_invoice`: no ruling at all, the lines laid out in text columns (the
  numbers right-aligned, long descriptions wrapped), the currency given in the
  column heading.
- `multipage_invoice`: as many pages as it takes, the column heading repeated on
  each page, a running subtotal carried forward, the total on the last page.
- `scanned_invoice`: a picture of an invoice in a PDF, without a text layer, as a
  scanner makes it.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

WIDTH, HEIGHT = A4
MARGIN = 18 * mm
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(CENT)


@dataclass(frozen=True)
class Party:
    name: str
    address: tuple[str, ...] = ()


@dataclass(frozen=True)
class InvoiceSpec:
    number: str = "INV-2026-001"
    date: date = date(2026, 3, 15)
    seller: Party = Party(
        "Shenzhen Mobile Devices Co., Ltd.",
        ("88 Keji Road, Nanshan District", "Shenzhen 518057, China"),
    )
    buyer: Party = Party(
        "HANBIT TRADING CO.", ("12 Teheran-ro, Gangnam-gu", "Seoul 06234, Republic of Korea")
    )
    currency: str = "USD"
    lines: tuple[Line, ...] = (
        Line("Smartphones, 128 GB", Decimal("100"), Decimal("120.00")),
        Line("Phone chargers, 25 W", Decimal("200"), Decimal("7.50")),
        Line("USB-C cables, 1 m", Decimal("500"), Decimal("1.00")),
    )
    freight: Decimal = Decimal("0")
    extra: dict = field(default_factory=dict)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.freight


def dot_decimal(amount: Decimal, places: int = 2) -> str:
    """1,234.56"""
    return f"{amount:,.{places}f}"


def comma_decimal(amount: Decimal, places: int = 2) -> str:
    """1.234,56"""
    return dot_decimal(amount, places).replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def quantity_text(quantity: Decimal, style=dot_decimal) -> str:
    places = 0 if quantity == quantity.to_integral_value() else 3
    return style(quantity, places)


def _pdf(draw, *, pages: int = 1) -> bytes:
    out = io.BytesIO()
    sheet = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    sheet.setTitle("Commercial invoice")
    draw(sheet)
    sheet.save()
    return out.getvalue()


def _title(sheet, text="COMMERCIAL INVOICE", y=HEIGHT - MARGIN - 6 * mm):
    sheet.setFont("Helvetica-Bold", 18)
    sheet.drawString(MARGIN, y, text)


def _party_block(sheet, x, y, label, party: Party) -> float:
    sheet.setFont("Helvetica-Bold", 9)
    sheet.drawString(x, y, label)
    sheet.setFont("Helvetica", 10)
    y -= 13
    for text in (party.name, *party.address):
        sheet.drawString(x, y, text)
        y -= 12
    return y


def _ruled_table(sheet, y, spec: InvoiceSpec, columns, rows, *, grid=True) -> float:
    """Draw a table: `columns` are (heading, x_left, x_right, align); `rows` lists of
    cell texts. Returns the y below the table."""
    row_height = 16
    left, right = columns[0][1], columns[-1][2]
    sheet.setFont("Helvetica-Bold", 9)
    top = y
    if grid:
        sheet.setFillColor(colors.HexColor("#e8eef5"))
        sheet.rect(left, y - row_height, right - left, row_height, stroke=0, fill=1)
        sheet.setFillColor(colors.black)
    for heading, x0, x1, align in columns:
        _cell(sheet, heading, x0, x1, y - 11, align)
    y -= row_height
    sheet.setFont("Helvetica", 9)
    for row in rows:
        for text, (_, x0, x1, align) in zip(row, columns, strict=True):
            _cell(sheet, text, x0, x1, y - 11, align)
        y -= row_height
    if grid:
        sheet.setLineWidth(0.5)
        for x in [left, *(c[2] for c in columns)]:
            sheet.line(x, top, x, y)
        for line_y in range(round(top), round(y) - 1, -row_height):
            sheet.line(left, line_y, right, line_y)
    return y


def _cell(sheet, text, x0, x1, baseline, align):
    if align == "right":
        sheet.drawRightString(x1 - 4, baseline, text)
    else:
        sheet.drawString(x0 + 4, baseline, text)


def _totals(sheet, y, rows, *, x_label, x_value, bold_last=True):
    for index, (label, value) in enumerate(rows):
        last = index == len(rows) - 1
        sheet.setFont("Helvetica-Bold" if last and bold_last else "Helvetica", 10)
        sheet.drawString(x_label, y, label)
        sheet.drawRightString(x_value, y, value)
        y -= 14
    return y


# ---- the layouts ------------------------------------------------------------------------------


def table_invoice(spec: InvoiceSpec | None = None) -> bytes:
    spec = spec or InvoiceSpec(freight=Decimal("300.00"))

    def draw(sheet):
        _title(sheet)
        y = HEIGHT - MARGIN - 20 * mm
        sheet.setFont("Helvetica", 10)
        sheet.drawString(WIDTH - 75 * mm, y, f"Invoice No.: {spec.number}")
        sheet.drawString(WIDTH - 75 * mm, y - 13, f"Date: {spec.date:%Y-%m-%d}")
        sheet.drawString(WIDTH - 75 * mm, y - 26, "Terms: FOB Shenzhen")
        y = _party_block(sheet, MARGIN, y, "Seller:", spec.seller) - 8
        y = _party_block(sheet, MARGIN, y, "Buyer:", spec.buyer) - 14
        columns = [
            ("No.", MARGIN, MARGIN + 12 * mm, "left"),
            ("Description", MARGIN + 12 * mm, MARGIN + 88 * mm, "left"),
            ("Quantity", MARGIN + 88 * mm, MARGIN + 110 * mm, "right"),
            (f"Unit price ({spec.currency})", MARGIN + 110 * mm, MARGIN + 142 * mm, "right"),
            (f"Amount ({spec.currency})", MARGIN + 142 * mm, WIDTH - MARGIN, "right"),
        ]
        rows = [
            [
                str(n),
                line.description,
                quantity_text(line.quantity),
                dot_decimal(line.unit_price),
                dot_decimal(line.amount),
            ]
            for n, line in enumerate(spec.lines, start=1)
        ]
        y = _ruled_table(sheet, y, spec, columns, rows) - 16
        _totals(
            sheet,
            y,
            [
                ("Subtotal", dot_decimal(spec.subtotal)),
                ("Freight", dot_decimal(spec.freight)),
                (f"Total {spec.currency}", dot_decimal(spec.total)),
            ],
            x_label=MARGIN + 110 * mm,
            x_value=WIDTH - MARGIN - 4,
        )
        sheet.setFont("Helvetica", 8)
        sheet.drawString(MARGIN, MARGIN, "We certify this invoice is true and correct.")

    return _pdf(draw)


EURO_SPEC = InvoiceSpec(
    number="RE 2026/0417",
    date=date(2026, 4, 2),
    seller=Party("Müller Maschinenbau GmbH", ("Industriestraße 12", "70565 Stuttgart, Germany")),
    buyer=Party("Daehan Precision Co., Ltd.", ("45 Gongdan-ro", "Changwon 51567, Korea")),
    currency="EUR",
    lines=(
        Line("CNC milling spindle SP-40", Decimal("4"), Decimal("3250.00")),
        Line("Tool holder HSK-A63", Decimal("24"), Decimal("187.50")),
        Line("Coolant pump assembly", Decimal("2"), Decimal("1120.75")),
    ),
)


def blocks_invoice(spec: InvoiceSpec | None = None) -> bytes:
    spec = spec or EURO_SPEC

    def draw(sheet):
        _title(sheet, "RECHNUNG / INVOICE")
        y = HEIGHT - MARGIN - 22 * mm
        sheet.setFont("Helvetica", 10)
        for label, value in (
            ("Invoice number", spec.number),
            ("Invoice date", f"{spec.date:%d.%m.%Y}"),
            ("Seller", spec.seller.name),
            ("Seller address", ", ".join(spec.seller.address)),
            ("Buyer", spec.buyer.name),
            ("Buyer address", ", ".join(spec.buyer.address)),
            ("Currency", spec.currency),
            ("Incoterm", "FCA Stuttgart"),
        ):
            sheet.setFont("Helvetica-Bold", 10)
            sheet.drawString(MARGIN, y, f"{label}:")
            sheet.setFont("Helvetica", 10)
            sheet.drawString(MARGIN + 38 * mm, y, value)
            y -= 15
        y -= 12
        columns = [
            ("Pos.", MARGIN, MARGIN + 12 * mm, "left"),
            ("Article", MARGIN + 12 * mm, MARGIN + 92 * mm, "left"),
            ("Qty", MARGIN + 92 * mm, MARGIN + 110 * mm, "right"),
            ("Unit price", MARGIN + 110 * mm, MARGIN + 142 * mm, "right"),
            ("Total", MARGIN + 142 * mm, WIDTH - MARGIN, "right"),
        ]
        rows = [
            [
                str(n * 10),
                line.description,
                quantity_text(line.quantity, comma_decimal),
                f"{comma_decimal(line.unit_price)} €",
                f"{comma_decimal(line.amount)} €",
            ]
            for n, line in enumerate(spec.lines, start=1)
        ]
        y = _ruled_table(sheet, y, spec, columns, rows, grid=False)
        sheet.setLineWidth(0.8)
        sheet.line(MARGIN, y + 2, WIDTH - MARGIN, y + 2)
        y -= 14
        _totals(
            sheet,
            y,
            [("Invoice total", f"{comma_decimal(spec.total)} €")],
            x_label=MARGIN + 110 * mm,
            x_value=WIDTH - MARGIN - 4,
        )

    return _pdf(draw)


DOLLAR_SPEC = InvoiceSpec(
    number="2026-0087",
    date=date(2026, 2, 27),
    seller=Party("Pacific Coast Lumber Inc.", ("1200 Harbor Way", "Tacoma, WA 98421, USA")),
    buyer=Party("Seoul Wood Products Co., Ltd.", ("77 Hangang-daero", "Seoul 04377, Korea")),
    currency="USD",
    lines=(
        Line("Douglas fir logs, grade A (m3)", Decimal("85.5"), Decimal("212.40")),
        Line("Western red cedar boards (m3)", Decimal("40"), Decimal("468.00")),
    ),
)


def two_column_invoice(spec: InvoiceSpec | None = None) -> bytes:
    spec = spec or DOLLAR_SPEC

    def draw(sheet):
        _title(sheet, "INVOICE")
        y = HEIGHT - MARGIN - 16 * mm
        sheet.setFont("Helvetica", 10)
        sheet.drawRightString(WIDTH - MARGIN, HEIGHT - MARGIN - 6 * mm, f"Invoice # {spec.number}")
        sheet.drawRightString(WIDTH - MARGIN, HEIGHT - MARGIN - 11 * mm, f"{spec.date:%B %d, %Y}")
        left_end = _party_block(sheet, MARGIN, y, "SELLER", spec.seller)
        right_end = _party_block(sheet, WIDTH / 2 + 5 * mm, y, "BUYER", spec.buyer)
        y = min(left_end, right_end) - 16
        columns = [
            ("Description of goods", MARGIN, MARGIN + 95 * mm, "left"),
            ("Quantity", MARGIN + 95 * mm, MARGIN + 115 * mm, "right"),
            ("Unit price", MARGIN + 115 * mm, MARGIN + 145 * mm, "right"),
            ("Amount", MARGIN + 145 * mm, WIDTH - MARGIN, "right"),
        ]
        rows = [
            [
                line.description,
                quantity_text(line.quantity),
                f"${dot_decimal(line.unit_price)}",
                f"${dot_decimal(line.amount)}",
            ]
            for line in spec.lines
        ]
        y = _ruled_table(sheet, y, spec, columns, rows) - 16
        _totals(
            sheet,
            y,
            [("TOTAL DUE", f"${dot_decimal(spec.total)}")],
            x_label=MARGIN + 115 * mm,
            x_value=WIDTH - MARGIN - 4,
        )
        sheet.setFont("Helvetica", 8)
        sheet.drawString(MARGIN, MARGIN, "Payment: wire transfer within 30 days. Thank you.")

    return _pdf(draw)


POUND_SPEC = InvoiceSpec(
    number="GB-55190",
    date=date(2026, 1, 9),
    seller=Party("Highland Spirits Limited", ("3 Distillery Lane", "Elgin IV30 1AA, UK")),
    buyer=Party("K-Beverage Import Corp.", ("9 Sejong-daero", "Seoul 04519, Korea")),
    currency="GBP",
    lines=(
        Line("Single malt whisky 12 years, 70 cl", Decimal("1200"), Decimal("18.25")),
        Line("Blended whisky, 70 cl", Decimal("2400"), Decimal("7.90")),
        Line("Gift boxes, printed", Decimal("600"), Decimal("1.15")),
        Line("Pallets, wooden", Decimal("12"), Decimal("14.00")),
    ),
)


def text_column_invoice(spec: InvoiceSpec | None = None) -> bytes:
    spec = spec or POUND_SPEC

    def draw(sheet):
        sheet.setFont("Courier-Bold", 14)
        y = HEIGHT - MARGIN
        sheet.drawString(MARGIN, y, "TAX INVOICE")
        sheet.setFont("Courier", 9)
        y -= 20
        for text in (
            f"Invoice No: {spec.number}",
            f"Date:       {spec.date:%d %b %Y}",
            "",
            f"From:       {spec.seller.name}",
            *(f"            {a}" for a in spec.seller.address),
            f"Sold to:    {spec.buyer.name}",
            *(f"            {a}" for a in spec.buyer.address),
        ):
            sheet.drawString(MARGIN, y, text)
            y -= 12
        y -= 14
        x_desc, x_qty, x_price = MARGIN, MARGIN + 120 * mm, MARGIN + 145 * mm
        x_amount = WIDTH - MARGIN
        sheet.setFont("Courier-Bold", 9)
        sheet.drawString(x_desc, y, "DESCRIPTION")
        sheet.drawRightString(x_qty, y, "QTY")
        sheet.drawRightString(x_price, y, "PRICE")
        sheet.drawRightString(x_amount, y, f"AMOUNT {spec.currency}")
        sheet.setFont("Courier", 9)
        y -= 14
        for line in spec.lines:
            # Long descriptions go on over the next lines of the column.
            first, *more = textwrap.wrap(line.description, 48)
            sheet.drawString(x_desc, y, first)
            sheet.drawRightString(x_qty, y, quantity_text(line.quantity))
            sheet.drawRightString(x_price, y, dot_decimal(line.unit_price))
            sheet.drawRightString(x_amount, y, dot_decimal(line.amount))
            for text in more:
                y -= 11
                sheet.drawString(x_desc, y, text)
            y -= 12
        y -= 12
        sheet.setFont("Courier-Bold", 9)
        sheet.drawString(x_desc, y, "TOTAL")
        symbol = {"GBP": "£", "USD": "$", "EUR": "€"}.get(spec.currency, f"{spec.currency} ")
        sheet.drawRightString(x_amount, y, f"{symbol}{dot_decimal(spec.total)}")

    return _pdf(draw)


def many_lines(count: int) -> tuple[Line, ...]:
    """`count` distinct lines, with prices that keep every amount exact."""
    return tuple(
        Line(
            f"Spare part {n:04d}, steel fitting type {chr(65 + n % 26)}",
            Decimal(1 + (n * 7) % 40),
            (Decimal(3 + (n * 13) % 500) + Decimal(n % 100) / 100).quantize(CENT),
        )
        for n in range(1, count + 1)
    )


def multipage_invoice(spec: InvoiceSpec | None = None, *, lines_per_page: int = 30) -> bytes:
    spec = spec or InvoiceSpec(
        number="MP-7781", date=date(2026, 5, 4), lines=many_lines(70), currency="USD"
    )
    chunks = [
        spec.lines[start : start + lines_per_page]
        for start in range(0, len(spec.lines), lines_per_page)
    ]
    columns = [
        ("Item", MARGIN, MARGIN + 12 * mm, "left"),
        ("Description", MARGIN + 12 * mm, MARGIN + 100 * mm, "left"),
        ("Qty", MARGIN + 100 * mm, MARGIN + 118 * mm, "right"),
        ("Unit price", MARGIN + 118 * mm, MARGIN + 146 * mm, "right"),
        ("Amount", MARGIN + 146 * mm, WIDTH - MARGIN, "right"),
    ]

    def draw(sheet):
        number, running = 1, Decimal("0")
        for page, chunk in enumerate(chunks, start=1):
            if page == 1:
                _title(sheet)
                y = HEIGHT - MARGIN - 18 * mm
                sheet.setFont("Helvetica", 10)
                sheet.drawString(MARGIN, y, f"Invoice No. {spec.number}")
                sheet.drawString(MARGIN + 70 * mm, y, f"Invoice date: {spec.date:%d/%m/%Y}")
                sheet.drawString(MARGIN + 130 * mm, y, f"Currency: {spec.currency}")
                y = _party_block(sheet, MARGIN, y - 20, "Exporter", spec.seller) - 6
                y = _party_block(sheet, MARGIN, y, "Importer", spec.buyer) - 12
            else:
                y = HEIGHT - MARGIN
                sheet.setFont("Helvetica", 9)
                sheet.drawString(MARGIN, y, f"Invoice {spec.number} (continued)")
                y -= 16
                sheet.drawString(MARGIN, y, f"Brought forward: {dot_decimal(running)}")
                y -= 16
            rows = []
            for line in chunk:
                rows.append(
                    [
                        str(number),
                        line.description,
                        quantity_text(line.quantity),
                        dot_decimal(line.unit_price),
                        dot_decimal(line.amount),
                    ]
                )
                number += 1
                running += line.amount
            y = _ruled_table(sheet, y, spec, columns, rows) - 14
            sheet.setFont("Helvetica", 9)
            if page < len(chunks):
                sheet.drawRightString(
                    WIDTH - MARGIN - 4, y, f"Carried forward: {dot_decimal(running)}"
                )
            else:
                _totals(
                    sheet,
                    y,
                    [("Grand total", f"{spec.currency} {dot_decimal(spec.total)}")],
                    x_label=MARGIN + 118 * mm,
                    x_value=WIDTH - MARGIN - 4,
                )
            sheet.setFont("Helvetica", 8)
            sheet.drawCentredString(WIDTH / 2, MARGIN / 2, f"Page {page} of {len(chunks)}")
            sheet.showPage()

    return _pdf(draw)


def scanned_invoice(spec: InvoiceSpec | None = None) -> bytes:
    """An invoice as a scanner sends it: one picture per page, no text in the PDF."""
    from PIL import Image, ImageDraw

    spec = spec or InvoiceSpec()
    picture = Image.new("L", (1240, 1754), 255)
    pen = ImageDraw.Draw(picture)
    y = 120
    for text in (
        "COMMERCIAL INVOICE",
        f"Invoice No.: {spec.number}",
        f"Date: {spec.date:%Y-%m-%d}",
        f"Seller: {spec.seller.name}",
        f"Buyer: {spec.buyer.name}",
        *(
            f"{line.description}   {line.quantity}   {line.unit_price}   {line.amount}"
            for line in spec.lines
        ),
        f"Total {spec.currency} {dot_decimal(spec.total)}",
    ):
        pen.text((120, y), text, fill=0)
        y += 40
    scan = io.BytesIO()
    picture.save(scan, format="PNG")
    scan.seek(0)

    def draw(sheet):
        from reportlab.lib.utils import ImageReader

        sheet.drawImage(ImageReader(scan), 0, 0, width=WIDTH, height=HEIGHT)

    return _pdf(draw)


LAYOUTS = {
    "table": (table_invoice, InvoiceSpec(freight=Decimal("300.00"))),
    "blocks": (blocks_invoice, EURO_SPEC),
    "two_columns": (two_column_invoice, DOLLAR_SPEC),
    "text_columns": (text_column_invoice, POUND_SPEC),
    "multipage": (
        multipage_invoice,
        InvoiceSpec(number="MP-7781", date=date(2026, 5, 4), lines=many_lines(70)),
    ),
}


def invoice_pdf(layout: str, spec: InvoiceSpec | None = None) -> tuple[bytes, InvoiceSpec]:
    """The layout's PDF, and what it says (`spec` changes what it says)."""
    make, default = LAYOUTS[layout]
    spec = spec or default
    return make(spec), spec


def with_changes(spec: InvoiceSpec, **changes) -> InvoiceSpec:
    return replace(spec, **changes)

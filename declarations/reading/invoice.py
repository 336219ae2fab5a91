"""The facts of a commercial invoice, read from its text whatever its layout.

Labels are looked for at the start of each segment (declarations.reading.text): a
value follows the label in the same segment ("Seller: ACME Ltd."), in the next
segment of the line ("Date:      09 Jan 2026"), or below it in the same column
("SELLER" over the name, also when a BUYER column stands beside it). The lines of
goods are the rows under a column heading that names a description, an amount and
a quantity or price; each cell goes to the heading it lies under, so ruled tables
and plain text columns read alike, and the rows go on over the following pages
until a total line ends them.

Nothing is guessed: a fact the text does not give stays empty, and a PDF without
text (a scan) is not read at all.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from declarations.reading.numbers import (
    DecimalStyle,
    currency_code,
    currency_codes_in,
    find_date,
    month_first_evidence,
    parse_amount,
)
from declarations.reading.text import Line, Segment, lines_of, page_words

# Fewer visible characters than this in the whole PDF: a picture of an invoice.
MIN_TEXT_CHARS = 20


@dataclass
class InvoiceLine:
    description: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal | None

    def as_json(self) -> dict:
        def text(value):
            return None if value is None else str(value)

        return {
            "description": self.description,
            "quantity": text(self.quantity),
            "unit_price": text(self.unit_price),
            "amount": text(self.amount),
        }


@dataclass
class InvoiceFacts:
    number: str = ""
    date: date | None = None
    seller: str = ""
    buyer: str = ""
    currency: str = ""
    total: Decimal | None = None
    lines: list[InvoiceLine] = field(default_factory=list)
    # What the reader noticed and the facts do not say (an ambiguous date...).
    notes: list[str] = field(default_factory=list)

    @property
    def found_anything(self) -> bool:
        return bool(self.number or self.total is not None or self.lines)


class NotReadable(Exception):
    """The document holds no text the platform can read (the message says why)."""


class ReadingTooLong(Exception):
    """Reading went past its time budget."""


# ---- labels -----------------------------------------------------------------------------------

# (fact, rank, pattern): at the start of a segment; a higher rank wins over a lower one
# wherever it is, and between equal ranks the first on the invoice wins.
LABELS: list[tuple[str, int, str]] = [
    ("number", 2, r"(?:commercial\s+)?invoice\s*(?:no\b\.?|number|nr\b\.?|num\b\.?|#|n°)"),
    ("number", 1, r"inv\.?\s*(?:no\b\.?|#)|invoice\s+ref(?:erence)?"),
    ("date", 2, r"invoice\s+date|date\s+of\s+invoice|date\s+of\s+issue|issue\s+date"),
    ("date", 1, r"date"),
    ("seller", 3, r"seller|exporter|vendor|supplier|sold\s+by|beneficiary"),
    ("seller", 2, r"from"),
    ("seller", 1, r"shipper|consignor"),
    ("buyer", 3, r"buyer|purchaser|sold\s+to|bill(?:ed)?\s+to|invoice\s+to|importer|messrs\b\.?"),
    ("buyer", 2, r"customer"),
    ("buyer", 1, r"consignee|ship\s+to|deliver\s+to"),
    ("currency", 1, r"currency"),
]
_LABELS = [(fact, rank, re.compile(rf"^(?:{pattern})", re.I)) for fact, rank, pattern in LABELS]
# What follows a label when it is another fact about the same party or thing:
# "Seller address", "Date of shipment", "Buyer's VAT no.".
_NOT_THE_VALUE = re.compile(
    r"^(?:'s\b|\s+(?:address|addr\b|tel|phone|fax|e-?mail|vat|tax|id\b|reg|code|country|"
    r"ref|bank|account|signature|contact|of\s+(?!invoice)))",
    re.I,
)

TOTAL = re.compile(
    r"^(?P<label>grand\s+total|invoice\s+total|total\s+invoice(?:\s+(?:value|amount))?|"
    r"total\s+amount(?:\s+due)?|total\s+due|amount\s+due|balance\s+due|total\s+value|"
    r"net\s+total|total)(?P<rest>.*)$",
    re.I,
)
_NOT_A_TOTAL = re.compile(
    r"^\s*(?:quantity|qty|weight|net\s+weight|gross|packages|pkgs|pcs|pieces|units|cartons|"
    r"cbm|volume|vat|tax|discount|pages?)\b",
    re.I,
)
# Lines that end a table of goods, or that sit in it without being goods.
TABLE_END = re.compile(
    r"^(?:sub[\s-]?total|total|grand\s+total|invoice\s+total|amount\s+due|carried\s+forward|"
    r"c/f\b)",
    re.I,
)
TABLE_SKIP = re.compile(r"^(?:brought\s+forward|b/f\b|balance\s+brought)", re.I)


def _label_at(text: str) -> tuple[str, int, str] | None:
    """(fact, rank, what follows the label) when the text starts with a label."""
    for fact, rank, pattern in _LABELS:
        match = pattern.match(text)
        if match is None:
            continue
        rest = text[match.end() :]
        # The label ends at a word's end ("Dates" is not "Date"), unless it ends in "#".
        if rest[:1].isalnum() and not match.group(0).endswith(("#", "°", ".")):
            continue
        if _NOT_THE_VALUE.match(rest):
            continue
        if fact == "seller" and rank == 2 and not rest.lstrip().startswith(":"):
            continue  # "From" only as a label with its colon, not in running text
        return fact, rank, rest.strip().lstrip(":#.-\u2013").strip()
    return None


def _is_label(segment: Segment) -> bool:
    return _label_at(segment.text) is not None or bool(TOTAL.match(segment.text))


def _value_for(lines: list[Line], index: int, position: int, rest: str) -> str:
    """The value of the label at lines[index].segments[position]: the rest of its
    segment, else the next segment on its line, else the text below it."""
    if rest:
        return rest
    line = lines[index]
    label = line.segments[position]
    if position + 1 < len(line.segments) and not _is_label(line.segments[position + 1]):
        return line.segments[position + 1].text
    for below in lines[index + 1 : index + 4]:
        if below.page != line.page or below.top - line.top > 3.5 * line.height:
            break
        for segment in below.segments:
            if abs(segment.x0 - label.x0) <= max(label.words[0].size, 6) and not _is_label(segment):
                return segment.text
    return ""


# ---- goods lines ------------------------------------------------------------------------------

COLUMN_ROLES: list[tuple[str, re.Pattern]] = [
    (role, re.compile(pattern, re.I))
    for role, pattern in (
        ("index", r"^(?:no\.?|#|item(?:\s*no\.?)?|pos\.?|position|line|s/?n|s[rl]\.?\s*no\.?)$"),
        ("hs", r"^(?:hs(?:\s*code)?|h\.s\.(?:\s*code)?|hts|tariff(?:\s*code)?)$"),
        ("unit_price", r"^(?:unit\s*(?:price|value|cost)|price(?:\s*per\s*unit)?|rate)\b"),
        ("quantity", r"^(?:qty|q'ty|quantity|quantities|units)\b"),
        ("unit", r"^(?:unit|uom|u/m)$"),
        ("amount", r"^(?:amount|total|line\s*total|value|extended|ext\.?\s*price|total\s*price)\b"),
        ("description", r"^(?:description|article|goods|product|designation|particulars|"
         r"commodity|item\s*description)\b"),
    )
]  # fmt: skip


@dataclass(frozen=True)
class Column:
    role: str
    x0: float
    x1: float


def _heading_columns(line: Line) -> list[Column] | None:
    """The columns when the line is the heading of a table of goods, else None."""
    columns = []
    for segment in line.segments:
        text = re.sub(r"\(.*?\)", "", segment.text).strip()
        for role, pattern in COLUMN_ROLES:
            if pattern.search(text):
                columns.append(Column(role, segment.x0, segment.x1))
                break
    roles = [column.role for column in columns]
    if "description" not in roles and "index" in roles:
        # "Item" over the goods themselves when no other column describes them.
        columns = [Column("description", c.x0, c.x1) if c.role == "index" else c for c in columns]
        roles = [column.role for column in columns]
    if "description" in roles and "amount" in roles and {"quantity", "unit_price"} & set(roles):
        return columns
    return None


def _column_of(x0: float, x1: float, columns: list[Column]) -> Column:
    overlaps = [(min(x1, c.x1) - max(x0, c.x0), c) for c in columns]
    best, column = max(overlaps, key=lambda pair: pair[0])
    if best > 0:
        return column
    center = (x0 + x1) / 2
    return min(columns, key=lambda c: min(abs(center - c.x0), abs(center - c.x1)))


def _cells(line: Line, columns: list[Column]) -> dict[str, str]:
    cells: dict[str, list[str]] = {}
    for segment in line.segments:
        touched = [c for c in columns if segment.overlap(c.x0, c.x1) > 0]
        if len(touched) > 1 and len(segment.words) > 1:
            # Cells too close to be told apart by the gap: word by word.
            for word in segment.words:
                cells.setdefault(_column_of(word.x0, word.x1, columns).role, []).append(word.text)
        else:
            cells.setdefault(_column_of(segment.x0, segment.x1, columns).role, []).append(
                segment.text
            )
    return {role: " ".join(texts) for role, texts in cells.items()}


def _number_cell(text: str | None, style: DecimalStyle):
    """The amount of a cell and its currency if it names one; the first word only for a
    quantity with its unit ("1,000 PCS")."""
    if not text:
        return None
    amount = parse_amount(text, style)
    if amount is None and " " in text:
        amount = parse_amount(text.split()[0], style)
    return amount


def _goods_lines(lines: list[Line], style: DecimalStyle) -> tuple[list[InvoiceLine], list[str]]:
    """The goods lines, and the currencies their cells and headings name."""
    goods: list[InvoiceLine] = []
    currencies: list[str] = []
    columns: list[Column] | None = None
    previous: Line | None = None  # the last goods line, for descriptions on two lines
    for line in lines:
        heading = _heading_columns(line)
        if heading is not None:
            columns, previous = heading, None
            currencies += currency_codes_in(line.text)
            continue
        if columns is None:
            continue
        first = line.segments[0].text
        if TABLE_SKIP.match(first):
            continue
        if TABLE_END.match(first):
            columns, previous = None, None
            continue
        cells = _cells(line, columns)
        amount = _number_cell(cells.get("amount"), style)
        quantity = _number_cell(cells.get("quantity"), style)
        price = _number_cell(cells.get("unit_price"), style)
        description = cells.get("description", "").strip()
        if description and amount is not None and (quantity or price):
            goods.append(
                InvoiceLine(
                    description=description,
                    quantity=quantity.value if quantity else None,
                    unit_price=price.value if price else None,
                    amount=amount.value,
                )
            )
            currencies += [a.currency for a in (amount, price) if a and a.currency]
            previous = line
        elif (
            description
            and set(cells) == {"description"}
            and previous is not None
            and previous.page == line.page
            and line.top - previous.top <= 1.6 * previous.height
        ):
            goods[-1].description += " " + description
            previous = line
        else:
            previous = None
    return goods, currencies


# ---- the whole invoice -----------------------------------------------------------------------


def _total(lines: list[Line], style: DecimalStyle) -> tuple[Decimal | None, str | None]:
    """The invoice total and the currency its line names: the strongest total label,
    the last one of that strength (the total is at the end, after subtotals)."""
    best: tuple[int, int, Decimal, str | None] | None = None
    for index, line in enumerate(lines):
        for position, segment in enumerate(line.segments):
            match = TOTAL.match(segment.text)
            if match is None or _NOT_A_TOTAL.match(match["rest"]):
                continue
            if match["rest"] and not re.match(r"^[\s:(]", match["rest"]):
                continue  # "Totally", "Totals per page"
            rank = 1 if match["label"].lower() == "total" else 2
            after = " ".join(s.text for s in line.segments[position + 1 :])
            words = [*match["rest"].split(), *after.split()]
            amount, currency = None, None
            for word in words:
                word = word.strip(":()")
                parsed = parse_amount(word, style)
                if parsed is not None:
                    amount = parsed
                elif currency_code(word):
                    currency = currency_code(word)
            if amount is None:
                continue
            currency = amount.currency or currency
            if best is None or (rank, index) >= (best[0], best[1]):
                best = (rank, index, amount.value, currency)
            break
    if best is None:
        return None, None
    return best[2], best[3]


def read_invoice_lines(lines: list[Line]) -> InvoiceFacts:
    """The facts of an invoice from its lines, in reading order over every page."""
    facts = InvoiceFacts()
    texts = [line.text for line in lines]
    style = DecimalStyle.of(texts)
    found: dict[str, tuple[int, str]] = {}
    for index, line in enumerate(lines):
        for position, segment in enumerate(line.segments):
            label = _label_at(segment.text)
            if label is None:
                continue
            fact, rank, rest = label
            if fact in found and found[fact][0] >= rank:
                continue
            value = _value_for(lines, index, position, rest).strip(" ,;")
            if fact == "date" and find_date(value) is None:
                continue
            if fact == "currency" and not currency_codes_in(value):
                continue
            if value:
                found[fact] = (rank, value)
    facts.number = found.get("number", (0, ""))[1][:64]
    facts.seller = found.get("seller", (0, ""))[1][:200]
    facts.buyer = found.get("buyer", (0, ""))[1][:200]

    month_first = month_first_evidence(texts)
    date_text = found.get("date", (0, ""))[1]
    first_page = [line.text for line in lines if line.page == lines[0].page] if lines else []
    candidates = [date_text] if date_text else first_page
    for text in candidates:
        found_date = find_date(text, day_first=month_first is not True)
        if found_date is not None:
            facts.date = found_date.value
            if found_date.ambiguous and month_first is None:
                facts.notes.append(
                    f"The date {found_date.text} could be read either way round; read day first."
                )
            break

    facts.lines, line_currencies = _goods_lines(lines, style)
    facts.total, total_currency = _total(lines, style)
    named = found.get("currency", (0, ""))[1]
    evidence = [
        *(currency_codes_in(named)[:1]),
        *([total_currency] if total_currency else []),
        *line_currencies,
    ]
    if evidence:
        facts.currency = evidence[0]
        others = sorted(set(evidence) - {facts.currency})
        if others:
            facts.notes.append(
                f"The invoice also names {', '.join(others)}; read as {facts.currency}."
            )
    return facts


@dataclass
class PdfReading:
    facts: InvoiceFacts
    pages: int


def read_invoice_pdf(data: bytes, *, max_pages: int, budget_seconds: float) -> PdfReading:
    """Read an invoice PDF. NotReadable when it has no text to read (a scan), too many
    pages, or no invoice in its text; ReadingTooLong past the time budget."""
    import pdfplumber

    started = time.monotonic()
    lines: list[Line] = []
    visible = 0
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        pages = len(pdf.pages)
        if pages > max_pages:
            raise NotReadable(
                f"It has {pages} pages; invoices of more than {max_pages} are not read."
            )
        for number, page in enumerate(pdf.pages, start=1):
            if time.monotonic() - started > budget_seconds:
                raise ReadingTooLong(f"Reading stopped at page {number} of {pages}.")
            words = page_words(page)
            visible += sum(len(word.text) for word in words)
            lines += lines_of(words, page=number)
            # pdfplumber keeps every page's objects until the file closes.
            page.close()
    if visible < MIN_TEXT_CHARS:
        raise NotReadable(
            "It has no text, only pictures (a scan): the platform does not read text in pictures."
        )
    facts = read_invoice_lines(lines)
    if not facts.found_anything:
        raise NotReadable("No invoice number, total or lines of goods were found in its text.")
    return PdfReading(facts=facts, pages=pages)

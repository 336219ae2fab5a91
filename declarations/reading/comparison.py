"""The declaration against the invoice it was made from, as the machine read it.

What is compared: the invoice number, the currency, the total (within a
tolerance), the seller against the exporter or consignor, the buyer against the
importer or consignee (names compared without case, punctuation or legal forms),
and the lines of goods, paired by description and order, on quantity and value.

A difference is material when it changes what customs would assess or whom it
deals with: the value, a quantity (goods missing from either side included), the
currency, the seller. Material differences are a risk criterion
(risk.criteria); all differences are shown to the trader before lodging, as
warnings that do not stop it, and side by side to the officers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from decimal import Decimal
from difflib import SequenceMatcher

from declarations.models import Declaration, Document, InvoiceReading, Item

# Totals and line values within this share of each other (or this many units of
# the invoice currency, for small amounts) agree: rounding, not a discrepancy.
VALUE_TOLERANCE = Decimal("0.005")
VALUE_TOLERANCE_UNITS = Decimal("1.00")
# Quantities are printed with up to three decimals.
QUANTITY_TOLERANCE = Decimal("0.0005")
# Descriptions at least this similar describe the same goods.
SAME_GOODS = 0.5
# Names at least this similar (once normalised) name the same party: "Shenzen" for
# "Shenzhen".
SAME_NAME = 0.9

MATERIAL_KINDS = ("value", "quantity", "currency", "seller")
KIND_WORDS = {
    "value": "value",
    "quantity": "quantity",
    "currency": "currency",
    "seller": "seller",
    "number": "invoice number",
    "buyer": "buyer",
}

# Legal forms, which say nothing about who the party is ("Co., Ltd." or "Limited").
LEGAL_FORMS = frozenset(
    {
        "co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited",
        "llc", "llp", "plc", "gmbh", "ag", "sa", "sas", "sarl", "srl", "spa", "bv", "nv",
        "oy", "ab", "kk", "pte", "pty", "jsc", "pvt", "the",
    }
)  # fmt: skip


def normalised_name(name: str) -> str:
    """A party's name without case, accents, punctuation or legal form:
    "HANBIT TRADING CO." and "Hanbit Trading Co" are both "hanbit trading"."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    words = re.findall(r"[a-z0-9]+", text)
    kept = [word for word in words if word not in LEGAL_FORMS]
    return " ".join(kept or words)


def same_party(a: str, b: str) -> bool:
    left, right = normalised_name(a), normalised_name(b)
    if not left or not right:
        return False
    return left == right or SequenceMatcher(None, left, right).ratio() >= SAME_NAME


def _description_words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def description_similarity(a: str, b: str) -> float:
    """How alike two descriptions of goods are, 0 to 1: the better of their character
    similarity and the share of the shorter one's words found in the other."""
    left, right = _description_words(a), _description_words(b)
    if not left or not right:
        return 0.0
    words_left, words_right = set(left.split()), set(right.split())
    shared = len(words_left & words_right) / min(len(words_left), len(words_right))
    return max(SequenceMatcher(None, left, right).ratio(), shared)


def values_agree(declared: Decimal | None, read: Decimal | None) -> bool:
    if declared is None or read is None:
        return True
    allowed = max(VALUE_TOLERANCE * max(abs(declared), abs(read)), VALUE_TOLERANCE_UNITS)
    return abs(declared - read) <= allowed


def quantities_agree(declared: Decimal | None, read: Decimal | None) -> bool:
    if declared is None or read is None:
        return True
    return abs(declared - read) <= QUANTITY_TOLERANCE * max(abs(declared), abs(read), 1)


def _sentence(text: str) -> str:
    """Ends with one full stop, also after a value that ends with one ("Co., Ltd.")."""
    return text if text.endswith(".") else text + "."


def _money(value: Decimal | None, currency: str = "") -> str:
    if value is None:
        return ""
    return f"{value:,.2f}" + (f" {currency}" if currency else "")


def _quantity(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value.normalize():,f}"


# ---- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    kind: str  # "number", "currency", "value", "seller", "buyer", "quantity"
    text: str
    material: bool
    # The declared item it is about, when it is about one.
    line_no: int | None = None

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "material": self.material,
            "item": self.line_no,
            "message": self.text,
        }


@dataclass(frozen=True)
class FieldRow:
    """One fact side by side: None for `agrees` when either side does not say."""

    label: str
    declared: str
    invoice: str
    agrees: bool | None
    material: bool


@dataclass(frozen=True)
class LineRow:
    line_no: int | None  # the declared item's; None for an invoice line not declared
    invoice_line: int | None  # 1-based position on the invoice; None when not on it
    declared_description: str = ""
    invoice_description: str = ""
    declared_quantity: str = ""
    invoice_quantity: str = ""
    declared_value: str = ""
    invoice_value: str = ""
    quantity_agrees: bool = True
    value_agrees: bool = True

    @property
    def agrees(self) -> bool:
        return (
            self.line_no is not None
            and self.invoice_line is not None
            and self.quantity_agrees
            and self.value_agrees
        )


@dataclass(frozen=True)
class InvoiceComparison:
    # "none" (no invoice uploaded), or the latest invoice's reading status.
    status: str
    document: Document | None = None
    reading: InvoiceReading | None = None
    fields: tuple[FieldRow, ...] = ()
    lines: tuple[LineRow, ...] = ()
    differences: tuple[Difference, ...] = ()
    # Facts the machine could not find on the invoice, in words.
    gaps: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def is_read(self) -> bool:
        return self.status == InvoiceReading.Status.READ

    @property
    def disagrees(self) -> bool:
        return bool(self.differences)

    @property
    def material_kinds(self) -> list[str]:
        """The material kinds of difference found, in MATERIAL_KINDS order."""
        kinds = {d.kind for d in self.differences if d.material}
        return [kind for kind in MATERIAL_KINDS if kind in kinds]

    def line_disagrees(self, line_no: int) -> bool:
        """Whether the invoice says otherwise of this declared item's quantity or value,
        or does not list it."""
        return any(d.line_no == line_no and d.material for d in self.differences)

    @property
    def summary(self) -> str:
        """ "value, quantity and seller": what the invoice and the declaration disagree on."""
        kinds = []
        for difference in self.differences:
            word = KIND_WORDS[difference.kind]
            if word not in kinds:
                kinds.append(word)
        if len(kinds) < 2:
            return "".join(kinds)
        return f"{', '.join(kinds[:-1])} and {kinds[-1]}"

    def for_items(self, line_nos) -> InvoiceComparison:
        """Only what concerns these declared items: what an agency that reviews a slice
        of the declaration may see (no header facts, no other goods)."""
        keep = set(line_nos)
        return replace(
            self,
            fields=(),
            lines=tuple(row for row in self.lines if row.line_no in keep),
            differences=tuple(d for d in self.differences if d.line_no in keep),
            gaps=(),
            notes=(),
        )

    def as_dict(self) -> dict:
        """The trader's view (their own data): the status, and each difference."""
        return {
            "status": self.status,
            "document": self.document.pk if self.document else None,
            "disagrees_on": self.summary,
            "differences": [d.as_dict() for d in self.differences],
            "not_found": list(self.gaps),
            # Not "notes": in what the declarant reads, notes are officers' (kept out).
            "reading_notes": list(self.notes),
        }


# ---- comparing --------------------------------------------------------------------------------


def latest_invoice(documents) -> Document | None:
    """The invoice most recently uploaded among `documents` (a declaration's, prefetched
    with their readings): the one the declaration is compared with."""
    invoices = [d for d in documents if d.kind == Document.Kind.INVOICE]
    if not invoices:
        return None
    return max(invoices, key=lambda d: (d.uploaded_at, d.pk))


def latest_invoices(declaration_ids) -> dict[int, Document]:
    """The latest invoice of each declaration that has one, with its reading, in one
    query (the risk engine scores declarations in batches)."""
    documents = (
        Document.objects.filter(declaration_id__in=declaration_ids, kind=Document.Kind.INVOICE)
        .select_related("invoice_reading")
        .order_by("declaration_id", "-uploaded_at", "-pk")
        .distinct("declaration_id")
    )
    return {document.declaration_id: document for document in documents}


def invoice_comparison(declaration, *, items=None, document: Document | None = None):
    """The declaration (its header and `items`, by default its stored items) against
    `document`, by default the latest invoice uploaded to it.

    Works on an unsaved declaration too (the validate API compares input with the
    invoice of the draft it names). Runs no query when the documents and items
    are prefetched with the readings (declarations.selectors)."""
    if items is None:
        items = list(declaration.items.all())
    if document is None and declaration.pk:
        document = latest_invoice(declaration.documents.all())
    if document is None:
        return InvoiceComparison(status="none")
    reading = getattr(document, "invoice_reading", None)
    if reading is None:
        return InvoiceComparison(status="none")
    if reading.status != InvoiceReading.Status.READ:
        return InvoiceComparison(
            status=reading.status, document=document, reading=reading, notes=tuple(reading.notes)
        )
    fields, differences, gaps = _header(declaration, reading)
    lines, line_differences = _lines(
        items, reading, declared=declaration.currency, invoiced=reading.currency
    )
    if not reading.lines:
        gaps.append("the lines of goods")
    return InvoiceComparison(
        status=reading.status,
        document=document,
        reading=reading,
        fields=tuple(fields),
        lines=tuple(lines),
        differences=tuple(differences + line_differences),
        gaps=tuple(gaps),
        notes=tuple(reading.notes),
    )


def input_comparison(*, header: dict, items: list[dict], document: Document | None):
    """invoice_comparison of a declaration not stored yet (the validate API's and the
    form's check), against the invoice uploaded to the draft it will replace."""
    if document is None:
        return InvoiceComparison(status="none")
    declaration = Declaration(**header)
    built = [
        Item(
            line_no=number,
            description=item.get("description") or "",
            quantity=item.get("quantity"),
            value=item.get("value"),
        )
        for number, item in enumerate(items, start=1)
    ]
    return invoice_comparison(declaration, items=built, document=document)


def _compact(number: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", number.upper())


def _header(declaration, reading: InvoiceReading):
    fields, differences, gaps = [], [], []

    def row(label, kind, declared, read, agrees, material, text):
        fields.append(FieldRow(label, declared, read, agrees, material))
        if agrees is False:
            differences.append(Difference(kind, text, material))

    number = reading.invoice_number
    if not number:
        gaps.append("the invoice number")
    row(
        "Invoice number", "number", declaration.invoice_number, number,
        _compact(declaration.invoice_number) == _compact(number) if number else None, False,
        _sentence(
            f"Invoice number: declared {declaration.invoice_number}, the invoice says {number}"
        ),
    )  # fmt: skip
    currency = reading.currency
    if not currency:
        gaps.append("the currency")
    row(
        "Currency", "currency", declaration.currency, currency,
        declaration.currency == currency if currency else None, True,
        f"Currency: declared {declaration.currency}, the invoice is in {currency}.",
    )  # fmt: skip
    total = reading.total
    if total is None:
        gaps.append("the total")
    row(
        "Invoice total", "value",
        _money(declaration.invoice_total, declaration.currency), _money(total, currency),
        values_agree(declaration.invoice_total, total) if total is not None else None, True,
        f"Invoice total: declared {_money(declaration.invoice_total, declaration.currency)}, "
        f"the invoice says {_money(total, currency or declaration.currency)}.",
    )  # fmt: skip
    exporters = (declaration.exporter_name, declaration.consignor_name)
    importers = (declaration.importer_name, declaration.consignee_name)
    parties = (
        ("Seller", "seller", reading.seller, exporters, "exporter or consignor", True),
        ("Buyer", "buyer", reading.buyer, importers, "importer or consignee", False),
    )
    for label, kind, read, declared_names, roles, material in parties:
        named = [name for name in declared_names if name]
        if not read:
            gaps.append(f"the {kind}")
        agrees = None
        if read and named:
            agrees = any(same_party(read, name) for name in named)
        row(
            label, kind, " / ".join(named), read, agrees, material,
            _sentence(f"{label}: the invoice names {read}; the declaration's {roles} is "
                      f"{' / '.join(named)}"),
        )  # fmt: skip
    return fields, differences, gaps


def _pairs(items, invoice_lines) -> list[tuple[object | None, int | None]]:
    """Declared items paired with invoice lines (their index): by description first,
    the most alike pairs first, then the rest in order; None where one side has
    nothing left."""
    paired: dict[int, int] = {}
    scores = sorted(
        (
            (description_similarity(item.description, line["description"] or ""), i, j)
            for i, item in enumerate(items)
            for j, line in enumerate(invoice_lines)
        ),
        key=lambda t: (-t[0], abs(t[1] - t[2]), t[1]),
    )
    used = set()
    for score, i, j in scores:
        if score < SAME_GOODS:
            break
        if i not in paired and j not in used:
            paired[i] = j
            used.add(j)
    rest = iter(j for j in range(len(invoice_lines)) if j not in used)
    for i in range(len(items)):
        if i not in paired:
            j = next(rest, None)
            if j is not None:
                paired[i] = j
                used.add(j)
    pairs = [(item, paired.get(i)) for i, item in enumerate(items)]
    pairs += [(None, j) for j in range(len(invoice_lines)) if j not in used]
    return pairs


def _lines(items, reading: InvoiceReading, *, declared: str, invoiced: str):
    """Rows and differences of the goods; values in each side's own currency."""
    invoiced = invoiced or declared
    invoice_lines = reading.line_values()
    rows, differences, not_declared = [], [], []
    for item, j in _pairs(items, invoice_lines):
        line = invoice_lines[j] if j is not None else None
        if item is None:
            rows.append(
                LineRow(
                    None, j + 1,
                    invoice_description=line["description"],
                    invoice_quantity=_quantity(line["quantity"]),
                    invoice_value=_money(line["amount"]),
                    quantity_agrees=False, value_agrees=False,
                )
            )  # fmt: skip
            not_declared.append((j + 1, line["description"]))
            continue
        if line is None:
            if invoice_lines:
                rows.append(
                    LineRow(
                        item.line_no, None,
                        declared_description=item.description,
                        declared_quantity=_quantity(item.quantity),
                        declared_value=_money(item.value),
                        quantity_agrees=False, value_agrees=False,
                    )
                )  # fmt: skip
                differences.append(
                    Difference(
                        "quantity",
                        f"Item {item.line_no} ({item.description}) is not on the invoice.",
                        True,
                        item.line_no,
                    )
                )
            continue
        quantity_ok = quantities_agree(item.quantity, line["quantity"])
        value_ok = values_agree(item.value, line["amount"])
        rows.append(
            LineRow(
                item.line_no, j + 1,
                declared_description=item.description, invoice_description=line["description"],
                declared_quantity=_quantity(item.quantity),
                invoice_quantity=_quantity(line["quantity"]),
                declared_value=_money(item.value), invoice_value=_money(line["amount"]),
                quantity_agrees=quantity_ok, value_agrees=value_ok,
            )
        )  # fmt: skip
        if not quantity_ok:
            differences.append(
                Difference(
                    "quantity",
                    f"Item {item.line_no} ({item.description}): quantity declared "
                    f"{_quantity(item.quantity)}, the invoice says {_quantity(line['quantity'])}.",
                    True,
                    item.line_no,
                )
            )
        if not value_ok:
            differences.append(
                Difference(
                    "value",
                    f"Item {item.line_no} ({item.description}): value declared "
                    f"{_money(item.value, declared)}, the invoice says "
                    f"{_money(line['amount'], invoiced)}.",
                    True,
                    item.line_no,
                )
            )
    if not_declared:
        listed = "; ".join(f"{n}. {description}" for n, description in not_declared[:5])
        more = f" and {len(not_declared) - 5} more" if len(not_declared) > 5 else ""
        lines_word = "line is" if len(not_declared) == 1 else "lines are"
        differences.append(
            Difference(
                "quantity",
                f"{len(not_declared)} invoice {lines_word} not declared: {listed}{more}.",
                True,
            )
        )
    return rows, differences

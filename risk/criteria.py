"""What a selectivity rule may test: the registry of criteria.

Each criterion has a name (what a rule stores), a label (what analysts and
officers read), a level (the declaration header or one goods item), a type
that decides its operators and how a rule's value is checked, and readers:
`read(obj, ctx)` from a platform Declaration or Item, and optionally
`read_record(row)` from a canonical training record (risk.ml.records), which
replay uses. A criterion without a record reader never matches in replay.

Every concrete field of Declaration and Item is registered automatically
(`register_model_fields`), so a header field the declarations app adds is a
criterion on the next start. Derived facts (unit price against the reference
price, the trader's age and history, AEO status) are registered by hand
below; add one with `register(Criterion(...))`.

Money is compared in the national currency, whatever the invoice's: amounts
a model lists in INVOICE_MONEY are converted at the declaration's rate of the
day of acceptance (`ctx.national`), as the training records replay reads
already are, so a rule's value band fires alike live and in replay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from core.validators import validate_country_code

OPERATORS: dict[str, str] = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "startswith": "starts with",
    "not_startswith": "does not start with",
    "contains": "contains",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "between": "between",
}

TYPE_OPERATORS: dict[str, tuple[str, ...]] = {
    "code": ("eq", "ne", "in", "not_in"),
    "country": ("eq", "ne", "in", "not_in"),
    "hs": ("startswith", "not_startswith", "in"),
    "text": ("eq", "ne", "contains", "startswith", "in", "not_in"),
    "choice": ("eq", "ne", "in", "not_in"),
    "number": ("gt", "gte", "lt", "lte", "eq", "ne", "between"),
    "boolean": ("eq",),
}
LIST_OPERATORS = frozenset({"in", "not_in"})


@dataclass(frozen=True)
class Criterion:
    name: str
    label: str
    level: str  # "declaration" or "item"
    type: str
    read: Callable[[Any, Any], Any]
    read_record: Callable[[dict], Any] | None = None
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def operators(self) -> tuple[str, ...]:
        return TYPE_OPERATORS[self.type]


REGISTRY: dict[str, Criterion] = {}


def register(criterion: Criterion) -> Criterion:
    if criterion.level not in ("declaration", "item"):
        raise ValueError(f"{criterion.name}: level must be declaration or item")
    if criterion.type not in TYPE_OPERATORS:
        raise ValueError(f"{criterion.name}: unknown type {criterion.type}")
    REGISTRY[criterion.name] = criterion
    return criterion


# ---- checking a rule's conditions ------------------------------------------------------------


def _number(value, field: str) -> float:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: f"{value!r} is not a number."}) from None
    if not number.is_finite():
        raise ValidationError({field: f"{value!r} is not a number."})
    return float(number)


def _one_value(criterion: Criterion, value, field: str):
    if criterion.type == "number":
        return _number(value, field)
    if criterion.type == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ValidationError({field: "Use true or false."})
    text = str(value).strip()
    if not text:
        raise ValidationError({field: "A value is required."})
    if criterion.type == "country":
        text = text.upper()
        try:
            validate_country_code(text)
        except ValidationError as exc:
            raise ValidationError({field: exc.messages}) from None
    elif criterion.type == "hs":
        if not text.isdigit() or len(text) < 2 or len(text) > 10:
            raise ValidationError({field: f"{text} is not an HS code or prefix (2 to 10 digits)."})
    elif criterion.type == "choice":
        allowed = [code for code, _ in criterion.choices]
        if text not in allowed:
            raise ValidationError({field: f"{text} is not one of {', '.join(allowed)}."})
    return text


def _as_list(value) -> list:
    if isinstance(value, list | tuple):
        return list(value)
    return [part for part in str(value).split(",") if part.strip()]


def clean_condition(condition: dict, field: str = "conditions") -> dict:
    """A condition checked against the registry, with its value in canonical form.

    Raises ValidationError naming `field` (e.g. "conditions[2].value").
    """
    if not isinstance(condition, dict):
        raise ValidationError({field: "A condition is an object with field, op and value."})
    name = condition.get("field")
    criterion = REGISTRY.get(name)
    if criterion is None:
        raise ValidationError({f"{field}.field": f"{name!r} is not a known criterion."})
    op = condition.get("op")
    if op not in criterion.operators:
        raise ValidationError(
            {
                f"{field}.op": f"{criterion.label} allows {', '.join(criterion.operators)}, "
                f"not {op!r}."
            }
        )
    raw = condition.get("value")
    if raw is None or raw == "" or raw == []:
        raise ValidationError({f"{field}.value": "A value is required."})
    if op in LIST_OPERATORS:
        value = [_one_value(criterion, v, f"{field}.value") for v in _as_list(raw)]
        if not value:
            raise ValidationError({f"{field}.value": "Give at least one value."})
    elif op == "between":
        bounds = _as_list(raw)
        if len(bounds) != 2:
            raise ValidationError({f"{field}.value": "Between takes two numbers: low, high."})
        value = [_number(b, f"{field}.value") for b in bounds]
        if value[0] > value[1]:
            raise ValidationError({f"{field}.value": "The low bound is above the high bound."})
    else:
        value = _one_value(criterion, raw, f"{field}.value")
    return {"field": name, "op": op, "value": value}


# ---- evaluating --------------------------------------------------------------------------------


def holds(op: str, actual, expected) -> bool:
    """Whether a fact satisfies a condition; an unknown fact satisfies nothing."""
    if actual is None:
        return False
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    if op == "startswith":
        if isinstance(expected, list):
            return any(str(actual).startswith(e) for e in expected)
        return str(actual).startswith(expected)
    if op == "not_startswith":
        return not str(actual).startswith(expected)
    if op == "contains":
        return str(expected).lower() in str(actual).lower()
    if op == "gt":
        return actual > expected
    if op == "gte":
        return actual >= expected
    if op == "lt":
        return actual < expected
    if op == "lte":
        return actual <= expected
    if op == "between":
        return expected[0] <= actual <= expected[1]
    raise ValueError(op)


def _number_text(value: float) -> str:
    # Amounts in won run to billions: 1,000,000,000 reads, 1e+09 does not.
    if value.is_integer() and abs(value) >= 10000:
        return f"{value:,.0f}"
    return f"{value:g}"


def condition_text(condition: dict) -> str:
    criterion = REGISTRY.get(condition["field"])
    label = criterion.label if criterion else condition["field"]
    op, value = condition["op"], condition["value"]
    if isinstance(value, list):
        shown = (
            f"{_number_text(value[0])} to {_number_text(value[1])}"
            if op == "between"
            else ", ".join(map(str, value))
        )
    elif isinstance(value, float):
        shown = _number_text(value)
    else:
        shown = str(value)
    if condition["field"] == "hs_code" and op == "startswith":
        return f"HS {shown}"
    if condition["field"] == "origin_country" and op == "eq":
        return f"from {shown}"
    return f"{label} {OPERATORS[op]} {shown}"


# ---- facts -------------------------------------------------------------------------------------


def _float(value) -> float | None:
    return None if value is None else float(value)


def _ratio(numerator, denominator) -> float | None:
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


# Fields that are bookkeeping, not facts about the goods or the trade.
SKIPPED_FIELDS = frozenset(
    {"id", "declaration", "status", "lane", "created_by", "created_at", "updated_at", "line_no"}
)


def money_label(label: str) -> str:
    """Money criteria compare national-currency amounts; the analyst reads which currency."""
    return f"{label} ({settings.NATIONAL_CURRENCY})"


def _reader_for(field: models.Field) -> tuple[str, Callable, tuple]:
    if isinstance(field, models.ForeignKey):
        related = field.related_model
        if related._meta.label == "accounts.Company":
            name = field.name

            def read_company(obj, ctx):
                company = getattr(obj, name)
                return company.tax_id if company else None

            return "code", read_company, ()
        attname = field.attname
        return "code", lambda obj, ctx: getattr(obj, attname), ()
    attname = field.attname
    if field.choices:
        return "choice", lambda obj, ctx: getattr(obj, attname), tuple(field.choices)
    if field.name in getattr(field.model, "INVOICE_MONEY", ()):
        return "number", lambda obj, ctx: ctx.national(getattr(obj, attname)), ()
    if isinstance(field, models.DecimalField | models.FloatField | models.IntegerField):
        return "number", lambda obj, ctx: _float(getattr(obj, attname)), ()
    if isinstance(field, models.BooleanField):
        return "boolean", lambda obj, ctx: getattr(obj, attname), ()
    if isinstance(field, models.DateTimeField | models.DateField):
        return "", None, ()
    if "country" in field.name:
        return "country", lambda obj, ctx: getattr(obj, attname) or None, ()
    return "code", lambda obj, ctx: getattr(obj, attname) or None, ()


# How the canonical training record names the same fact, for replay.
RECORD_FIELDS: dict[str, str] = {
    "office_of_entry": "office",
    "transport_mode": "transport_mode",
    "country_of_export": "departure_country",
    "procedure": "process_type",
    "company": "declarant_id",
    "importer_tax_id": "importer_id",
    "origin_country": "origin_country",
}


def register_model_fields(model: type[models.Model], level: str) -> None:
    """Register every concrete field of `model` not registered yet."""
    for field in model._meta.concrete_fields:
        if field.name in SKIPPED_FIELDS or field.name in REGISTRY:
            continue
        kind, read, choices = _reader_for(field)
        if not kind:
            continue
        record_column = RECORD_FIELDS.get(field.name)
        label = str(field.verbose_name)
        money = (*getattr(model, "INVOICE_MONEY", ()), *getattr(model, "NATIONAL_MONEY", ()))
        if field.name in money:
            label = money_label(label)
        register(
            Criterion(
                name=field.name,
                label=label,
                level=level,
                type=kind,
                read=read,
                read_record=(lambda row, c=record_column: row.get(c)) if record_column else None,
                choices=choices,
            )
        )


def _record_value_per_kg(row: dict) -> float | None:
    return _ratio(row.get("value"), row.get("net_mass_kg"))


def _record_price_ratio(row: dict) -> float | None:
    reference = row.get("reference_value_per_kg")
    return _ratio(_record_value_per_kg(row), reference)


# What the machine read on the declaration's latest invoice (declarations.reading).
INVOICE_READING_CHOICES = (
    ("none", "No invoice uploaded"),
    ("pending", "Still being read"),
    ("read", "Read"),
    ("not_readable", "Not readable (a scan or a picture)"),
    ("failed", "Could not be read"),
)


def _invoice_disagrees(kind: str | None):
    """A reader of whether the invoice disagrees with the declaration (on `kind`, or on
    anything material); unknown (so no rule fires) unless the invoice was read."""

    def read(declaration, ctx):
        check = ctx.invoice
        if not check.is_read:
            return None
        return bool(check.material_kinds) if kind is None else kind in check.material_kinds

    return read


def _register_invoice_criteria() -> None:
    """The invoice against the declaration, as facts rules can test. No record reader:
    the KCS history has no invoices, so these never match in replay."""
    from declarations.reading.comparison import MATERIAL_KINDS

    register(
        Criterion(
            name="invoice_reading",
            label="the invoice, as the machine read it",
            level="declaration",
            type="choice",
            read=lambda declaration, ctx: ctx.invoice.status,
            choices=INVOICE_READING_CHOICES,
        )
    )
    register(
        Criterion(
            name="invoice_disagrees",
            label="the invoice disagrees on value, quantity, currency or seller",
            level="declaration",
            type="boolean",
            read=_invoice_disagrees(None),
        )
    )
    for kind in MATERIAL_KINDS:
        register(
            Criterion(
                name=f"invoice_{kind}_disagrees",
                label=f"the invoice disagrees on the {kind}",
                level="declaration",
                type="boolean",
                read=_invoice_disagrees(kind),
            )
        )
    register(
        Criterion(
            name="invoice_line_disagrees",
            label="the invoice says otherwise of this item's quantity or value, or omits it",
            level="item",
            type="boolean",
            read=lambda item, ctx: (
                ctx.invoice.line_disagrees(item.line_no) if ctx.invoice.is_read else None
            ),
        )
    )


def register_builtin() -> None:
    from accounts.models import Company
    from declarations.models import Declaration, Item

    register(
        Criterion(
            name="hs_code",
            label="HS code",
            level="item",
            type="hs",
            read=lambda item, ctx: item.hs_code,
            read_record=lambda row: row.get("hs6"),
        )
    )
    register(
        Criterion(
            name="value",
            label=money_label("item value"),
            level="item",
            type="number",
            read=lambda item, ctx: ctx.national(item.value),
            read_record=lambda row: row.get("value"),
        )
    )
    register(
        Criterion(
            name="net_mass_kg",
            label="net mass (kg)",
            level="item",
            type="number",
            read=lambda item, ctx: _float(item.net_mass_kg),
            read_record=lambda row: row.get("net_mass_kg"),
        )
    )
    register(
        Criterion(
            name="unit_price",
            label=money_label("unit price (value per unit of quantity)"),
            level="item",
            type="number",
            read=lambda item, ctx: _ratio(ctx.national(item.value), item.quantity),
        )
    )
    register(
        Criterion(
            name="value_per_kg",
            label=money_label("value per kg"),
            level="item",
            type="number",
            read=lambda item, ctx: _ratio(ctx.national(item.value), item.net_mass_kg),
            read_record=_record_value_per_kg,
        )
    )
    register(
        Criterion(
            name="price_ratio",
            label="value per kg against the reference price for HS6 and origin",
            level="item",
            type="number",
            read=lambda item, ctx: _ratio(
                _ratio(ctx.national(item.value), item.net_mass_kg),
                ctx.reference_value_per_kg(item.hs_code[:6], item.origin_country),
            ),
            read_record=_record_price_ratio,
        )
    )
    register(
        Criterion(
            name="aeo_status",
            label="declarant's AEO status",
            level="declaration",
            type="choice",
            read=lambda declaration, ctx: declaration.company.aeo_status,
            choices=tuple(Company.AeoStatus.choices),
        )
    )
    register(
        Criterion(
            name="trader_age_days",
            label="days since the declarant was registered",
            level="declaration",
            type="number",
            read=lambda declaration, ctx: ctx.trader_age_days,
        )
    )
    register(
        Criterion(
            name="trader_declarations",
            label="declarations the declarant lodged before",
            level="declaration",
            type="number",
            read=lambda declaration, ctx: ctx.trader_declarations,
        )
    )
    register(
        Criterion(
            name="trader_offence_rate",
            label="share of the declarant's inspected goods with a finding (%)",
            level="declaration",
            type="number",
            read=lambda declaration, ctx: ctx.trader_offence_rate,
        )
    )
    register(
        Criterion(
            name="item_count",
            label="number of items",
            level="declaration",
            type="number",
            read=lambda declaration, ctx: ctx.item_count,
        )
    )
    register(
        Criterion(
            name="relief_consignment",
            label="a relief consignment of an emergency in force",
            level="declaration",
            type="boolean",
            read=lambda declaration, ctx: declaration.emergency_id is not None,
        )
    )
    _register_invoice_criteria()
    register_model_fields(Declaration, "declaration")
    register_model_fields(Item, "item")
    # The declarant is the company that lodged the declaration.
    REGISTRY["company"] = Criterion(
        name="company",
        label="declarant (company tax id)",
        level="declaration",
        type="code",
        read=lambda declaration, ctx: declaration.company.tax_id,
        read_record=lambda row: row.get("declarant_id"),
    )

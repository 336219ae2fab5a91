"""Customs value, duty and VAT of a declaration, in the national currency.

An import's customs value follows the transaction-value method on a CIF
basis: freight and insurance to the place of import are added when the
Incoterm leaves them to the buyer, and spread over the items in proportion to
their invoice value. An export is valued at the invoice (FOB at the border of
export), pays no import duty and no VAT (exports are zero-rated), and pays an
export duty only where the tariff levies one. A transit movement pays nothing:
the import duties and taxes it would owe are at stake, and a guarantee covers
them until the office of destination discharges it.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from declarations.models import Declaration
from reference import lookups

ADDS_FREIGHT = {"EXW", "FCA", "FAS", "FOB"}
ADDS_INSURANCE = {"EXW", "FCA", "FAS", "FOB", "CFR", "CPT"}
HUNDRED = Decimal("100")
ZERO = Decimal("0")
# Minor units of the national currency (KRW has none).
NO_MINOR_UNITS = {"KRW", "JPY", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"}


def national_money(amount: Decimal) -> Decimal:
    exponent = Decimal("1") if settings.NATIONAL_CURRENCY in NO_MINOR_UNITS else Decimal("0.01")
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


@dataclass
class ItemDuty:
    line_no: int
    customs_value: Decimal
    duty_rate: Decimal
    preferential: bool
    duty: Decimal
    vat: Decimal


@dataclass
class DutyAssessment:
    currency: str
    exchange_rate: Decimal
    items: list[ItemDuty] = field(default_factory=list)
    # "import", "export" or "transit": what the amounts are.
    basis: str = "import"
    # What a guarantee must cover: a transit movement's import duties and taxes.
    at_stake: Decimal = Decimal("0")
    # What an emergency's duty relief forgave a relief consignment (duty and VAT).
    relieved: Decimal = Decimal("0")

    @property
    def customs_value(self) -> Decimal:
        return sum((i.customs_value for i in self.items), Decimal("0"))

    @property
    def duty(self) -> Decimal:
        return sum((i.duty for i in self.items), Decimal("0"))

    @property
    def vat(self) -> Decimal:
        return sum((i.vat for i in self.items), Decimal("0"))

    @property
    def total(self) -> Decimal:
        return self.duty + self.vat

    def as_dict(self) -> dict:
        return {
            "basis": self.basis,
            "currency": self.currency,
            "exchange_rate": str(self.exchange_rate),
            "customs_value": str(self.customs_value),
            "duty": str(self.duty),
            "vat": str(self.vat),
            "total": str(self.total),
            "at_stake": str(self.at_stake),
            "relieved": str(self.relieved),
            "items": [
                {
                    "line_no": i.line_no,
                    "customs_value": str(i.customs_value),
                    "duty_rate": str(i.duty_rate),
                    "preferential": i.preferential,
                    "duty": str(i.duty),
                    "vat": str(i.vat),
                }
                for i in self.items
            ],
        }


def preference_applies(item) -> bool:
    """A preference counts only with a certificate and an origin the agreement covers."""
    if not (item.preference and item.certificate_of_origin):
        return False
    partners = lookups.agreements().get(item.preference)
    return bool(partners) and item.origin_country in partners


def assess_duties(declaration, items, *, on: date, relief: bool = False) -> DutyAssessment:
    """What the declaration owes; the caller has validated it (rates exist).

    With `relief` (a relief consignment of an emergency whose measures forgive
    duties), an import owes nothing, and what it would have owed is `relieved`.
    """
    if declaration.type == Declaration.Type.EXPORT:
        return export_duties(declaration, items, on=on)
    if declaration.type == Declaration.Type.TRANSIT:
        at_stake = import_duties(declaration, items, on=on)
        nothing = {"duty_rate": ZERO, "preferential": False, "duty": ZERO, "vat": ZERO}
        return replace(
            at_stake,
            basis="transit",
            at_stake=at_stake.total,
            items=[replace(line, **nothing) for line in at_stake.items],
        )
    owed = import_duties(declaration, items, on=on)
    if not relief:
        return owed
    nothing = {"duty": ZERO, "vat": ZERO}
    return replace(
        owed, relieved=owed.total, items=[replace(line, **nothing) for line in owed.items]
    )


def export_duties(declaration, items, *, on: date) -> DutyAssessment:
    rate = lookups.exchange_rate(declaration.currency, on)
    assessment = DutyAssessment(
        currency=settings.NATIONAL_CURRENCY, exchange_rate=rate, basis="export"
    )
    for item in items:
        value = national_money(item.value * rate)
        duty_rate = lookups.export_duty_rate(item.hs_code) or Decimal("0")
        duty = national_money(value * duty_rate / HUNDRED)
        assessment.items.append(ItemDuty(item.line_no, value, duty_rate, False, duty, ZERO))
    return assessment


def import_duties(declaration, items, *, on: date) -> DutyAssessment:
    """Import duty and VAT, whatever the declaration's type: what an import owes,
    and what a transit movement's guarantee must cover."""
    rate = lookups.exchange_rate(declaration.currency, on)
    vat_rate = lookups.vat_rate(on)
    total_value = sum((item.value for item in items), Decimal("0"))
    additions = Decimal("0")
    if declaration.incoterm in ADDS_FREIGHT:
        additions += declaration.freight
    if declaration.incoterm in ADDS_INSURANCE:
        additions += declaration.insurance

    assessment = DutyAssessment(currency=settings.NATIONAL_CURRENCY, exchange_rate=rate)
    for item in items:
        share = additions * item.value / total_value if total_value else Decimal("0")
        customs_value = national_money((item.value + share) * rate)
        preferential = preference_applies(item)
        duty_rate = None
        if preferential:
            duty_rate = lookups.duty_rate(item.hs_code, item.preference)
            preferential = duty_rate is not None
        if duty_rate is None:
            duty_rate = lookups.duty_rate(item.hs_code) or Decimal("0")
        duty = national_money(customs_value * duty_rate / HUNDRED)
        vat = national_money((customs_value + duty) * vat_rate / HUNDRED)
        assessment.items.append(
            ItemDuty(item.line_no, customs_value, duty_rate, preferential, duty, vat)
        )
    return assessment

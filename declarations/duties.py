"""Customs value, duty and VAT of a declaration, in the national currency.

Customs value follows the transaction-value method on a CIF basis: freight
and insurance to the place of import are added when the Incoterm leaves them
to the buyer, and spread over the items in proportion to their invoice value.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from reference import lookups

ADDS_FREIGHT = {"EXW", "FCA", "FAS", "FOB"}
ADDS_INSURANCE = {"EXW", "FCA", "FAS", "FOB", "CFR", "CPT"}
HUNDRED = Decimal("100")
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
            "currency": self.currency,
            "exchange_rate": str(self.exchange_rate),
            "customs_value": str(self.customs_value),
            "duty": str(self.duty),
            "vat": str(self.vat),
            "total": str(self.total),
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


def assess_duties(declaration, items, *, on: date) -> DutyAssessment:
    """Compute the duties; the caller has validated the declaration (rates exist)."""
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

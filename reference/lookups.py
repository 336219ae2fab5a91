"""Fast, cached look-ups of reference data for validation and duty calculation.

Reference tables change rarely (an administrator's edit, a loader run) and
are read on every filing, so each process keeps them in memory for
REFERENCE_CACHE_SECONDS; an edit takes effect within that time.
"""

import time
from datetime import date
from decimal import Decimal

from django.conf import settings

from reference.models import Agreement, ExchangeRate, HsCode, Office, TariffRate, Unit, VatRate

_cache: dict[str, tuple[float, object]] = {}


def _cached(name: str, load):
    now = time.monotonic()
    hit = _cache.get(name)
    if hit and hit[0] > now:
        return hit[1]
    value = load()
    _cache[name] = (now + settings.REFERENCE_CACHE_SECONDS, value)
    return value


def clear_caches() -> None:
    _cache.clear()


def hs_subheadings() -> frozenset[str]:
    return _cached(
        "hs6", lambda: frozenset(HsCode.objects.filter(level=6).values_list("code", flat=True))
    )


def unit_codes() -> frozenset[str]:
    return _cached("units", lambda: frozenset(Unit.objects.values_list("code", flat=True)))


def office_codes() -> frozenset[str]:
    return _cached(
        "offices",
        lambda: frozenset(Office.objects.filter(active=True).values_list("code", flat=True)),
    )


def office_names() -> dict[str, str]:
    """Office code to name, every office (a closed one still names past work)."""
    return _cached("office_names", lambda: dict(Office.objects.values_list("code", "name")))


def active_offices() -> list[tuple[str, str, str]]:
    """(code, name, kind) of the active offices, by code: what a form offers."""
    return _cached(
        "active_offices",
        lambda: list(
            Office.objects.filter(active=True).order_by("code").values_list("code", "name", "kind")
        ),
    )


def _exchange_rates() -> dict[str, list[tuple[date, Decimal]]]:
    rates: dict[str, list[tuple[date, Decimal]]] = {}
    for currency, valid_from, rate in ExchangeRate.objects.order_by(
        "currency", "-valid_from"
    ).values_list("currency", "valid_from", "rate"):
        rates.setdefault(currency, []).append((valid_from, rate))
    return rates


def exchange_rate_in_force(currency: str, on: date) -> tuple[date, Decimal] | None:
    """The rate of `currency` valid on a day and the day it was published, or None.

    The national currency is worth one of itself every day, so it is always
    published that same day: it never goes stale.
    """
    if currency == settings.NATIONAL_CURRENCY:
        return on, Decimal("1")
    for valid_from, rate in _cached("rates", _exchange_rates).get(currency, []):
        if valid_from <= on:
            return valid_from, rate
    return None


def exchange_rate(currency: str, on: date) -> Decimal | None:
    """National currency units per unit of `currency` on a day, or None if unknown."""
    found = exchange_rate_in_force(currency, on)
    return found[1] if found else None


def _tariff() -> dict[tuple[str, str], Decimal]:
    return {
        (prefix, agreement or ""): rate
        for prefix, agreement, rate in TariffRate.objects.values_list(
            "hs_prefix", "agreement_id", "rate"
        )
    }


def duty_rate(hs_code: str, agreement: str = "") -> Decimal | None:
    """The rate of the longest tariff prefix covering the code (MFN when agreement is '')."""
    table = _cached("tariff", _tariff)
    for length in range(len(hs_code), 1, -1):
        rate = table.get((hs_code[:length], agreement))
        if rate is not None:
            return rate
    return None


def export_duty_rate(hs_code: str) -> Decimal | None:
    """The export duty of the longest tariff prefix that levies one, or None: most
    goods leave free."""

    def load():
        return dict(
            TariffRate.objects.filter(
                agreement__isnull=True, export_rate__isnull=False
            ).values_list("hs_prefix", "export_rate")
        )

    table = _cached("export_tariff", load)
    for length in range(len(hs_code), 1, -1):
        rate = table.get(hs_code[:length])
        if rate is not None:
            return rate
    return None


def agreements() -> dict[str, frozenset[str]]:
    return _cached(
        "agreements",
        lambda: {a.code: frozenset(a.partner_countries) for a in Agreement.objects.all()},
    )


def vat_rate(on: date) -> Decimal:
    def load():
        return list(VatRate.objects.order_by("-valid_from").values_list("valid_from", "rate"))

    for valid_from, rate in _cached("vat", load):
        if valid_from <= on:
            return rate
    return Decimal("0")


def agency_ids() -> dict[str, int]:
    """Agency code to primary key."""
    from agencies.models import Agency

    return _cached("agencies", lambda: dict(Agency.objects.values_list("code", "pk")))


def agency_codes() -> frozenset[str]:
    return frozenset(agency_ids())

"""Amounts, currencies and dates as invoices print them.

Amounts come in two separator styles, 1,234.56 and 1.234,56 (also 1 234,56 and
1'234.56). A number with both separators, or with one decimal separator and two
decimals, says which style it is in; one like 1,234 or 1.234 does not, and is read
in the style the rest of the document shows (`DecimalStyle.of`), as a reader does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

import pycountry

# Symbols, longest first so that "US$" is not read as "$". A bare $ is the US dollar
# and a bare ¥ the yen: invoices in other dollars or in yuan say so (C$, CN¥, RMB).
CURRENCY_SYMBOLS: dict[str, str] = {
    "US$": "USD",
    "HK$": "HKD",
    "NZ$": "NZD",
    "CN¥": "CNY",
    "JP¥": "JPY",
    "RMB": "CNY",
    "A$": "AUD",
    "C$": "CAD",
    "S$": "SGD",
    "R$": "BRL",
    "€": "EUR",
    "£": "GBP",
    "₩": "KRW",
    "¥": "JPY",
    "₹": "INR",
    "$": "USD",
}
_SYMBOL_PATTERN = "|".join(re.escape(s) for s in sorted(CURRENCY_SYMBOLS, key=len, reverse=True))
# Three capitals standing alone (not inside a word).
_CODE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")

# A number: digits with optional separators (, . and the Swiss ').
_NUMBER = re.compile(r"[-+]?\d(?:[\d,.']*\d)?")
# Groups separated by spaces (1 234 567,89) only when a cell holds nothing else: in
# running text "100 120.00" is two numbers.
_SPACED = r"[-+]?\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?"
_ONE_NUMBER = rf"(?:{_SPACED}|{_NUMBER.pattern})"
_DOTTED_DATE = re.compile(r"\d{1,2}[.,]\d{1,2}[.,]\d{2,4}")
# An amount possibly flanked by a currency symbol or code: "$1,234.56", "1.234,56 €",
# "USD 1,234.56", "(1,234.56)".
_AMOUNT = re.compile(
    rf"^\(?\s*(?:(?P<pre>{_SYMBOL_PATTERN}|[A-Z]{{3}})\s*)?(?P<num>{_ONE_NUMBER})"
    rf"\s*(?P<post>{_SYMBOL_PATTERN}|[A-Z]{{3}})?\s*\)?$"
)


def currency_code(text: str) -> str | None:
    """The ISO 4217 code a code or a symbol stands for, else None."""
    text = text.strip()
    if text in CURRENCY_SYMBOLS:
        return CURRENCY_SYMBOLS[text]
    if len(text) == 3 and text.isalpha() and text.isupper():
        return text if pycountry.currencies.get(alpha_3=text) is not None else None
    return None


def currency_codes_in(text: str) -> list[str]:
    """Currency codes and symbols found in a text, in order (codes only when ISO 4217)."""
    found = []
    for match in re.finditer(rf"{_SYMBOL_PATTERN}|{_CODE.pattern}", text):
        code = currency_code(match.group(0))
        if code:
            found.append(code)
    return found


@dataclass(frozen=True)
class DecimalStyle:
    """Which character separates the decimals: "." (1,234.56) or "," (1.234,56)."""

    decimal: str = "."

    @classmethod
    def of(cls, texts) -> DecimalStyle:
        """The style most of the unambiguous numbers in `texts` are in ("." if none is)."""
        votes = {".": 0, ",": 0}
        for text in texts:
            for number in _NUMBER.findall(text):
                if _DOTTED_DATE.fullmatch(number):
                    continue  # 15.03.2026 is a date, not 15,032,026
                style = _evident_style(number)
                if style:
                    votes[style] += 1
        return cls("," if votes[","] > votes["."] else ".")

    def parse(self, text: str) -> Decimal | None:
        """The number a text is, in this style; None when it is not one number."""
        text = text.strip()
        if re.fullmatch(_SPACED, text):
            text = re.sub(r"[ \u00a0\u202f]", "", text)
        if not _NUMBER.fullmatch(text):
            return None
        negative = text.startswith("-")
        digits = text.lstrip("+-").replace("'", "")
        decimal = _evident_style(digits) or self.decimal
        group = "," if decimal == "." else "."
        whole, _, fraction = digits.rpartition(decimal) if decimal in digits else (digits, "", "")
        if decimal in whole or (fraction and group in fraction):
            return None
        if group in whole and not re.fullmatch(rf"\d{{1,3}}(?:{re.escape(group)}\d{{3}})+", whole):
            return None  # "1,23,4": not a grouping anyone prints
        try:
            number = Decimal(whole.replace(group, "") + ("." + fraction if fraction else ""))
        except InvalidOperation:
            return None
        return -number if negative else number


def _evident_style(number: str) -> str | None:
    """The decimal separator a number shows by itself, if it does."""
    number = number.lstrip("+-").replace("'", "")
    has_dot, has_comma = "." in number, "," in number
    if has_dot and has_comma:
        return "." if number.rfind(".") > number.rfind(",") else ","
    for separator in (".", ","):
        if separator in number:
            parts = number.split(separator)
            if len(parts) > 2:
                # 1,234,567 or 1.234.567: group separators.
                return "," if separator == "." else "."
            if len(parts[1]) != 3 or parts[0] == "0" or len(parts[0]) > 3:
                # 12.5, 1234,56 or 0.500: a decimal separator.
                return separator
    return None


@dataclass(frozen=True)
class Amount:
    value: Decimal
    currency: str | None


def parse_amount(text: str, style: DecimalStyle) -> Amount | None:
    """An amount with its currency when the text names one: "$1,234.56", "13.000,00 €",
    "USD 1,234.56", "1,234.56". None when the text is not one amount."""
    match = _AMOUNT.match(text.strip())
    if not match:
        return None
    value = style.parse(match["num"])
    if value is None:
        return None
    currency = None
    for flank in (match["pre"], match["post"]):
        if flank:
            currency = currency_code(flank)
            if currency is None:
                return None  # "ABC 12": a word, not a currency
    return Amount(value, currency)


def numbers_in(text: str) -> list[str]:
    return _NUMBER.findall(text)


# ---- dates ------------------------------------------------------------------------------------

MONTHS = {
    name.lower(): number
    for number in range(1, 13)
    for name in (
        date(2000, number, 1).strftime("%B"),
        date(2000, number, 1).strftime("%b"),
    )
}
MONTHS["sept"] = 9
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
DATE_PATTERNS = (
    # 2026-03-15, 2026/03/15, 2026.03.15
    (re.compile(r"\b(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})\b"), "ymd"),
    # 15 March 2026, 15-Mar-2026, 15. März is not read: English month names only.
    (re.compile(
        rf"\b(?P<d>\d{{1,2}})[\s\-.]*(?P<mon>{_MONTH})\.?[\s\-.,]*(?P<y>\d{{4}})\b", re.I
    ), "dmony"),
    # March 15, 2026
    (re.compile(
        rf"\b(?P<mon>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})\b", re.I
    ), "mondy"),
    # 15.03.2026: dotted dates are written day first.
    (re.compile(r"\b(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})\b"), "dmy"),
    # 15/03/2026 or 03/15/2026
    (re.compile(r"\b(?P<a>\d{1,2})[/-](?P<b>\d{1,2})[/-](?P<y>\d{4})\b"), "numeric"),
)  # fmt: skip


@dataclass(frozen=True)
class DateFound:
    value: date
    # "15/03/2026"-like dates whose day and month could be either way round.
    ambiguous: bool = False
    text: str = ""


def find_date(text: str, *, day_first: bool = True) -> DateFound | None:
    """The first date in `text`. A numeric date whose first two numbers could both be
    the month is read day first unless `day_first` is False (the document showed
    elsewhere that it writes the month first); it is marked ambiguous."""
    for pattern, kind in DATE_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        year = int(match["y"])
        ambiguous = False
        if kind in ("ymd", "dmy"):
            month, day = int(match["m"]), int(match["d"])
        elif kind in ("dmony", "mondy"):
            month, day = MONTHS[match["mon"].lower()], int(match["d"])
        else:
            a, b = int(match["a"]), int(match["b"])
            if a > 12 >= b:
                day, month = a, b
            elif b > 12 >= a:
                month, day = a, b
            else:
                ambiguous = a != b
                day, month = (a, b) if day_first else (b, a)
        try:
            return DateFound(date(year, month, day), ambiguous, match.group(0))
        except ValueError:
            continue
    return None


def month_first_evidence(texts) -> bool | None:
    """True when a numeric date in `texts` can only be month first (03/15/2026), False
    when one can only be day first (15/03/2026), None when none tells."""
    pattern = DATE_PATTERNS[-1][0]
    for text in texts:
        for match in pattern.finditer(text):
            a, b = int(match["a"]), int(match["b"])
            if a > 12 >= b:
                return False
            if b > 12 >= a:
                return True
    return None

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from declarations.duties import assess_duties

pytestmark = pytest.mark.django_db


def header(incoterm="FOB", currency="USD", freight="1000", insurance="100"):
    return SimpleNamespace(
        incoterm=incoterm, currency=currency, freight=Decimal(freight), insurance=Decimal(insurance)
    )


def item(line_no, value, hs_code="940360", origin="CN", preference="", certificate=""):
    return SimpleNamespace(
        line_no=line_no, value=Decimal(value), hs_code=hs_code, origin_country=origin,
        preference=preference, certificate_of_origin=certificate,
    )  # fmt: skip


ON = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("incoterm", "customs_value"),
    [
        ("FOB", Decimal("1537905")),  # 1000 + 100 freight + 10 insurance, x 1385.50
        ("EXW", Decimal("1537905")),
        ("CFR", Decimal("1399355")),  # insurance only
        ("CPT", Decimal("1399355")),
        ("CIF", Decimal("1385500")),  # both already in the price
        ("DDP", Decimal("1385500")),
    ],
)
def test_customs_value_adds_what_the_incoterm_leaves_to_the_buyer(incoterm, customs_value):
    # Two items share freight 200 and insurance 20 in proportion to their value.
    assessment = assess_duties(
        header(incoterm, freight="200", insurance="20"), [item(1, "1000"), item(2, "1000")], on=ON
    )
    assert assessment.items[0].customs_value == customs_value
    assert assessment.customs_value == 2 * customs_value


def test_duty_and_vat_use_the_longest_tariff_prefix():
    assessment = assess_duties(header("CIF"), [item(1, "100", hs_code="020130")], on=ON)
    line = assessment.items[0]
    assert line.duty_rate == Decimal("40")  # 0201, not chapter 02's 30
    assert line.customs_value == Decimal("138550")
    assert line.duty == Decimal("55420")
    assert line.vat == Decimal("19397")  # 10 % of value + duty, rounded to whole won
    assert assessment.total == line.duty + line.vat


def test_a_preference_needs_a_certificate_and_a_qualifying_origin():
    plain = item(1, "100", hs_code="850440", origin="CN", preference="kr-cn")
    certified = item(2, "100", hs_code="850440", origin="CN", preference="kr-cn", certificate="C")
    wrong_origin = item(
        3, "100", hs_code="850440", origin="VN", preference="kr-cn", certificate="C"
    )
    lines = assess_duties(header("CIF"), [plain, certified, wrong_origin], on=ON).items
    assert [(line.duty_rate, line.preferential) for line in lines] == [
        (Decimal("8"), False),
        (Decimal("3.2"), True),
        (Decimal("8"), False),
    ]


def test_the_exchange_rate_of_the_day_applies():
    before = assess_duties(header("CIF"), [item(1, "100")], on=date(2026, 10, 31))
    after = assess_duties(header("CIF"), [item(1, "100")], on=date(2026, 11, 1))
    assert before.exchange_rate == Decimal("1385.50")
    assert after.exchange_rate == Decimal("1392.00")

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.utils import timezone

from agencies.models import Review
from clearance.services import declaration_submit
from declarations.duties import assess_duties, import_duties
from declarations.models import Declaration
from declarations.services import declaration_assess
from reference.lookups import clear_caches
from reference.models import ExchangeRate
from risk.services import declaration_item_records
from tests.factories import api_payload, make_declaration, make_export, route

pytestmark = pytest.mark.django_db


def header(incoterm="FOB", currency="USD", freight="1000", insurance="100", type="IM"):
    return SimpleNamespace(
        type=type,
        incoterm=incoterm,
        currency=currency,
        freight=Decimal(freight),
        insurance=Decimal(insurance),
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


# ---- the day of acceptance -----------------------------------------------------------------


def publish_rate(currency: str, rate: str, valid_from) -> None:
    ExchangeRate.objects.update_or_create(
        currency=currency, valid_from=valid_from, defaults={"rate": Decimal(rate)}
    )
    clear_caches()


def assessed(declaration, actor):
    """Assessed, days later: a green declaration routed here is assessed already."""
    declaration.refresh_from_db()
    if declaration.status != "assessed":
        Review.objects.filter(declaration=declaration).update(
            status="approved", decided_by=actor, decided_at=timezone.now()
        )
        declaration_assess(declaration_id=declaration.pk, actor=actor)
        declaration.refresh_from_db()
    return declaration


def lodge(cast, **header):
    declaration = make_declaration(actor=cast.trader_a, incoterm="CIF", **header)
    with transaction.atomic():
        declaration_submit(declaration=declaration, actor=cast.trader_a)
    declaration.refresh_from_db()
    return declaration


def test_assessment_keeps_the_rates_of_the_day_of_acceptance(
    cast, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    publish_rate("USD", "1300.00", today - timedelta(days=4))
    with django_capture_on_commit_callbacks(execute=False):
        declaration = lodge(cast)
    # Lodged today: today's rate, stored with the duties.
    assert declaration.exchange_rate == Decimal("1392.00")
    assert declaration.customs_value_total == Decimal("20880000")  # 15,000 USD CIF

    # A new rate is published while the reviews take their time: the assessment keeps
    # the figures of the day of acceptance.
    publish_rate("USD", "1500.00", today)
    route(declaration, lane="green")
    declaration = assessed(declaration, cast.customs_officer)
    assert declaration.status == "assessed"
    assert declaration.exchange_rate == Decimal("1392.00")
    assert declaration.customs_value_total == Decimal("20880000")
    assert declaration.items.get().customs_value == Decimal("20880000")


def test_an_amendment_is_accepted_on_its_own_day(cast, api, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    publish_rate("USD", "1300.00", today - timedelta(days=4))
    with django_capture_on_commit_callbacks(execute=False):
        first = lodge(cast)
    Declaration.objects.filter(pk=first.pk).update(
        submitted_at=timezone.now() - timedelta(days=4), exchange_rate=Decimal("1300.00")
    )
    route(first, lane="green")
    with django_capture_on_commit_callbacks(execute=False):
        response = api.as_user(cast.trader_a).post(
            f"/api/v1/declarations/{first.pk}/amend/",
            api_payload(incoterm="CIF", reason="price corrected"),
            format="json",
        )
    assert response.status_code == 201, response.json()
    assert response.json()["exchange_rate"] == "1392.000000"
    second = Declaration.objects.get(pk=response.json()["id"])
    assert second.acceptance_day == today
    assert assessed(route(second, lane="green"), cast.customs_officer).exchange_rate == Decimal(
        "1392.00"
    )


@pytest.mark.parametrize(
    ("zone", "day", "rate"), [("Asia/Seoul", 11, "1500.00"), ("UTC", 10, "1400.00")]
)
def test_the_day_of_acceptance_is_the_administration_s(
    cast, settings, django_capture_on_commit_callbacks, zone, day, rate
):
    # 23:30 UTC on 10 June is 08:30 on 11 June in Seoul, when the new rate applies.
    settings.TIME_ZONE = zone
    publish_rate("USD", "1400.00", date(2026, 6, 10))
    publish_rate("USD", "1500.00", date(2026, 6, 11))
    with django_capture_on_commit_callbacks(execute=False):
        declaration = lodge(cast)
    Declaration.objects.filter(pk=declaration.pk).update(
        submitted_at=datetime(2026, 6, 10, 23, 30, tzinfo=UTC)
    )
    declaration.refresh_from_db()
    assert declaration.acceptance_day == date(2026, 6, day)

    # What the risk engine reads of it: the value in won and the record's date.
    Declaration.objects.filter(pk=declaration.pk).update(exchange_rate=None)
    declaration.refresh_from_db()
    (record,) = declaration_item_records(declaration, list(declaration.items.all()))
    assert (record["date"], record["value"]) == (date(2026, 6, day), 15000 * float(rate))


def test_an_export_pays_no_import_duty_or_vat_and_export_duty_only_where_levied():
    furniture = item(1, "1000", hs_code="940360")
    logs = item(2, "1000", hs_code="440311")
    assessment = assess_duties(header("FOB", type="EX"), [furniture, logs], on=ON)
    assert assessment.basis == "export"
    # Valued at the invoice (FOB at the border): freight and insurance are not added.
    assert assessment.items[0].customs_value == Decimal("1385500")
    assert assessment.items[0].duty == 0
    # Logs in the rough (HS 4403) carry the tariff's 10 % export duty.
    assert assessment.items[1].duty_rate == Decimal("10")
    assert assessment.items[1].duty == Decimal("138550")
    assert assessment.vat == 0
    assert assessment.total == Decimal("138550")


def test_a_transit_movement_owes_nothing_but_puts_the_import_duties_at_stake():
    lines = [item(1, "100", hs_code="020130")]
    owed = assess_duties(header("CIF", type="TR"), lines, on=ON)
    at_stake = import_duties(header("CIF", type="TR"), lines, on=ON)
    assert owed.basis == "transit"
    assert owed.total == 0
    assert owed.customs_value == at_stake.customs_value == Decimal("138550")
    assert at_stake.duty == Decimal("55420")  # beef, 40 %
    assert at_stake.total > 0


@pytest.mark.django_db
def test_the_model_reads_the_office_that_controls_the_declaration(cast):
    """An export has no office of entry: the model's office is its office of departure."""
    export = make_export(actor=cast.trader_a, office_of_departure="KRINC", office_of_exit="KRINC")
    (record,) = declaration_item_records(export, list(export.items.all()))
    assert record["office"] == "KRINC"
    imported = make_declaration(actor=cast.trader_a, invoice_number="INV-OFFICE")
    (record,) = declaration_item_records(imported, list(imported.items.all()))
    assert record["office"] == "KRPUS"

"""Every lodgement rule: the error names the field (and the item), nothing is stored."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from declarations.models import Declaration, Item
from reference.lookups import clear_caches
from reference.models import ExchangeRate
from tests.factories import api_payload, item_data, make_declaration, permit_citations

pytestmark = pytest.mark.django_db

BEEF = {"hs_code": "020130", "description": "Beef", "origin_country": "AU"}


def validate(api, user, **overrides):
    return api.as_user(user).post(
        "/api/v1/declarations/validate/", api_payload(**overrides), format="json"
    )


def errors_of(response) -> dict:
    assert response.status_code == 400, response.json()
    return response.json()["fields"]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"items": [item_data(hs_code="851712")]}, "items[0].hs_code", "not an HS 2022 subheading"),
        ({"items": [item_data(unit="XXX")]}, "items[0].unit", "Recommendation 20"),
        ({"country_of_export": "XX"}, "country_of_export", "ISO 3166"),
        ({"items": [item_data(origin_country="QQ")]}, "items[0].origin_country", "ISO 3166"),
        ({"currency": "XYZ"}, "currency", "ISO 4217"),
        ({"currency": "CHF"}, "currency", "no exchange rate"),
        ({"office_of_entry": "KRXXX"}, "office_of_entry", "not a customs office"),
        ({"items": [item_data(value="-10")]}, "items[0].value", "greater than or equal"),
        ({"items": [item_data(quantity="0")]}, "items[0].quantity", "greater than or equal"),
        ({"items": [item_data(value="5000000000000")]}, "items[0].value", "not plausible"),
        ({"items": [item_data(net_mass_kg="2000000000")]}, "items[0].net_mass_kg", "not plausible"),
        (
            {"items": [item_data(net_mass_kg="40", gross_mass_kg="30")]},
            "items[0].net_mass_kg",
            "above the gross mass",
        ),
        ({"invoice_total": "14000.00"}, "invoice_total", "differs from the sum of the items"),
        ({"gross_mass_kg": "10"}, "gross_mass_kg", "below the items' net mass"),
        ({"gross_mass_kg": "300"}, "gross_mass_kg", "differs from the items'"),
        ({"items": [item_data(**BEEF)]}, "items[0].permits", "needs a Food import notification"),
        (
            {"items": [item_data(preference="rcep")]},
            "items[0].certificate_of_origin",
            "needs the reference of a certificate of origin",
        ),
        (
            {
                "items": [
                    item_data(origin_country="ZA", preference="rcep", certificate_of_origin="C1")
                ]
            },
            "items[0].preference",
            "does not qualify under rcep",
        ),
        (
            {"items": [item_data(preference="nafta")]},
            "items[0].preference",
            "not a trade agreement",
        ),
        ({"importer_tax_id": ""}, "importer_tax_id", "importer's tax id"),
        ({"country_of_destination": "JP"}, "country_of_destination", "destination is KR"),
        ({"type": "EX", "country_of_export": "CN"}, "country_of_export", "leaves from KR"),
        ({"office_of_entry": ""}, "office_of_entry", "names its office of entry"),
        ({"type": "EX"}, "office_of_exit", "office of exit"),
        ({"type": "EX"}, "office_of_departure", "where it is cleared"),
        ({"type": "TR"}, "office_of_destination", "names its office of destination"),
        (
            {"type": "TR", "office_of_departure": "KRPUS", "office_of_destination": "KRPUS"},
            "office_of_destination",
            "ends at another office",
        ),
        ({"office_of_exit": "KRZZZ"}, "office_of_exit", "not a customs office"),
        ({"itinerary": ["KRPUS", "QQ"]}, "itinerary[1]", "neither a customs office nor"),
        ({"transport_mode": "9"}, "transport_mode", "not a valid choice"),
        ({"incoterm": "FOO"}, "incoterm", "not a valid choice"),
        (
            {"items": [item_data(), item_data(hs_code="1234")]},
            "items[1].hs_code",
            "6 digits",
        ),
    ],
)
def test_each_rule_names_its_field(cast, api, overrides, field, words):
    fields = errors_of(validate(api, cast.trader_a, **overrides))
    assert field in fields, fields
    assert any(words in message for message in fields[field]), fields[field]


def test_a_complete_declaration_validates_and_shows_its_duties(cast, api):
    beef = item_data(**BEEF)
    beef["permits"] = permit_citations(beef, holder=cast.company_a)
    response = validate(api, cast.trader_a, items=[beef], incoterm="CIF")
    assert response.status_code == 200, response.json()
    duties = response.json()["duties"]
    # 15,000 USD at today's 1,392.00 (CIF: nothing added); beef pays 40 %, VAT 10 %.
    assert duties["exchange_rate"] == "1392.000000"
    assert duties["customs_value"] == "20880000"
    assert duties["duty"] == "8352000"
    assert duties["vat"] == "2923200"
    assert Declaration.objects.count() == 0


def test_the_same_invoice_cannot_be_declared_twice(cast, api):
    make_declaration(actor=cast.trader_a, invoice_number="INV-77")
    fields = errors_of(validate(api, cast.trader_a, invoice_number="INV-77"))
    assert "already declared" in fields["invoice_number"][0]
    # Another trader may use the same invoice number.
    assert validate(api, cast.trader_b, invoice_number="INV-77").status_code == 200


def test_a_draft_may_be_incomplete_but_submission_checks_everything(
    cast, api, django_capture_on_commit_callbacks
):
    client = api.as_user(cast.trader_a)
    created = client.post(
        "/api/v1/declarations/", api_payload(items=[item_data(**BEEF)]), format="json"
    )
    assert created.status_code == 201, created.json()
    declaration_id = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/api/v1/declarations/{declaration_id}/submit/")
    assert response.status_code == 400
    assert "items[0].permits" in response.json()["fields"]
    assert callbacks == []
    declaration = Declaration.objects.get(pk=declaration_id)
    assert declaration.status == "draft"
    assert declaration.events.count() == 1


def test_a_rejected_update_leaves_the_draft_as_it_was(cast, api):
    declaration = make_declaration(actor=cast.trader_a, items=[item_data(), item_data(value="1")])
    before = list(declaration.items.values_list("hs_code", "value"))
    response = api.as_user(cast.trader_a).put(
        f"/api/v1/declarations/{declaration.pk}/",
        api_payload(items=[item_data(hs_code="999999")]),
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert list(declaration.items.values_list("hs_code", "value")) == before
    assert Item.objects.filter(declaration=declaration).count() == 2
    assert Decimal(before[1][1]) == Decimal("1")


def test_filing_an_invoice_already_declared_names_the_earlier_declaration(cast, api):
    earlier = make_declaration(actor=cast.trader_a, invoice_number="INV-78")
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/", api_payload(invoice_number="INV-78"), format="json"
    )
    fields = errors_of(response)
    assert fields["invoice_number"] == [
        f"Invoice INV-78 is already declared in {earlier.reference}."
    ]
    assert Declaration.objects.count() == 1
    assert Item.objects.filter(declaration__invoice_number="INV-78").count() == 1


def test_a_draft_renamed_to_an_invoice_already_declared_is_refused_and_kept(cast, api):
    make_declaration(actor=cast.trader_a, invoice_number="INV-79")
    draft = make_declaration(actor=cast.trader_a, invoice_number="INV-80")
    response = api.as_user(cast.trader_a).put(
        f"/api/v1/declarations/{draft.pk}/", api_payload(invoice_number="INV-79"), format="json"
    )
    assert "already declared" in errors_of(response)["invoice_number"][0]
    draft.refresh_from_db()
    assert draft.invoice_number == "INV-80"
    assert draft.items.count() == 1


def test_an_invoice_of_a_cancelled_declaration_may_be_filed_again(cast, api):
    cancelled = make_declaration(actor=cast.trader_a, invoice_number="INV-81")
    Declaration.objects.filter(pk=cancelled.pk).update(status=Declaration.Status.CANCELLED)
    response = api.as_user(cast.trader_a).post(
        "/api/v1/declarations/", api_payload(invoice_number="INV-81"), format="json"
    )
    assert response.status_code == 201, response.json()


def test_lodging_in_one_call_applies_every_lodgement_rule_and_stores_nothing_on_error(
    cast, api, django_capture_on_commit_callbacks
):
    # Beef without the food agency's permit: a draft may say so, a lodgement may not.
    body = {**api_payload(items=[item_data(**BEEF)]), "lodge": True}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.as_user(cast.trader_a).post("/api/v1/declarations/", body, format="json")
    assert "items[0].permits" in errors_of(response)
    assert callbacks == []
    assert Declaration.objects.count() == 0
    assert Item.objects.count() == 0


# ---- the exchange rate of the day ----------------------------------------------------------


def publish_rate(currency: str, rate: str, days_ago: int) -> date:
    published = timezone.localdate() - timedelta(days=days_ago)
    ExchangeRate.objects.create(currency=currency, rate=Decimal(rate), valid_from=published)
    clear_caches()
    return published


def stale_message(published: date, limit: int = 7) -> str:
    today = timezone.localdate()
    return (
        f"The newest CHF exchange rate dates from {published}, {(today - published).days} days "
        f"before {today}; lodgement needs a rate at most {limit} days old."
    )


def test_a_stale_rate_refuses_lodgement_in_every_way_but_a_draft_is_saved(
    cast, api, django_capture_on_commit_callbacks
):
    published = publish_rate("CHF", "1650.00", days_ago=8)
    client = api.as_user(cast.trader_a)

    assert errors_of(validate(api, cast.trader_a, currency="CHF")) == {
        "currency": [stale_message(published)]
    }
    in_one_step = {**api_payload(currency="CHF"), "lodge": True}
    response = client.post("/api/v1/declarations/", in_one_step, format="json")
    assert errors_of(response) == {"currency": [stale_message(published)]}
    assert not Declaration.objects.exists()

    created = client.post("/api/v1/declarations/", api_payload(currency="CHF"), format="json")
    assert created.status_code == 201, created.json()
    submit = f"/api/v1/declarations/{created.json()['id']}/submit/"
    assert errors_of(client.post(submit)) == {"currency": [stale_message(published)]}
    assert Declaration.objects.get().status == "draft"

    # Today's rate is published: the same draft lodges, at it.
    publish_rate("CHF", "1661.00", days_ago=0)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(submit)
    assert response.status_code == 202, response.json()
    assert Declaration.objects.get().exchange_rate == Decimal("1661.00")


def test_an_amendment_on_a_stale_rate_is_refused_and_the_lodged_version_stays(
    cast, api, django_capture_on_commit_callbacks
):
    published = publish_rate("CHF", "1650.00", days_ago=30)
    client = api.as_user(cast.trader_a)
    with django_capture_on_commit_callbacks(execute=False):
        lodged = client.post(
            "/api/v1/declarations/", {**api_payload(), "lodge": True}, format="json"
        )
    assert lodged.status_code == 201, lodged.json()
    response = client.post(
        f"/api/v1/declarations/{lodged.json()['id']}/amend/",
        api_payload(currency="CHF"),
        format="json",
    )
    assert errors_of(response) == {"currency": [stale_message(published)]}
    assert list(Declaration.objects.values_list("status", flat=True)) == ["submitted"]


def test_the_submit_page_names_the_currency_of_a_stale_rate(cast, login):
    published = publish_rate("CHF", "1650.00", days_ago=8)
    draft = make_declaration(actor=cast.trader_a, currency="CHF")
    page = login(cast.trader_a).post(f"/declarations/{draft.pk}/submit/", follow=True)
    assert f"currency: {stale_message(published)}" in page.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_the_age_limit_is_configured_and_the_national_currency_never_goes_stale(
    cast, api, settings
):
    published = publish_rate("CHF", "1650.00", days_ago=7)
    assert validate(api, cast.trader_a, currency="CHF").status_code == 200
    settings.EXCHANGE_RATE_MAX_AGE_DAYS = 3
    assert errors_of(validate(api, cast.trader_a, currency="CHF")) == {
        "currency": [stale_message(published, limit=3)]
    }
    ExchangeRate.objects.filter(currency="KRW").delete()
    clear_caches()
    krw = validate(api, cast.trader_a, currency="KRW")
    assert krw.status_code == 200, krw.json()
    assert krw.json()["duties"]["exchange_rate"] == "1"

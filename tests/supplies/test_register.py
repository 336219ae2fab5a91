"""The critical supplies register: priority needs kept by administrators (every change
audited), fed by released relief consignments, against target, with partners' pledges;
as a page with a chart, CSV and the coordination API."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.exceptions import InvalidTransition
from emergencies.services import emergency_end_propose, emergency_proposal_approve
from supplies.models import SupplyRegisterEntry
from supplies.selectors import supplies_register
from supplies.services import (
    supply_need_add,
    supply_need_change,
    supply_need_remove,
    supply_pledge_record,
    supply_pledge_set_status,
)
from tests.factories import CompanyFactory, UserFactory, item_data
from tests.supplies.conftest import MEDICINES, TENTS, lodge_relief, release

pytestmark = pytest.mark.django_db

WATER_FILTERS = item_data(
    hs_code="842121", description="Water purification units", unit="NAR", quantity=Decimal("40"),
    net_mass_kg=Decimal("800"), gross_mass_kg=Decimal("900"), value=Decimal("8000"),
)  # fmt: skip


def need(actor, emergency, **overrides):
    fields = {
        "hs_prefix": "3004",
        "label": "Antibiotics",
        "target_quantity": Decimal("100000"),
        "unit": "NAR",
    }
    fields.update(overrides)
    return supply_need_add(actor=actor, emergency_id=emergency.pk, **fields)


@pytest.fixture
def needs(cast, emergency):
    return {
        "antibiotics": need(cast.admin, emergency),
        "amoxicillin": need(
            cast.admin, emergency, hs_prefix="300490", label="Amoxicillin", target_quantity=50000
        ),
        "tents": need(
            cast.admin, emergency, hs_prefix="6306", label="Family tents", target_quantity=2000
        ),
    }


@pytest.fixture
def unicef(cast):
    from emergencies.services import consignee_decide, consignee_register

    company = CompanyFactory(name="UNICEF Korea", tax_id="KR1100220033")
    trader = UserFactory(username="unicef_trader", company=company)
    consignee = consignee_register(actor=trader, kind="un", mission="Children's relief")
    consignee_decide(actor=cast.admin, consignee_id=consignee.pk, status="approved")
    return trader


_invoices = iter(range(1, 10_000))


def released(trader, items, **header):
    header.setdefault("invoice_number", f"INV-RELIEF-{next(_invoices)}")
    return release(lodge_relief(trader, items, **header))


def errors_of(call) -> dict:
    with pytest.raises(ValidationError) as caught, transaction.atomic():
        call()
    return caught.value.message_dict


def test_administrators_keep_the_needs_and_every_change_is_audited(cast, emergency, needs):
    antibiotics = needs["antibiotics"]
    supply_need_change(
        actor=cast.admin, need_id=antibiotics.pk, target_quantity=Decimal("150000"),
        label="Antibiotics (all)",
    )  # fmt: skip
    supply_need_remove(actor=cast.admin, need_id=needs["tents"].pk, reason="Covered by IFRC")
    entries = list(SupplyRegisterEntry.objects.filter(emergency=emergency).order_by("pk"))
    assert [(e.action, e.need_id, e.actor) for e in entries] == [
        ("need_added", antibiotics.pk, cast.admin),
        ("need_added", needs["amoxicillin"].pk, cast.admin),
        ("need_added", needs["tents"].pk, cast.admin),
        ("need_changed", antibiotics.pk, cast.admin),
        ("need_removed", needs["tents"].pk, cast.admin),
    ]
    assert (entries[3].before, entries[3].after) == (
        {"label": "Antibiotics", "target_quantity": "100000.000"},
        {"label": "Antibiotics (all)", "target_quantity": "150000"},
    )
    assert entries[4].after == {"active": False, "reason": "Covered by IFRC"}
    assert entries[0].after == {
        "hs_prefix": "3004", "label": "Antibiotics", "target_quantity": "100000", "unit": "NAR",
    }  # fmt: skip
    # Nobody rewrites the register afterwards, whoever connects.
    for statement in (
        "UPDATE supplies_supplyregisterentry SET actor_id = actor_id",
        "DELETE FROM supplies_supplyregisterentry",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            connection.cursor().execute(statement)


def test_only_administrators_change_the_register(cast, emergency, needs):
    for user in (cast.customs_officer, cast.supervisor, cast.trader_a, cast.analyst):
        with pytest.raises(PermissionDenied):
            need(user, emergency, hs_prefix="6306", unit="KGM")
        with pytest.raises(PermissionDenied):
            supply_need_change(actor=user, need_id=needs["tents"].pk, label="x")


def test_a_need_is_refused_naming_the_field(cast, emergency, needs, second_admin):
    assert "hs_prefix" in errors_of(lambda: need(cast.admin, emergency, hs_prefix="85"))
    assert errors_of(lambda: need(cast.admin, emergency, hs_prefix="8502"))["hs_prefix"][
        0
    ].startswith("HS 8502 is not among the goods Typhoon Mawar lists")
    assert errors_of(lambda: need(cast.admin, emergency, unit="ZZZ"))["unit"] == [
        "ZZZ is not a UN/ECE Recommendation 20 unit."
    ]
    assert "target_quantity" in errors_of(
        lambda: need(cast.admin, emergency, hs_prefix="3004", unit="KGM", target_quantity=0)
    )
    assert errors_of(lambda: need(cast.admin, emergency))["hs_prefix"][0].endswith(
        "change its target instead."
    )
    # The same goods in another unit are another need; a chapter covering listed goods is fine.
    need(cast.admin, emergency, hs_prefix="3004", unit="KGM", target_quantity=500)
    need(cast.admin, emergency, hs_prefix="30", label="Pharmaceuticals", unit="KGM")
    ending = emergency_end_propose(actor=cast.admin, emergency_id=emergency.pk, reason="Over")
    emergency_proposal_approve(proposal_id=ending.pk, actor=second_admin)
    assert (
        "its register of needs is closed"
        in errors_of(
            lambda: supply_need_change(actor=cast.admin, need_id=needs["tents"].pk, label="x")
        )["emergency"][0]
    )


def test_released_relief_consignments_count_against_the_needs(cast, emergency, needs, ngo, unicef):
    released(ngo, [MEDICINES, TENTS])  # 20,000 amoxicillin (CN), 500 tents
    released(
        unicef,
        [
            {**MEDICINES, "origin_country": "IN", "quantity": Decimal("5000")},
            item_data(hs_code="300420", description="Cephalosporins", unit="NAR",
                      quantity=Decimal("3000"), origin_country="IN"),
            {**TENTS, "unit": "KGM", "quantity": Decimal("900")},  # not in the need's unit
            WATER_FILTERS,
        ],
    )  # fmt: skip
    # Neither lodged-but-not-released relief nor ordinary imports count.
    lodge_relief(ngo, [MEDICINES], invoice_number="INV-WAITING")
    lodge_relief(
        cast.trader_a, [MEDICINES], invoice_number="INV-ORDINARY",
        importer_name=cast.company_a.name, importer_tax_id=cast.company_a.tax_id,
    )  # fmt: skip
    register = supplies_register(emergency=emergency)
    by_label = {p.need.label: p for p in register.needs}
    amoxicillin = by_label["Amoxicillin"]
    # The longest prefix wins: amoxicillin is counted once, under Amoxicillin.
    assert (amoxicillin.received, amoxicillin.consignments) == (Decimal("25000"), 2)
    assert amoxicillin.percent == Decimal("50.0")
    assert amoxicillin.still_needed == Decimal("25000")
    assert [(r["country"], r["quantity"]) for r in amoxicillin.by_origin] == [
        ("CN", Decimal("20000")),
        ("IN", Decimal("5000")),
    ]
    assert [(r["name"], r["quantity"]) for r in amoxicillin.by_consignee] == [
        ("Korea Relief Cross", Decimal("20000")),
        ("UNICEF Korea", Decimal("5000")),
    ]
    assert (by_label["Antibiotics"].received, by_label["Antibiotics"].percent) == (
        Decimal("3000"),
        Decimal("3.0"),
    )
    assert (by_label["Family tents"].received, by_label["Family tents"].percent) == (
        Decimal("500"),
        Decimal("25.0"),
    )
    assert [(r["hs_code"], r["unit"], r["quantity"]) for r in register.other_goods] == [
        ("630622", "KGM", Decimal("900")),
        ("842121", "NAR", Decimal("40")),
    ]


def test_partners_pledges_are_recorded_and_followed(cast, emergency, needs):
    tents = needs["tents"]
    japan = supply_pledge_record(
        actor=cast.admin, need_id=tents.pk, partner_country="JP",
        partner_administration="Japan Customs", quantity=Decimal("800"),
        expected_on=timezone.localdate() + timedelta(days=3),
    )  # fmt: skip
    australia = supply_pledge_record(
        actor=cast.admin, need_id=tents.pk, partner_country="AU",
        partner_administration="Australian Border Force", quantity=Decimal("300"),
        expected_on=timezone.localdate() + timedelta(days=5),
    )  # fmt: skip
    progress = next(p for p in supplies_register(emergency=emergency).needs if p.need == tents)
    assert (progress.pledged, progress.pledged_percent) == (Decimal("1100"), Decimal("55.0"))
    supply_pledge_set_status(actor=cast.admin, pledge_id=japan.pk, status="delivered")
    supply_pledge_set_status(actor=cast.admin, pledge_id=australia.pk, status="withdrawn")
    progress = next(p for p in supplies_register(emergency=emergency).needs if p.need == tents)
    assert (progress.pledged, progress.pledged_delivered) == (Decimal("0"), Decimal("800"))
    with pytest.raises(InvalidTransition):
        supply_pledge_set_status(actor=cast.admin, pledge_id=japan.pk, status="withdrawn")
    actions = SupplyRegisterEntry.objects.filter(pledge__isnull=False).order_by("pk")
    assert [(e.action, e.before, e.after.get("status")) for e in actions] == [
        ("pledge_recorded", {}, "pledged"),
        ("pledge_recorded", {}, "pledged"),
        ("pledge_delivered", {"status": "pledged"}, "delivered"),
        ("pledge_withdrawn", {"status": "pledged"}, "withdrawn"),
    ]
    assert "partner_country" in errors_of(
        lambda: supply_pledge_record(
            actor=cast.admin, need_id=tents.pk, partner_country="XX",
            partner_administration="?", quantity=Decimal("1"), expected_on=timezone.localdate(),
        )
    )  # fmt: skip


def test_the_register_is_read_in_the_same_few_queries_however_many_consignments(
    cast, emergency, needs, ngo, unicef, django_assert_num_queries
):
    released(ngo, [MEDICINES])
    with django_assert_num_queries(8):
        supplies_register(emergency=emergency)
    for trader in (ngo, unicef, ngo, unicef):
        released(trader, [MEDICINES, TENTS, WATER_FILTERS, {**MEDICINES, "origin_country": "IN"}])
    with django_assert_num_queries(8):
        register = supplies_register(emergency=emergency)
    assert sum(p.consignments for p in register.needs if p.need.label == "Amoxicillin") == 5


# ---- Pages, CSV, API -----------------------------------------------------------------------


@pytest.fixture
def received(cast, emergency, needs, ngo, unicef):
    released(ngo, [MEDICINES, TENTS], consignor_name="IFRC Dubai hub", country_of_export="AE")
    released(unicef, [{**MEDICINES, "origin_country": "IN", "quantity": Decimal("5000")}])
    supply_pledge_record(
        actor=cast.admin, need_id=needs["tents"].pk, partner_country="JP",
        partner_administration="Japan Customs", quantity=Decimal("800"),
        expected_on=timezone.localdate() + timedelta(days=3),
    )  # fmt: skip
    return emergency


def test_the_register_page_shows_the_table_and_the_chart(cast, received, login):
    html = login(cast.customs_officer).get(f"/emergencies/{received.pk}/supplies/").content
    html = html.decode()
    assert 'data-testid="supplies-chart"' in html
    assert "Amoxicillin: 25,000 of 50,000 NAR received (50.0%), 0 pledged" in html
    assert "<strong>50.0%</strong>" in html and "Japan Customs (JP)" in html
    assert "Add a priority need" not in html  # customs reads; administrators keep it
    admin = login(cast.admin).get(f"/emergencies/{received.pk}/supplies/").content.decode()
    assert "Add a priority need" in admin and "Record a pledge" in admin


def test_administrators_change_the_register_on_the_page(cast, received, needs, login):
    browser = login(cast.admin)
    url = f"/emergencies/{received.pk}/supplies/"
    response = browser.post(
        f"{url}needs/",
        {"hs_prefix": "8421.21", "label": "Water purification", "target_quantity": "200",
         "unit": "NAR"},
    )  # fmt: skip
    assert response.status_code == 302
    response = browser.post(
        f"{url}needs/", {"hs_prefix": "8502", "label": "Generators", "target_quantity": "10",
                         "unit": "NAR"}, follow=True,
    )  # fmt: skip
    assert "HS 8502 is not among the goods Typhoon Mawar lists" in response.content.decode()
    browser.post(
        f"/emergencies/supplies/needs/{needs['tents'].pk}/",
        {"label": "Family tents", "target_quantity": "5000"},
    )
    page = browser.get(url).content.decode()
    assert "Water purification" in page and "Generators" not in page
    assert "target_quantity: 2000.000" in page and "target_quantity: 5000" in page
    # Others post nothing: 404.
    officer = login(cast.customs_officer)
    assert officer.post(f"{url}needs/", {"hs_prefix": "3004"}).status_code == 404


def test_the_register_exports_as_csv(cast, received, login):
    response = login(cast.admin).get(f"/emergencies/{received.pk}/supplies.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="critical-supplies-')
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    amoxicillin = [r for r in rows if r["need"] == "Amoxicillin"]
    columns = ("breakdown", "origin_country", "consignee", "quantity")
    assert [tuple(r[c] for c in columns) for r in amoxicillin] == [
        ("total", "", "", "25000.000"),
        ("origin", "CN", "", "20000.000"),
        ("origin", "IN", "", "5000.000"),
        ("consignee", "", "Korea Relief Cross", "20000.000"),
        ("consignee", "", "UNICEF Korea", "5000.000"),
    ]  # fmt: skip
    assert amoxicillin[0]["percent_of_target"] == "50.0"


def test_the_coordination_api_says_who_sent_what_where_and_when(cast, received, needs, api):
    body = api.as_user(cast.customs_officer).get(f"/api/v1/emergencies/{received.pk}/supplies/")
    assert body.status_code == 200
    needs_out = {n["need"]["label"]: n for n in body.json()["needs"]}
    assert needs_out["Amoxicillin"]["received_quantity"] == "25000.000"
    assert needs_out["Amoxicillin"]["percent_of_target"] == "50.0"
    assert needs_out["Family tents"]["pledged_quantity"] == "800.000"
    assert needs_out["Amoxicillin"]["by_origin"][1]["country"] == "IN"
    consignments = api.get(f"/api/v1/emergencies/{received.pk}/relief-consignments/").json()
    assert consignments["count"] == 2
    first = consignments["results"][0]
    assert (first["consignee"], first["sender"], first["sender_country"]) == (
        "Korea Relief Cross",
        "IFRC Dubai hub",
        "AE",
    )
    assert first["office_of_entry"] == "KRPUS" and first["released_at"]
    assert [(i["hs_code"], i["quantity"], i["need"]) for i in first["items"]] == [
        ("300490", "20000.000", needs["amoxicillin"].pk),
        ("630622", "500.000", needs["tents"].pk),
    ]
    # Nothing on duties, lanes or controls: the coordination reads goods and movements.
    assert not {"lane", "duty_total", "duties_relieved", "status"} & set(first)
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert (
        api.get(f"/api/v1/emergencies/{received.pk}/relief-consignments/", {"since": later}).json()[
            "count"
        ]
        == 0
    )
    response = api.get(f"/api/v1/emergencies/{received.pk}/relief-consignments/?since=soon")
    assert response.status_code == 400 and "since" in response.json()["fields"]


def test_the_relief_consignments_api_reads_a_page_in_constant_queries(
    cast, emergency, needs, ngo, api, django_assert_num_queries
):
    client = api.as_user(cast.admin)
    url = f"/api/v1/emergencies/{emergency.pk}/relief-consignments/"
    released(ngo, [MEDICINES])
    client.get(url)  # the token's first use is recorded once
    with django_assert_num_queries(7) as one:
        assert client.get(url).json()["count"] == 1
    for _ in range(4):
        released(ngo, [MEDICINES, TENTS])
    with django_assert_num_queries(len(one.captured_queries)):
        assert client.get(url).json()["count"] == 5


def test_the_register_is_for_administrators_and_customs(cast, received, api, login):
    for user in (cast.trader_a, cast.food_officer, cast.analyst):
        assert login(user).get(f"/emergencies/{received.pk}/supplies/").status_code == 404
        assert (
            api.as_user(user).get(f"/api/v1/emergencies/{received.pk}/supplies/").status_code == 404
        )
    body = {"hs_prefix": "6306", "label": "Tarpaulins", "target_quantity": "10", "unit": "KGM"}
    url = f"/api/v1/emergencies/{received.pk}/supplies/needs/"
    assert api.as_user(cast.customs_officer).post(url, body).status_code == 404
    created = api.as_user(cast.admin).post(url, body)
    assert created.status_code == 201 and created.json()["unit"] == "KGM"
    changed = api.as_user(cast.admin).patch(
        f"/api/v1/supply-needs/{created.json()['id']}/", {"target_quantity": "12"}
    )
    assert changed.status_code == 200 and changed.json()["target_quantity"] == "12.000"


def test_the_django_admin_shows_the_register_read_only(cast, received, login):
    browser = login(cast.admin)
    for model in ("prenotification", "supplyneed", "supplypledge", "supplyregisterentry"):
        response = browser.get(f"/admin/supplies/{model}/")
        assert response.status_code == 200, model
        assert browser.get(f"/admin/supplies/{model}/add/").status_code == 403

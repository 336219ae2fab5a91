"""Pre-notification (ASYREC): relief announced before it arrives, seen coming by the office
of entry and the agencies concerned, matched to the declaration that follows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from agencies.models import Review
from agencies.services import jurisdiction_rule_create
from clearance.services import declaration_amend, declaration_cancel
from notifications.models import Notification
from supplies.models import PreNotification
from supplies.selectors import incoming_prenotifications, prenotification_differences
from supplies.services import prenotification_cancel
from tests.factories import CompanyFactory, UserFactory, consistent_header, item_data, route
from tests.supplies.conftest import (
    AWB,
    MEDICINES,
    TENTS,
    announce,
    announcement,
    lodge_relief,
    relief_header,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def food_regulates_medicines(cast):
    jurisdiction_rule_create(agency=cast.food, hs_prefix="3004", permit_type="", always_review=True)


@pytest.fixture
def unicef(cast):
    """A second approved consignee, whose trader sends relief to others too."""
    from emergencies.services import consignee_decide, consignee_register

    company = CompanyFactory(name="UNICEF Korea", tax_id="KR1100220033")
    trader = UserFactory(username="unicef_trader", company=company)
    consignee = consignee_register(actor=trader, kind="un", mission="Children's relief")
    consignee_decide(actor=cast.admin, consignee_id=consignee.pk, status="approved")
    return trader


def test_a_consignee_announces_relief_and_the_office_of_entry_sees_it_coming(cast, emergency, ngo):
    pn = announce(ngo, emergency, ngo)
    assert pn.status == "notified" and pn.reference == f"PN-{pn.pk:06d}"
    assert [(line.hs_code, line.quantity) for line in pn.lines.all()] == [
        ("300490", Decimal("20000.000")),
        ("630622", Decimal("500.000")),
    ]
    assert pn.transport_document_key == "18012345675"
    assert list(pn.events.values_list("from_status", "to_status")) == [("", "notified")]
    # Customs at Busan is told; no agency regulates medicines or tents in the cast.
    told = Notification.objects.filter(verb="prenotification_filed")
    assert set(told.values_list("recipient__username", flat=True)) == {
        "customs_officer",
        "supervisor",
    }
    assert "20000 NAR Amoxicillin 500 mg" in told.first().text
    assert [p.pk for p in incoming_prenotifications(user=cast.customs_officer)] == [pn.pk]


def test_an_agency_sees_the_announcements_of_goods_it_regulates_and_only_those_lines(
    cast, emergency, ngo, food_regulates_medicines
):
    pn = announce(ngo, emergency, ngo)
    assert Notification.objects.filter(recipient=cast.food_officer, verb="prenotification_filed")
    seen = incoming_prenotifications(user=cast.food_officer).get()
    assert [line.hs_code for line in seen.lines.all()] == ["300490"]
    # Tents only: nothing for food; the plant service regulates neither.
    only_tents = [announcement(emergency, ngo)["lines"][1]]
    tents = announce(ngo, emergency, ngo, transport_document="HDMU 7781", lines=only_tents)
    assert [p.pk for p in incoming_prenotifications(user=cast.food_officer)] == [pn.pk]
    assert not incoming_prenotifications(user=cast.plant_officer).exists()
    assert incoming_prenotifications(user=cast.customs_officer).count() == 2
    # Customs elsewhere does not see Busan's.
    incheon = UserFactory(role="officer", agency=cast.customs, offices=["KRICN"])
    assert not incoming_prenotifications(user=incheon).exists()
    assert tents.pk not in {p.pk for p in incoming_prenotifications(user=cast.trader_a)}


def test_who_may_pre_notify(cast, emergency, ngo, unicef):
    for outsider in (cast.trader_a, cast.customs_officer, cast.analyst):
        with pytest.raises(PermissionDenied):
            announce(outsider, emergency, ngo)
    # A consignee's trader sends for another consignee; an administrator for a donor.
    sent = announce(unicef, emergency, ngo, sender_name="UNICEF Supply Division")
    assert (sent.filed_for, sent.consignee.company) == (unicef.company, ngo.company)
    donor = announce(
        cast.admin, emergency, unicef, sender_name="Government of Japan", sender_country="JP"
    )
    assert donor.filed_for is None
    # Both organisations see what concerns them; others see nothing.
    assert set(incoming_prenotifications(user=ngo).values_list("pk", flat=True)) == {sent.pk}
    assert set(incoming_prenotifications(user=unicef).values_list("pk", flat=True)) == {
        sent.pk,
        donor.pk,
    }
    assert not incoming_prenotifications(user=cast.trader_b).exists()
    assert not incoming_prenotifications(user=cast.analyst).exists()


def errors_of(call) -> dict:
    with pytest.raises(ValidationError) as caught, transaction.atomic():
        call()
    return caught.value.message_dict


def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(cast, emergency, ngo):
    lines = announcement(emergency, ngo)["lines"]
    phones = item_data()
    bad = {
        "emergency_id": 999999,
    }
    assert "emergency" in errors_of(lambda: announce(ngo, emergency, ngo, **bad))
    errors = errors_of(
        lambda: announce(
            ngo, emergency, cast.trader_a, office_code="KRICN", sender_country="XX",
            expected_arrival=timezone.now() - timedelta(hours=2),
            lines=[lines[0], {**lines[1], "hs_code": phones["hs_code"], "unit": "ZZZ"},
                   {**lines[0], "quantity": Decimal("0")}],
        )
    )  # fmt: skip
    assert errors["consignee_tax_id"][0].startswith("No approved humanitarian consignee")
    assert errors["office"] == ["KRICN is not an office of entry Typhoon Mawar covers (KRPUS)."]
    assert "sender_country" in errors
    assert errors["expected_arrival"][0].startswith("A pre-notification announces goods still")
    assert errors["lines[1].hs_code"][0].startswith("HS 851713 is not among the goods")
    assert errors["lines[1].unit"] == ["ZZZ is not a UN/ECE Recommendation 20 unit."]
    assert "lines[2].quantity" in errors
    after_the_end = emergency.ends_at + timedelta(days=1)
    errors = errors_of(lambda: announce(ngo, emergency, ngo, expected_arrival=after_the_end))
    assert "relief measures would no longer apply" in errors["expected_arrival"][0]
    assert errors_of(lambda: announce(ngo, emergency, ngo, lines=[])) == {
        "lines": ["Name at least one goods line."]
    }
    assert not PreNotification.objects.exists()
    # One open announcement per consignee and transport document, however it is written.
    first = announce(ngo, emergency, ngo)
    errors = errors_of(lambda: announce(ngo, emergency, ngo, transport_document="1801234-5675"))
    assert errors["transport_document"] == [
        f"{first.reference} already announces {AWB} for Korea Relief Cross."
    ]


def test_the_declaration_that_follows_is_matched_on_consignee_and_transport_document(
    cast, emergency, ngo, unicef
):
    pn = announce(unicef, emergency, ngo)
    # Another importer's declaration under the same air waybill is not this consignment.
    other = lodge_relief(
        cast.trader_a,
        [MEDICINES],
        importer_name=cast.company_a.name,
        importer_tax_id=cast.company_a.tax_id,
    )
    pn.refresh_from_db()
    assert pn.status == "notified" and other.pk
    # The consignee's, with the AWB written otherwise, is.
    declaration = lodge_relief(ngo, [MEDICINES, TENTS], transport_document="1801234-5675")
    pn.refresh_from_db()
    assert (pn.status, pn.declaration) == ("declared", declaration)
    assert pn.events.last().note == f"Declared as {declaration.reference}."
    # The sender is told it arrived; the declarant lodged it and needs no telling.
    told = Notification.objects.filter(verb="prenotification_declared")
    assert set(told.values_list("recipient__username", flat=True)) == {"unicef_trader"}
    assert (
        prenotification_differences(
            pn, lines=list(pn.lines.all()), items=list(declaration.items.all())
        )
        == []
    )


def test_where_the_declaration_departs_from_the_announcement_officers_are_shown_not_refused(
    cast, emergency, ngo
):
    pn = announce(ngo, emergency, ngo)
    fewer = {**MEDICINES, "quantity": Decimal("18000")}
    filters = item_data(
        hs_code="842121", description="Water filters", unit="NAR", quantity=Decimal("40"),
        net_mass_kg=Decimal("80"), gross_mass_kg=Decimal("90"), value=Decimal("4000"),
    )  # fmt: skip
    declaration = lodge_relief(ngo, [fewer, filters], transport_mode="1")
    assert declaration.status == "submitted" and declaration.emergency == emergency
    pn.refresh_from_db()
    assert pn.declaration == declaration
    assert prenotification_differences(
        pn, lines=list(pn.lines.all()), items=list(declaration.items.all())
    ) == [
        "Announced by air transport, declared by maritime.",
        "HS 300490: 20,000 NAR announced, 18,000 declared.",
        "HS 630622: 500 NAR announced, none declared.",
        "HS 842121: 40 NAR declared, not announced.",
    ]


def test_a_declaration_cancelled_or_replaced_hands_the_match_on(cast, emergency, ngo):
    pn = announce(ngo, emergency, ngo)
    first = route(lodge_relief(ngo, [MEDICINES]), lane="yellow")
    header = consistent_header(
        [MEDICINES, TENTS], transport_mode="4", transport_document=AWB, **relief_header(ngo)
    )
    amended = declaration_amend(
        actor=ngo, declaration=first, header=header, items=[MEDICINES, TENTS], reason="tents too"
    )
    pn.refresh_from_db()
    assert (pn.status, pn.declaration) == ("declared", amended)
    route(amended, lane="yellow")
    declaration_cancel(actor=ngo, declaration=amended, reason="wrong consignee")
    again = lodge_relief(ngo, [MEDICINES, TENTS], invoice_number="INV-RELIEF-2")
    pn.refresh_from_db()
    assert pn.declaration == again
    assert pn.events.last().note.startswith(f"Now declared as {again.reference}")


def test_an_announcement_filed_after_the_declaration_is_matched_at_once(cast, emergency, ngo):
    declaration = lodge_relief(ngo, [MEDICINES])
    pn = announce(ngo, emergency, ngo)
    assert (pn.status, pn.declaration) == ("declared", declaration)


def test_the_filer_cancels_before_the_goods_are_declared_and_the_office_is_told(
    cast, emergency, ngo, unicef
):
    pn = announce(unicef, emergency, ngo)
    with pytest.raises(PermissionDenied):
        prenotification_cancel(actor=cast.trader_a, prenotification_id=pn.pk, reason="x")
    with pytest.raises(ValidationError):
        prenotification_cancel(actor=unicef, prenotification_id=pn.pk, reason=" ")
    prenotification_cancel(actor=unicef, prenotification_id=pn.pk, reason="Flight cancelled")
    pn.refresh_from_db()
    assert pn.status == "cancelled"
    told = Notification.objects.filter(verb="prenotification_cancelled")
    assert {"customs_officer", "relief_trader"} <= set(
        told.values_list("recipient__username", flat=True)
    )
    # The transport document is free again, and a cancelled one matches nothing.
    again = announce(unicef, emergency, ngo)
    lodge_relief(ngo, [MEDICINES])
    again.refresh_from_db()
    pn.refresh_from_db()
    assert (again.status, pn.status, pn.declaration) == ("declared", "cancelled", None)


def test_a_declared_announcement_cannot_be_cancelled(cast, emergency, ngo):
    from core.exceptions import InvalidTransition

    pn = announce(ngo, emergency, ngo)
    lodge_relief(ngo, [MEDICINES])
    with pytest.raises(InvalidTransition):
        prenotification_cancel(actor=ngo, prenotification_id=pn.pk, reason="too late")


# ---- Pages ---------------------------------------------------------------------------------


def test_officers_read_the_incoming_list_and_the_match_on_the_review_page(
    cast, emergency, ngo, login, food_regulates_medicines
):
    pn = announce(ngo, emergency, ngo)
    page = login(cast.customs_officer).get("/emergencies/prenotifications/")
    html = page.content.decode()
    assert page.status_code == 200 and pn.reference in html
    assert (
        "Amoxicillin 500 mg" in html and "Family tents" in html and "UNICEF Supply Division" in html
    )
    declaration = route(lodge_relief(ngo, [{**MEDICINES, "quantity": Decimal("18000")}]))
    review = Review.objects.get(declaration=declaration, agency=cast.customs)
    html = login(cast.customs_officer).get(f"/reviews/{review.pk}/").content.decode()
    assert f'Pre-notified: <a href="/emergencies/prenotifications/{pn.pk}/">{pn.reference}' in html
    assert "HS 300490: 20,000 NAR announced, 18,000 declared." in html
    assert "HS 630622: 500 NAR announced, none declared." in html
    # The food agency reviews the medicines only: the tents are not its concern.
    food = Review.objects.get(declaration=declaration, agency=cast.food)
    html = login(cast.food_officer).get(f"/reviews/{food.pk}/").content.decode()
    assert "HS 300490: 20,000 NAR announced, 18,000 declared." in html
    assert "630622" not in html
    html = login(cast.customs_officer).get(f"/emergencies/prenotifications/{pn.pk}/").content
    assert f'<a href="/reviews/{review.pk}/">{declaration.reference}</a>'.encode() in html
    assert b"Arrived and declared" in html
    # The incoming list now links the declaration to the officer's review.
    html = login(cast.customs_officer).get("/emergencies/prenotifications/?status=all").content
    assert f"/reviews/{review.pk}/".encode() in html


def test_a_consignee_files_on_the_page_and_errors_name_the_field(cast, emergency, ngo, login):
    browser = login(ngo)
    form = {
        "emergency": emergency.pk, "consignee_tax_id": ngo.company.tax_id, "office": "KRPUS",
        "sender_name": "IFRC Dubai hub", "sender_country": "AE", "transport_mode": "4",
        "transport_document": "176-5555 0001",
        "expected_arrival": (timezone.localtime() + timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M"),
        "notes": "", "lines-TOTAL_FORMS": "4", "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "1", "lines-MAX_NUM_FORMS": "200",
        "lines-0-hs_code": "3004.90", "lines-0-description": "Paracetamol",
        "lines-0-quantity": "5000", "lines-0-unit": "NAR",
        "lines-1-hs_code": "851713", "lines-1-description": "Phones",
        "lines-1-quantity": "10", "lines-1-unit": "NAR",
    }  # fmt: skip
    response = browser.post("/emergencies/prenotifications/new/", form)
    assert response.status_code == 200
    assert "HS 851713 is not among the goods Typhoon Mawar lists" in response.content.decode()
    assert not PreNotification.objects.exists()
    for key in ("lines-1-hs_code", "lines-1-description", "lines-1-quantity", "lines-1-unit"):
        form[key] = ""
    response = browser.post("/emergencies/prenotifications/new/", form)
    pn = PreNotification.objects.get()
    assert (
        response.status_code == 302
        and response["Location"] == f"/emergencies/prenotifications/{pn.pk}/"
    )
    assert [line.hs_code for line in pn.lines.all()] == ["300490"]
    # An importer that is not a consignee has no such page.
    assert login(cast.trader_a).get("/emergencies/prenotifications/new/").status_code == 404


def test_the_filer_cancels_on_the_page(cast, emergency, ngo, login):
    pn = announce(ngo, emergency, ngo)
    browser = login(ngo)
    assert (
        "Cancel the pre-notification"
        in browser.get(f"/emergencies/prenotifications/{pn.pk}/").content.decode()
    )
    browser.post(
        f"/emergencies/prenotifications/{pn.pk}/cancel/", {"reason": "Diverted to Incheon"}
    )
    pn.refresh_from_db()
    assert pn.status == "cancelled"


# ---- API -----------------------------------------------------------------------------------


def api_body(emergency, trader, **overrides) -> dict:
    data = announcement(emergency, trader)
    body = {
        "emergency": emergency.pk, "consignee_tax_id": data["consignee_tax_id"], "office": "KRPUS",
        "sender_name": data["sender_name"], "sender_country": "DK", "transport_mode": "4",
        "transport_document": AWB, "expected_arrival": data["expected_arrival"].isoformat(),
        "lines": [{**line, "quantity": str(line["quantity"])} for line in data["lines"]],
    }  # fmt: skip
    body.update(overrides)
    return body


def test_the_api_files_lists_and_shows_a_pre_notification(cast, emergency, ngo, api):
    response = api.as_user(ngo).post(
        "/api/v1/prenotifications/", api_body(emergency, ngo), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["office"], body["declaration"]) == ("notified", "KRPUS", None)
    assert [line["hs_code"] for line in body["lines"]] == ["300490", "630622"]
    pk = body["id"]
    listed = (
        api.as_user(cast.customs_officer).get("/api/v1/prenotifications/?status=notified").json()
    )
    assert [row["reference"] for row in listed["results"]] == [body["reference"]]
    assert api.as_user(cast.trader_b).get(f"/api/v1/prenotifications/{pk}/").status_code == 404
    lodge_relief(ngo, [{**MEDICINES, "quantity": Decimal("18000")}])
    staff = api.as_user(cast.customs_officer).get(f"/api/v1/prenotifications/{pk}/").json()
    assert staff["status"] == "declared"
    assert "HS 300490: 20,000 NAR announced, 18,000 declared." in staff["differences"]
    assert [e["to_status"] for e in staff["events"]] == ["notified", "declared"]
    # The filer reads the status, not the officers' comparison.
    assert api.as_user(ngo).get(f"/api/v1/prenotifications/{pk}/").json()["differences"] == []
    # Declared: no longer cancelled.
    response = api.as_user(ngo).post(f"/api/v1/prenotifications/{pk}/cancel/", {"reason": "x"})
    assert response.status_code == 409


def test_the_api_names_the_field_in_error(cast, emergency, ngo, api):
    body = api_body(emergency, ngo)
    body["lines"][1]["hs_code"] = "851713"
    response = api.as_user(ngo).post("/api/v1/prenotifications/", body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["lines[1].hs_code"][0].startswith("HS 851713 is not among")
    response = api.as_user(ngo).post(
        "/api/v1/prenotifications/", {**body, "lines": []}, format="json"
    )
    assert response.status_code == 400 and "lines" in response.json()["fields"]
    response = api.as_user(cast.trader_a).post("/api/v1/prenotifications/", body, format="json")
    assert response.status_code == 403

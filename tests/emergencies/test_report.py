"""The reconciliation report after an emergency: every relief consignment with the
measures it got, duties relieved, inspections and findings, and time from lodgement
to release by lane against ordinary imports; as a page, CSV and PDF, for
administrators and the customs supervisors of the offices it covers."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pdfplumber
import pytest
from django.db import transaction
from django.utils import timezone

from clearance.services import declaration_assess_risk, declaration_submit, inspection_record
from clearance.services import review_approve as approve
from declarations.models import Declaration
from emergencies.selectors import (
    consignment_rows,
    get_report_scope,
    release_times,
    report_summary,
)
from risk.services import rule_create, rule_set_draft_create
from tests.emergencies.conftest import MEDICINES, TENTS, declare, relief_header
from tests.factories import (
    UserFactory,
    export_item_data,
    item_data,
    make_declaration,
    make_export,
    pay,
    route,
    rule_set_publish,
)

pytestmark = pytest.mark.django_db

_numbers = iter(range(1, 10**6))


def lodged(actor, items, **header) -> Declaration:
    header.setdefault("invoice_number", f"INV-REPORT-{next(_numbers)}")
    draft = make_declaration(actor=actor, items=items, **header)
    with transaction.atomic():
        return declaration_submit(declaration=draft, actor=actor)


def customs_review(declaration):
    return declaration.reviews.get(agency__is_customs=True)


@pytest.fixture
def rules(cast, no_random_selection):
    """Medicines score red (not forced); tents are forced red by a security rule."""
    rule_set = rule_set_draft_create(actor=cast.analyst)
    rule_create(actor=cast.analyst, rule_set=rule_set, name="Medicines", hs_prefix="3004", score=90)
    rule_create(
        actor=cast.analyst, rule_set=rule_set, name="Tents from a sanctioned source",
        hs_prefix="6306", force_lane="red",
    )  # fmt: skip
    rule_set_publish(actor=cast.analyst, rule_set=rule_set)


@pytest.fixture
def story(cast, emergency, ngo, rules):
    """Under Typhoon Mawar: a relief consignment of medicines, its lane lowered from red
    to yellow, checked and released without duty; one of tents, forced red and waiting
    for its inspection; and an ordinary import of medicines, red, inspected and paid."""
    medicines = lodged(ngo, [MEDICINES], **relief_header(ngo))
    declaration_assess_risk(declaration_id=medicines.pk)
    inspection_record(
        review_id=customs_review(medicines).pk, actor=cast.customs_officer,
        kind="documentary", finding="no_discrepancy",
    )  # fmt: skip
    approve(review_id=customs_review(medicines).pk, actor=cast.customs_officer)

    tents = lodged(ngo, [TENTS], **relief_header(ngo))
    declaration_assess_risk(declaration_id=tents.pk)

    ordinary = lodged(cast.trader_a, [MEDICINES])
    declaration_assess_risk(declaration_id=ordinary.pk)
    inspection_record(
        review_id=customs_review(ordinary).pk, actor=cast.customs_officer,
        kind="physical", finding="misdeclared_quantity", revenue_difference=Decimal("1500"),
        items=[1],
    )  # fmt: skip
    approve(review_id=customs_review(ordinary).pk, actor=cast.customs_officer)
    pay(Declaration.objects.get(pk=ordinary.pk))
    return {
        "medicines": Declaration.objects.get(pk=medicines.pk),
        "tents": Declaration.objects.get(pk=tents.pk),
        "ordinary": Declaration.objects.get(pk=ordinary.pk),
    }


def test_every_relief_consignment_with_the_measures_it_got(cast, emergency, story):
    medicines, tents = story["medicines"], story["tents"]
    assert medicines.status == "released" and story["ordinary"].status == "released"
    scope = get_report_scope(user=cast.admin, pk=emergency.pk)
    rows, tracked = consignment_rows(scope)
    assert [row.declaration.pk for row in rows] == [medicines.pk, tents.pk]
    # Provisional declarations are recorded (the relief app): these were lodged complete.
    assert tracked
    assert [(row.owed.provisional, row.owed.missing) for row in rows] == [(False, [])] * 2
    first, second = rows
    assert first.declaration.lane == "yellow" and first.lane_lowered_from == "red"
    assert first.declaration.priority
    assert first.declaration.duties_relieved == medicines.duties_relieved > 0
    assert first.inspections == ["Documentary check: no discrepancy"]
    assert first.seconds_to_release is not None
    # A security rule's red is never lowered, and the report says so.
    assert second.declaration.lane == "red" and second.lane_lowered_from == ""
    assert second.lane_note == "lane red forced by rule, not lowered"
    assert second.inspections == ["Physical inspection: ordered, not recorded yet"]
    assert second.seconds_to_release is None

    summary = report_summary(scope)
    assert (summary.lodged, summary.released, summary.waiting, summary.stopped) == (2, 1, 1, 0)
    assert summary.lanes == {"green": 0, "yellow": 1, "red": 1}
    assert (summary.lane_lowered, summary.priority) == (1, 2)
    assert summary.duties_relieved == medicines.duties_relieved + tents.duties_relieved
    # The ordinary import's reassessment is not the relief consignments'.
    assert summary.inspections == [
        ("Documentary check", "No discrepancy", 1, Decimal("0")),
        ("Physical inspection", "", 1, Decimal("0")),
    ]


def _timed(declaration, *, hours: float | None, lodged_hours_ago: float = 48):
    """Give a declaration lodgement and release times, as if it had been cleared then."""
    lodged_at = timezone.now() - timedelta(hours=lodged_hours_ago)
    released_at = None if hours is None else lodged_at + timedelta(hours=hours)
    Declaration.objects.filter(pk=declaration.pk).update(
        submitted_at=lodged_at,
        released_at=released_at,
        status="released" if hours is not None else declaration.status,
    )


def test_time_to_release_by_lane_relief_against_ordinary_of_the_same_offices_and_period(
    cast, ngo, second_admin
):
    emergency = declare(cast.admin, second_admin, starts_at=timezone.now() - timedelta(days=5))
    relief = [
        route(lodged(ngo, [MEDICINES], **relief_header(ngo)), lane=lane)
        for lane in ("green", "yellow", "yellow", "yellow", "red")
    ]
    for declaration, hours in zip(relief, (0.5, 1, 2, 6, None), strict=True):
        _timed(declaration, hours=hours)
    ordinary = [
        route(lodged(cast.trader_a, [item_data()]), lane=lane)
        for lane in ("green", "yellow", "yellow", "red")
    ]
    for declaration, hours in zip(ordinary, (2, 10, 20, 30), strict=True):
        _timed(declaration, hours=hours)
    # Not compared: lodged before the emergency, at an office it does not cover, an export.
    _timed(route(lodged(cast.trader_a, [item_data()]), lane="green"), hours=99,
           lodged_hours_ago=24 * 6)  # fmt: skip
    _timed(
        route(lodged(cast.trader_a, [item_data()], office_of_entry="KRICN"), lane="green"),
        hours=99,
    )
    export = make_export(actor=cast.trader_a, items=[export_item_data()])
    with transaction.atomic():
        declaration_submit(declaration=export, actor=cast.trader_a)
    _timed(route(export, lane="green"), hours=99)

    times = release_times(get_report_scope(user=cast.admin, pk=emergency.pk))
    hour = 3600
    every, yellow, red = times.relief["all"], times.relief["yellow"], times.relief["red"]
    assert (every.lodged, every.released) == (5, 4)
    # percentile_cont interpolates: the median of 0.5, 1, 2 and 6 hours is 1.5 hours.
    assert every.median == pytest.approx(1.5 * hour)
    assert (yellow.lodged, yellow.released) == (3, 3)
    assert yellow.median == pytest.approx(2 * hour)
    assert yellow.p90 == pytest.approx((2 + 0.8 * 4) * hour)
    assert (red.lodged, red.released, red.median) == (1, 0, None)
    assert times.ordinary["all"].lodged == 4
    assert times.ordinary["all"].median == pytest.approx(15 * hour)
    assert times.ordinary["yellow"].median == pytest.approx(15 * hour)
    assert times.ordinary["green"].p90 == pytest.approx(2 * hour)


# ---- pages and files -----------------------------------------------------------------


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_page_shows_the_summary_times_findings_and_consignments(cast, login, emergency, story):
    page = login(cast.admin).get(f"/emergencies/{emergency.pk}/report/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Reconciliation report: Typhoon Mawar" in html
    assert story["medicines"].reference in html and story["tents"].reference in html
    assert story["ordinary"].reference not in html
    assert "from red" in html and "no: a rule forced red" in html
    assert "Documentary check: no discrepancy" in html
    assert html.count("<svg") == 4  # lanes, median, p90, findings
    assert f'href="/emergencies/{emergency.pk}/report.csv"' in html
    # Targeting stays confidential even here: no score, no rule name.
    assert "Medicines" not in html and "sanctioned" not in html and "score" not in html
    # The administrators' emergency page links to it.
    detail = login(cast.admin).get(f"/emergencies/{emergency.pk}/").content.decode()
    assert f'href="/emergencies/{emergency.pk}/report/"' in detail


def test_the_page_lists_the_consignments_page_by_page(cast, login, emergency, story, monkeypatch):
    from emergencies import views

    monkeypatch.setattr(views, "REPORT_PAGE_SIZE", 1)
    browser = login(cast.admin)
    first = browser.get(f"/emergencies/{emergency.pk}/report/").content.decode()
    second = browser.get(f"/emergencies/{emergency.pk}/report/?page=2").content.decode()
    assert story["medicines"].reference in first and story["tents"].reference not in first
    assert story["tents"].reference in second and "Page 2 of 2" in second
    assert "2</strong> relief consignments lodged" in second  # the summary covers them all


def test_a_report_with_no_consignment_yet(cast, login, emergency):
    html = login(cast.admin).get(f"/emergencies/{emergency.pk}/report/").content.decode()
    assert "No relief consignment was lodged." in html
    csv_lines = _csv(login(cast.admin).get(f"/emergencies/{emergency.pk}/report.csv"))
    assert csv_lines == []
    pdf = login(cast.admin).get(f"/emergencies/{emergency.pk}/report.pdf")
    with pdfplumber.open(io.BytesIO(pdf.content)) as document:
        assert "None lodged." in document.pages[-1].extract_text()


def test_the_csv_has_a_line_per_consignment_in_plain_values(cast, login, emergency, story):
    response = login(cast.admin).get(f"/emergencies/{emergency.pk}/report.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    lines = _csv(response)
    assert [line["Declaration"] for line in lines] == [
        story["medicines"].reference,
        story["tents"].reference,
    ]
    first = lines[0]
    assert first["Consignee"] == "Korea Relief Cross (KR2208800001)"
    assert first["Office"] == "KRPUS" and first["Lane"] == "yellow"
    assert first["Priority"] == "yes" and first["Lane lowered"] == "from red"
    assert Decimal(first["Duties relieved (KRW)"]) == story["medicines"].duties_relieved
    assert float(first["Lodgement to release (hours)"]) >= 0
    assert first["Released"].startswith(str(timezone.localdate().year))
    assert lines[1]["Released"] == "" and lines[1]["Lodgement to release (hours)"] == ""
    assert (first["Provisional"], first["Documents still missing"]) == ("no", "")


def test_a_name_that_looks_like_a_formula_is_not_run_by_a_spreadsheet(cast, login, emergency, ngo):
    lodged(ngo, [MEDICINES], **relief_header(ngo, importer_name='=HYPERLINK("http://x")'))
    lines = _csv(login(cast.admin).get(f"/emergencies/{emergency.pk}/report.csv"))
    assert lines[0]["Consignee"].startswith("'=HYPERLINK")


def test_the_pdf_reads_as_the_report(cast, login, emergency, story):
    response = login(cast.admin).get(f"/emergencies/{emergency.pk}/report.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    with pdfplumber.open(io.BytesIO(response.content)) as pdf:
        text = "\n".join(page.extract_text() for page in pdf.pages)
        tables = [
            [[" ".join((cell or "").split()) for cell in row] for row in found]
            for page in pdf.pages
            for found in page.extract_tables()
        ]
    assert "Reconciliation report: Typhoon Mawar" in text
    assert "2 relief consignments lodged: 1 released, 1 still in clearance" in text
    assert story["ordinary"].reference not in text
    times = next(t for t in tables if t[0][0] == "Lane")
    assert [row[0] for row in times[1:]] == ["all", "green", "yellow", "red"]
    consignments = next(t for t in tables if t[0][0] == "Declaration")
    medicines, tents = consignments[1:]
    assert medicines[0] == story["medicines"].reference
    assert medicines[1] == "Korea Relief Cross (KR2208800001)"
    assert "Documentary check: no discrepancy" in medicines
    assert "from red" in medicines
    assert tents[0] == story["tents"].reference


def test_a_provisional_declaration_shows_the_documents_it_still_owes(cast, login, emergency, ngo):
    """A relief consignment lodged with its documents to follow (relief app): the page,
    CSV and PDF say it was provisional and what it has not supplied yet."""
    from clearance.relief import owed_document_supply
    from clearance.services import declaration_lodge
    from tests.factories import consistent_header

    header = consistent_header(
        [MEDICINES], invoice_number="", transport_document="", documents_follow=True,
        **relief_header(ngo),
    )  # fmt: skip
    with transaction.atomic():
        declaration = declaration_lodge(actor=ngo, header=header, items=[MEDICINES])
    invoice = declaration.provisional.documents.get(kind="invoice")
    owed_document_supply(
        actor=ngo, declaration_id=declaration.pk, owed_id=invoice.pk, reference="INV-LATE-1"
    )
    browser = login(cast.admin)
    html = browser.get(f"/emergencies/{emergency.pk}/report/").content.decode()
    assert "Documents still missing" in html and "Transport document (B/L or AWB)" in html
    line = _csv(browser.get(f"/emergencies/{emergency.pk}/report.csv"))[0]
    assert (line["Provisional"], line["Documents still missing"]) == (
        "yes",
        "Transport document (B/L or AWB)",
    )


# ---- who may read it -------------------------------------------------------------------


def test_customs_supervisors_read_the_report_of_their_offices_only(
    cast, login, emergency, ngo, second_admin
):
    relief = lodged(ngo, [MEDICINES], **relief_header(ngo))
    incheon = UserFactory(
        username="incheon_supervisor", role="supervisor", agency=cast.customs,
        offices=["KRICN"],
    )  # fmt: skip
    url = f"/emergencies/{emergency.pk}/report/"
    page = login(cast.supervisor).get(url)
    assert page.status_code == 200 and relief.reference in page.content.decode()
    for user in (incheon, cast.customs_officer, cast.food_officer, cast.analyst, ngo,
                 cast.trader_a):  # fmt: skip
        browser = login(user)
        for suffix in ("report/", "report.csv", "report.pdf"):
            assert browser.get(f"/emergencies/{emergency.pk}/{suffix}").status_code == 404, (
                user.username,
                suffix,
            )
        browser.logout()
    # An emergency over two offices: the supervisor of one sees that office's consignments.
    both = declare(cast.admin, second_admin, name="Flood", office_codes=["KRPUS", "KRICN"])
    assert both  # relief of the first emergency stays the first's
    scope = get_report_scope(user=incheon, pk=both.pk)
    assert scope.offices == ("KRICN",) and not scope.whole


def test_the_list_of_reports(cast, login, emergency, second_admin):
    from emergencies.services import emergency_declare_propose

    now = timezone.now()
    proposed = emergency_declare_propose(
        actor=cast.admin, office_codes=["KRPUS"], reason="Flood", name="Flood",
        starts_at=now, ends_at=now + timedelta(days=3), hs_prefixes=["3004"],
    ).emergency  # fmt: skip
    elsewhere = declare(cast.admin, second_admin, name="Quake", office_codes=["KRICN"])
    admin_page = login(cast.admin).get("/emergencies/reports/").content.decode()
    assert all(e.name in admin_page for e in (emergency, proposed, elsewhere))
    supervisor_page = login(cast.supervisor).get("/emergencies/reports/").content.decode()
    assert "Typhoon Mawar" in supervisor_page
    # Not the reports of emergencies elsewhere or not declared (the banner names every
    # emergency in force, Quake included: that is public).
    for other in (proposed, elsewhere):
        assert f"/emergencies/{other.pk}/report/" not in supervisor_page
    assert "Flood" not in supervisor_page
    assert "Emergency reports" in supervisor_page  # in the menu
    assert login(cast.supervisor).get(f"/emergencies/{proposed.pk}/report/").status_code == 404
    assert login(cast.customs_officer).get("/emergencies/reports/").status_code == 404


# ---- a constant number of statements -----------------------------------------------------


# Session and user (2), the emergency and its offices (2), then the page: the summary's
# counts and findings (2), the release times (1), the consignments, their inspections and
# the documents they owe (3). The CSV reads the consignments only; the PDF all of it.
@pytest.mark.parametrize(("path", "statements"), [("report/", 10), ("report.csv", 7),
                                                  ("report.pdf", 10)])  # fmt: skip
def test_the_report_takes_the_same_statements_however_many_consignments(
    cast, login, emergency, ngo, django_assert_num_queries, path, statements
):
    browser = login(cast.admin)
    url = f"/emergencies/{emergency.pk}/{path}"
    for count in (1, 5):
        for _ in range(count):
            declaration = route(lodged(ngo, [MEDICINES], **relief_header(ngo)), lane="yellow")
            inspection_record(
                review_id=customs_review(declaration).pk, actor=cast.customs_officer,
                kind="documentary", finding="no_discrepancy",
            )  # fmt: skip
        browser.get(url)  # the banner's emergencies cached, as between any two requests
        with django_assert_num_queries(statements):
            assert browser.get(url).status_code == 200

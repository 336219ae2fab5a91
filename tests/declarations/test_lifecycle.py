"""Amend, cancel, assess, pay and release, through the API and the pages."""

import pytest

from agencies.models import Review
from clearance.services import declaration_submit
from core.exceptions import InvalidTransition
from declarations.models import Declaration, Payment
from declarations.services import declaration_assess
from tests.factories import (
    api_payload,
    consistent_header,
    item_data,
    make_declaration,
    pay,
    permit_citations,
    route,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def lodged(cast, django_capture_on_commit_callbacks):
    """A declaration of company A, lodged and under review with a yellow lane."""
    declaration = make_declaration(actor=cast.trader_a)
    with django_capture_on_commit_callbacks(execute=False):
        declaration_submit(declaration=declaration, actor=cast.trader_a)
    return route(declaration, lane="yellow")


def test_an_amendment_is_a_new_version_and_the_old_one_stays_readable(
    cast, api, lodged, django_capture_on_commit_callbacks
):
    client = api.as_user(cast.trader_a)
    payload = api_payload(items=[item_data(value="16000")], reason="price corrected")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/api/v1/declarations/{lodged.pk}/amend/", payload, format="json")
    assert response.status_code == 201, response.json()
    new = response.json()
    assert len(callbacks) == 1  # the new version is scored again
    assert new["version"] == 2
    assert new["status"] == "submitted"
    assert new["reference"] == f"{lodged.reference}/2"
    assert new["previous_version"] == lodged.pk
    assert new["items"][0]["value"] == "16000.00"

    old = client.get(f"/api/v1/declarations/{lodged.pk}/").json()
    assert old["status"] == "amended"
    assert old["next_version"] == new["id"]
    assert old["items"][0]["value"] == "15000.00"
    assert old["history"][-1]["text"] == "Replaced by version 2: price corrected"
    # The same invoice lives on in the new version only.
    assert (
        Declaration.objects.exclude(status="amended").filter(invoice_number="INV-2026-001").count()
        == 1
    )


def test_an_invalid_amendment_changes_nothing(cast, api, lodged):
    response = api.as_user(cast.trader_a).post(
        f"/api/v1/declarations/{lodged.pk}/amend/",
        api_payload(items=[item_data(hs_code="000000")]),
        format="json",
    )
    assert response.status_code == 400
    lodged.refresh_from_db()
    assert lodged.status == "under_review"
    assert Declaration.objects.count() == 1


def test_a_draft_cannot_be_amended_nor_a_released_declaration(cast, api):
    draft = make_declaration(actor=cast.trader_a)
    response = api.as_user(cast.trader_a).post(
        f"/api/v1/declarations/{draft.pk}/amend/", api_payload(), format="json"
    )
    assert response.status_code == 409
    assert "draft declaration cannot be amended" in response.json()["detail"]


def test_cancel_needs_a_reason_and_is_final(cast, api, lodged):
    client = api.as_user(cast.trader_a)
    assert (
        client.post(f"/api/v1/declarations/{lodged.pk}/cancel/", {}, format="json").status_code
        == 400
    )
    response = client.post(
        f"/api/v1/declarations/{lodged.pk}/cancel/", {"reason": "order cancelled"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/declarations/{lodged.pk}/cancel/", {"reason": "x"}, format="json")
    assert again.status_code == 409


def test_a_green_declaration_is_assessed_by_itself_then_payment_releases(
    cast, api, django_capture_on_commit_callbacks
):
    lodged = make_declaration(actor=cast.trader_a)
    with django_capture_on_commit_callbacks(execute=False):
        declaration_submit(declaration=lodged, actor=cast.trader_a)
    route(lodged, lane="green")
    lodged.refresh_from_db()
    assert lodged.status == "assessed"
    assert lodged.assessed_at is not None
    assert lodged.total_due == lodged.duty_total + lodged.vat_total
    customs = Review.objects.get(declaration=lodged)
    assert (customs.status, customs.decided_by, customs.automatic_basis) == (
        "approved",
        None,
        "green lane, no check of the documents or the goods",
    )

    client = api.as_user(cast.trader_a)
    order = client.post(f"/api/v1/declarations/{lodged.pk}/pay/")
    assert order.status_code == 201, order.json()
    assert order.json()["amount"] == f"{lodged.total_due:.2f}"
    assert client.get(f"/api/v1/declarations/{lodged.pk}/").json()["status"] == "assessed"

    pay(lodged)
    body = client.get(f"/api/v1/declarations/{lodged.pk}/").json()
    assert body["status"] == "released"
    assert body["payment"]["amount"] == str(lodged.total_due)
    assert body["payment"]["reference"] == order.json()["reference"]
    assert body["payment"]["receipt_number"].startswith("RCT-")


def test_nothing_to_pay_before_assessment(cast, api, lodged):
    response = api.as_user(cast.trader_a).post(f"/api/v1/declarations/{lodged.pk}/pay/")
    assert response.status_code == 409
    assert not Payment.objects.exists()


def test_assessment_is_refused_outside_review(cast):
    draft = make_declaration(actor=cast.trader_a)
    with pytest.raises(InvalidTransition):
        declaration_assess(declaration_id=draft.pk, actor=cast.customs_officer)


def test_a_draft_is_edited_in_place_and_an_item_added(cast, api):
    draft = make_declaration(actor=cast.trader_a)
    client = api.as_user(cast.trader_a)
    response = client.post(
        f"/api/v1/declarations/{draft.pk}/items/",
        {k: str(v) for k, v in item_data(description="Cases").items()},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert [i["description"] for i in response.json()["items"]] == ["Smartphones", "Cases"]
    replaced = client.put(
        f"/api/v1/declarations/{draft.pk}/", api_payload(invoice_number="INV-NEW"), format="json"
    )
    assert replaced.status_code == 200
    assert replaced.json()["invoice_number"] == "INV-NEW"
    assert len(replaced.json()["items"]) == 1


def test_only_a_draft_is_edited(cast, api, lodged):
    response = api.as_user(cast.trader_a).put(
        f"/api/v1/declarations/{lodged.pk}/", api_payload(), format="json"
    )
    assert response.status_code == 409


@pytest.mark.parametrize("action", ["amend", "cancel", "pay", "items", "documents"])
def test_another_company_gets_404_on_every_action(cast, api, lodged, action):
    response = api.as_user(cast.trader_b).post(
        f"/api/v1/declarations/{lodged.pk}/{action}/",
        {"reason": "x", "reference": "y"},
        format="json",
    )
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["edit/", "amend/"])
def test_form_pages_are_404_for_another_company(cast, login, lodged, path):
    assert login(cast.trader_b).get(f"/declarations/{lodged.pk}/{path}").status_code == 404


@pytest.mark.parametrize("path", ["cancel/", "pay/", "documents/", "submit/"])
def test_action_pages_are_404_for_another_company(cast, login, lodged, path):
    response = login(cast.trader_b).post(f"/declarations/{lodged.pk}/{path}", {"reason": "x"})
    assert response.status_code == 404
    lodged.refresh_from_db()
    assert lodged.status == "under_review"


def test_the_dashboard_filters_searches_and_sorts(cast, login):
    for n in range(3):
        make_declaration(
            actor=cast.trader_a, invoice_number=f"A-{n}", items=[item_data(value=f"{n + 1}000")]
        )
    client = login(cast.trader_a)
    page = client.get("/declarations/", {"q": "A-1"})
    assert [d.invoice_number for d in page.context["page"]] == ["A-1"]
    by_value = client.get("/declarations/", {"ordering": "-value"})
    assert [d.invoice_number for d in by_value.context["page"]] == ["A-2", "A-1", "A-0"]
    assert (
        client.get("/declarations/", {"status": "submitted"}).context["page"].paginator.count == 0
    )
    reference = Declaration.objects.get(invoice_number="A-0").reference
    assert [
        d.invoice_number for d in client.get("/declarations/", {"q": reference}).context["page"]
    ] == ["A-0"]


def _form_post(items: list[dict], **header) -> dict:
    """The declaration form's POST body: header fields and the item formset."""
    data = {k: str(v) for k, v in consistent_header(items, **header).items()}
    data.update({"items-TOTAL_FORMS": str(len(items)), "items-INITIAL_FORMS": "0"})
    for index, item in enumerate(items):
        for key, value in item.items():
            if key == "permits":
                value = ", ".join(f"{p['agency']}:{p['reference']}" for p in value)
            data[f"items-{index}-{key}"] = str(value)
    return data


def test_a_refused_submission_from_the_new_form_stores_nothing_and_can_be_corrected(
    cast, login, django_capture_on_commit_callbacks
):
    browser = login(cast.trader_a)
    beef = item_data(hs_code="020130", description="Beef", origin_country="AU")
    body = {**_form_post([beef], invoice_number="INV-FORM-1"), "submit": "1"}
    response = browser.post("/declarations/new/", body)
    assert response.status_code == 200
    assert "needs a" in response.content.decode()  # the food agency's permit
    assert not Declaration.objects.exists()

    beef["permits"] = permit_citations(beef, holder=cast.company_a)
    body = {**_form_post([beef], invoice_number="INV-FORM-1"), "submit": "1"}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = browser.post("/declarations/new/", body)
    declaration = Declaration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/declarations/{declaration.pk}/"
    assert declaration.status == "submitted"
    assert len(callbacks) == 1


def test_the_declaration_page_shows_duties_in_whole_won_grouped_by_thousands(cast, login, lodged):
    # 15,000 USD FOB at 1,392 plus freight and insurance; stored as 2-decimal numbers.
    assert lodged.total_due == lodged.total_due.to_integral_value()
    page = login(cast.trader_a).get(f"/declarations/{lodged.pk}/").content.decode()
    total = f"{int(lodged.total_due):,} KRW"
    assert f'<strong data-testid="total-due">{total}</strong>' in page
    assert f"{int(lodged.duty_total):,}" in page
    assert f"{lodged.total_due}" not in page  # never "1234567.00"

"""The payer's bank confirms a payment order with a signed notification; nothing else
the trader says confirms it, and a notification that does not match changes nothing."""

import time
from decimal import Decimal

import pytest

from declarations.models import Declaration, Payment
from declarations.services import payment_order_issue
from notifications.models import Notification
from payments.models import PaymentNotification
from tests.factories import (
    BANK_SECRET,
    NOTIFICATION_URL,
    bank_notification,
    send_bank_notification,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(cast, assessed) -> Payment:
    payment, created = payment_order_issue(declaration=assessed, actor=cast.trader_a)
    assert created
    return payment


def state(payment) -> tuple:
    """What a refused notification must leave as it was."""
    payment = Payment.objects.get(pk=payment.pk)
    declaration = Declaration.objects.get(pk=payment.declaration_id)
    return (
        payment.status,
        payment.receipt_number,
        payment.bank_reference,
        declaration.status,
        declaration.events.count(),
        PaymentNotification.objects.count(),
        Notification.objects.count(),
    )


def test_asking_to_pay_issues_one_order_and_the_declaration_waits_for_the_bank(cast, api, assessed):
    client = api.as_user(cast.trader_a)
    first = client.post(f"/api/v1/declarations/{assessed.pk}/pay/")
    again = client.post(f"/api/v1/declarations/{assessed.pk}/pay/")
    assert (first.status_code, again.status_code) == (201, 200)
    order = first.json()
    assert again.json()["reference"] == order["reference"]
    assert order["reference"].startswith("PAY-")
    assert (order["amount"], order["currency"], order["status"]) == (
        f"{assessed.total_due:.2f}",
        "KRW",
        "pending",
    )
    assert Payment.objects.count() == 1
    detail = client.get(f"/api/v1/declarations/{assessed.pk}/").json()
    assert detail["status"] == "assessed"
    assert detail["payment"]["status"] == "pending"
    assert detail["payment"]["receipt_number"] is None


def test_the_order_sends_the_payer_to_the_bank(cast, api, assessed, settings):
    settings.PAYMENT_BANK_URL = "http://bank.example/pay"
    order = api.as_user(cast.trader_a).post(f"/api/v1/declarations/{assessed.pk}/pay/").json()
    assert order["bank_url"].startswith("http://bank.example/pay?reference=PAY-")
    assert f"amount={assessed.total_due:.2f}" in order["bank_url"]
    assert "return_url=http%3A%2F%2Ftestserver%2Fdeclarations%2F" in order["bank_url"]


def test_a_signed_notification_confirms_the_payment_and_releases_the_goods(cast, api, order):
    body = bank_notification(order, bank_reference="KB-2026-778812")
    response = send_bank_notification(body)
    assert response.status_code == 200, response.json()
    receipt = response.json()["receipt_number"]
    assert response.json() == {
        "payment_reference": order.reference,
        "status": "confirmed",
        "receipt_number": receipt,
    }
    payment = Payment.objects.get(pk=order.pk)
    assert (payment.status, payment.source, payment.bank_reference) == (
        "confirmed",
        "bank",
        "KB-2026-778812",
    )
    assert payment.confirmed_by is None
    assert PaymentNotification.objects.get().notification_id == body["notification_id"]

    detail = api.as_user(cast.trader_a).get(f"/api/v1/declarations/{order.declaration_id}/")
    assert detail.json()["status"] == "released"
    assert detail.json()["payment"]["receipt_number"] == receipt
    told = Notification.objects.filter(recipient=cast.trader_a, verb="paid").get()
    assert receipt in told.text and order.reference in told.text
    assert Notification.objects.filter(recipient=cast.trader_a, verb="released").exists()


def test_a_paid_declaration_with_an_agency_still_reviewing_waits(cast, reviewed):
    from tests.agencies.conftest import MEAT

    declaration = reviewed(hs_codes=(MEAT,))
    # Assessed by hand while the food agency still reviews: payment alone does not release.
    Declaration.objects.filter(pk=declaration.pk).update(status="assessed")
    payment, _ = payment_order_issue(declaration=declaration, actor=cast.trader_a)
    assert send_bank_notification(bank_notification(payment)).status_code == 200
    assert Declaration.objects.get(pk=declaration.pk).status == "paid"


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"secret": "not-the-bank"}, 401, "X-Signature"),
        ({"age": 301}, 401, "X-Timestamp"),
        ({"age": -301}, 401, "X-Timestamp"),
        ({"body": {"amount": "1.00"}}, 400, "amount"),
        ({"body": {"currency": "USD"}}, 400, "currency"),
        ({"body": {"payment_reference": "PAY-2026-0000000000"}}, 400, "payment_reference"),
        ({"body": {"paid_at": "yesterday"}}, 400, "paid_at"),
    ],
)
def test_a_notification_that_does_not_hold_changes_nothing(order, change, status, field):
    before = state(order)
    body = bank_notification(order, **change.get("body", {}))
    response = send_bank_notification(
        body,
        secret=change.get("secret", BANK_SECRET),
        timestamp=int(time.time()) - change["age"] if "age" in change else None,
    )
    assert response.status_code == status, response.json()
    assert field in response.json()["fields"], response.json()
    assert state(order) == before


def test_an_unsigned_or_tampered_notification_is_refused(client, order):
    import json

    from payments.signing import signed_headers

    before = state(order)
    raw = json.dumps(bank_notification(order)).encode()
    unsigned = client.post(NOTIFICATION_URL, raw, content_type="application/json")
    assert unsigned.status_code == 401
    assert unsigned.json()["fields"] == {"X-Signature": ["The notification is not signed."]}
    # Signed, then the amount changed on the way.
    headers = signed_headers(secret=BANK_SECRET, body=raw)
    tampered = raw.replace(f'"{order.amount:.2f}"'.encode(), b'"1.00"')
    assert tampered != raw
    response = client.post(
        NOTIFICATION_URL, tampered, content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    assert state(order) == before


def test_no_secret_configured_refuses_every_notification(order, settings):
    settings.PAYMENT_NOTIFICATION_SECRET = ""
    before = state(order)
    response = send_bank_notification(bank_notification(order), secret="")
    assert response.status_code == 401
    assert state(order) == before


def test_a_replayed_notification_is_refused_and_changes_nothing(order):
    body = bank_notification(order)
    assert send_bank_notification(body).status_code == 200
    after_first = state(order)
    replay = send_bank_notification(body)  # freshly signed: only the id gives it away
    assert replay.status_code == 400
    assert "notification_id" in replay.json()["fields"]
    assert state(order) == after_first


def test_a_second_notification_for_a_confirmed_payment_is_refused(order):
    assert send_bank_notification(bank_notification(order)).status_code == 200
    after_first = state(order)
    again = send_bank_notification(bank_notification(order))
    assert again.status_code == 409
    assert "confirmed already" in again.json()["detail"]
    assert state(order) == after_first


def test_a_reassessed_amount_is_what_the_order_asks_for(cast, order):
    Declaration.objects.filter(pk=order.declaration_id).update(duty_total=Decimal("1000.00"))
    declaration = Declaration.objects.get(pk=order.declaration_id)
    same, created = payment_order_issue(declaration=declaration, actor=cast.trader_a)
    assert (same.pk, created) == (order.pk, False)
    assert same.amount == declaration.total_due
    stale = send_bank_notification(bank_notification(order))  # the old amount
    assert stale.status_code == 400
    assert send_bank_notification(bank_notification(same)).status_code == 200


def test_the_trader_can_no_longer_confirm_a_payment_with_a_reference(cast, api, order):
    client = api.as_user(cast.trader_a)
    response = client.post(
        f"/api/v1/declarations/{order.declaration_id}/pay/",
        {"reference": "MY-OWN-BANK-REF"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert Declaration.objects.get(pk=order.declaration_id).status == "assessed"
    # Nor can a logged-in trader post the bank's notification: the signature is the key.
    session = api.as_user(cast.trader_a)
    forged = session.post(NOTIFICATION_URL, bank_notification(order), format="json")
    assert forged.status_code == 401
    assert Payment.objects.get(pk=order.pk).status == "pending"


def test_nobody_but_the_declarant_asks_for_the_order(cast, api, assessed):
    for user in (cast.trader_b, cast.customs_officer):
        response = api.as_user(user).post(f"/api/v1/declarations/{assessed.pk}/pay/")
        assert response.status_code == 404
    # An analyst reads the declaration but does not act for the company.
    response = api.as_user(cast.analyst).post(f"/api/v1/declarations/{assessed.pk}/pay/")
    assert response.status_code == 403
    assert not Payment.objects.exists()

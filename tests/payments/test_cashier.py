"""A customs cashier confirms a payment order paid at the counter, through the same
clearance step as the bank; nobody else may."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import User
from declarations.models import Declaration, Payment
from declarations.services import payment_order_issue
from tests.factories import AgencyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(cast, assessed) -> Payment:
    return payment_order_issue(declaration=assessed, actor=cast.trader_a)[0]


def test_the_cashier_finds_the_order_and_records_the_payment(cast, login, cashier, order):
    client = login(cashier)
    assert client.get("/").url == "/payments/cashier/"
    found = client.get("/payments/cashier/", {"reference": order.reference.lower()})
    assert found.status_code == 200
    page = found.content.decode()
    assert order.declaration.reference in page
    assert "Record payment received" in page

    response = client.post(
        "/payments/cashier/confirm/",
        {"reference": order.reference, "amount": str(order.amount), "counter_reference": "C-17"},
        follow=True,
    )
    payment = Payment.objects.get(pk=order.pk)
    assert (payment.status, payment.source, payment.confirmed_by) == (
        "confirmed",
        "cashier",
        cashier,
    )
    assert payment.bank_reference == "C-17"
    assert f"receipt {payment.receipt_number}" in response.content.decode()
    assert Declaration.objects.get(pk=order.declaration_id).status == "released"
    assert "Record payment received" not in response.content.decode()
    # The declarant's receipt names the office that took the money, not the cashier.
    receipt = login(cast.trader_a).get(reverse("payments:receipt", args=[payment.reference]))
    assert receipt.status_code == 200
    assert "Paid through</dt><dd>Customs cashier</dd>" in receipt.content.decode()
    assert f"({cashier.get_full_name() or cashier.username})" not in receipt.content.decode()


def test_the_amount_received_must_match_the_order(login, cashier, order):
    response = login(cashier).post(
        "/payments/cashier/confirm/",
        {"reference": order.reference, "amount": str(order.amount - Decimal("1")),
         "counter_reference": "C-18"},
        follow=True,
    )  # fmt: skip
    assert "does not match" in response.content.decode()
    assert Payment.objects.get(pk=order.pk).status == "pending"
    assert Declaration.objects.get(pk=order.declaration_id).status == "assessed"


def test_an_unknown_reference_is_said_so(login, cashier):
    response = login(cashier).get("/payments/cashier/", {"reference": "PAY-2026-NOPE"})
    assert "No payment order has this reference." in response.content.decode()


@pytest.mark.parametrize("role", ["trader_a", "customs_officer", "supervisor", "analyst", "admin"])
def test_only_a_cashier_takes_payments(cast, login, order, role):
    client = login(getattr(cast, role))
    assert client.get("/payments/cashier/", {"reference": order.reference}).status_code == 404
    response = client.post(
        "/payments/cashier/confirm/",
        {"reference": order.reference, "amount": str(order.amount), "counter_reference": "C-1"},
    )
    assert response.status_code == 404
    assert Payment.objects.get(pk=order.pk).status == "pending"


def test_a_cashier_belongs_to_customs(cast):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        UserFactory(role=User.Role.CASHIER, agency=AgencyFactory())
    assert "agency" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        UserFactory(role=User.Role.CASHIER, company=cast.company_a)
    assert "agency" in refused.value.message_dict

"""The receipt of a confirmed payment: for the declarant and whoever may see the
declaration, 404 to anyone else; nothing of the targeting on it."""

import pytest

from declarations.models import Payment
from declarations.services import payment_order_issue
from tests.factories import pay
from tests.payments.conftest import make_assessed

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(cast, assessed) -> Payment:
    pay(assessed)
    return Payment.objects.get(declaration=assessed)


def test_the_declarant_reads_and_prints_the_receipt(cast, login, paid):
    client = login(cast.trader_a)
    detail = client.get(f"/declarations/{paid.declaration_id}/").content.decode()
    assert f'href="/payments/{paid.reference}/receipt/"' in detail
    page = client.get(f"/payments/{paid.reference}/receipt/")
    assert page.status_code == 200
    text = page.content.decode()
    for shown in (
        paid.receipt_number,
        paid.reference,
        paid.bank_reference,
        paid.declaration.reference,
        f"{paid.amount:,.0f} KRW",
        "data-print",  # the Print button, wired by static/js/app.js
    ):
        assert shown in text
    assert "lane" not in text.lower() and "score" not in text.lower()


def test_officers_who_review_the_declaration_and_auditors_read_it(cast, login, paid):
    for user in (cast.customs_officer, cast.analyst, cast.admin):
        assert login(user).get(f"/payments/{paid.reference}/receipt/").status_code == 200


def test_another_company_and_other_agencies_get_404(cast, login, paid):
    for user in (cast.trader_b, cast.food_officer):
        assert login(user).get(f"/payments/{paid.reference}/receipt/").status_code == 404


def test_an_order_not_yet_paid_has_no_receipt(cast, login):
    declaration = make_assessed(cast, invoice_number="INV-UNPAID")
    order, _ = payment_order_issue(declaration=declaration, actor=cast.trader_a)
    assert login(cast.trader_a).get(f"/payments/{order.reference}/receipt/").status_code == 404

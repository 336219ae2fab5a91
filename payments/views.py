from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clearance.services import payment_confirm
from core.pages import run_service
from declarations.models import Payment
from payments.forms import CounterPaymentForm, PaymentOrderSearchForm
from payments.selectors import get_order_for_cashier, get_receipt_for_user


def _require_cashier(user) -> None:
    if not user.is_cashier:
        raise Http404


@login_required
def receipt_page(request, reference: str):
    """The receipt of a confirmed payment, printable; for whoever may see its declaration."""
    payment = get_receipt_for_user(user=request.user, reference=reference)
    return render(request, "payments/receipt.html", {"payment": payment})


@login_required
def cashier_page(request):
    """A cashier finds a payment order by the reference the payer brings."""
    _require_cashier(request.user)
    search = PaymentOrderSearchForm(request.GET or None)
    payment = None
    if search.is_valid():
        payment = get_order_for_cashier(reference=search.cleaned_data["reference"])
        if payment is None:
            search.add_error("reference", "No payment order has this reference.")
    form = None
    if payment is not None and payment.may_become(Payment.Status.CONFIRMED):
        form = CounterPaymentForm(initial={"reference": payment.reference})
    return render(
        request,
        "payments/cashier.html",
        {"search": search, "payment": payment, "form": form},
    )


@login_required
@require_POST
def cashier_confirm_page(request):
    """The cashier records the payment received at the counter, which confirms the order."""
    _require_cashier(request.user)
    form = CounterPaymentForm(request.POST)
    reference = request.POST.get("reference", "")
    back = f"{reverse('payments:cashier')}?reference={reference}"
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label}: {' '.join(errors)}")
        return redirect(back)
    data = form.cleaned_data
    payment = run_service(
        request,
        lambda: payment_confirm(
            payment_reference=data["reference"],
            amount=data["amount"],
            # The counter takes the national currency, the currency of every order.
            currency=settings.NATIONAL_CURRENCY,
            bank_reference=data["counter_reference"],
            paid_at=timezone.now(),
            source=Payment.Source.CASHIER,
            actor=request.user,
        ),
        "",
    )
    if payment is not None:
        messages.success(
            request, f"Payment {payment.reference} confirmed: receipt {payment.receipt_number}."
        )
    return redirect(back)

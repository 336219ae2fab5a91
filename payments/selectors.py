from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404

from agencies.models import Review
from agencies.selectors import reviews_granted
from declarations.models import Payment
from declarations.selectors import declaration_list


def payment_list(*, user) -> QuerySet[Payment]:
    """The payments this user may see: of the declarations they may see; agency staff,
    of the declarations their agency reviews at their offices; cashiers, every one
    (they take them)."""
    payments = Payment.objects.select_related("declaration", "declaration__company")
    if user.is_cashier:
        return payments
    if user.is_agency_staff:
        reviews = reviews_granted(
            user=user,
            perm="agencies.view_review",
            queryset=Review.objects.worked_by(user).filter(
                declaration_id=OuterRef("declaration_id")
            ),
        )
        return payments.filter(Exists(reviews))
    return payments.filter(declaration__in=declaration_list(user=user).values("pk"))


def get_receipt_for_user(*, user, reference: str) -> Payment:
    """A confirmed payment the user may see, or 404 (an order not yet paid has no receipt)."""
    return get_object_or_404(
        payment_list(user=user),
        reference=reference,
        status=Payment.Status.CONFIRMED,
    )


def get_order_for_cashier(*, reference: str) -> Payment | None:
    return (
        Payment.objects.select_related("declaration", "declaration__company", "confirmed_by")
        .filter(reference=reference.strip().upper())
        .first()
    )

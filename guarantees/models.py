"""Guarantees: what a trader's surety or bank undertakes to pay customs, and the
amounts its transit movements hold of it.

A transit movement carries goods whose import duties and taxes are not paid:
the guarantee covers them until the office of destination discharges the
movement. Each movement draws the amount at stake from its declarant's
guarantee when it is lodged, and the draw is released when the movement is
discharged (or never goes: cancelled, rejected). The balance is what is
left to draw. It changes only under the guarantee's row lock (services), and
the database refuses a balance below zero or above the amount.
"""

from datetime import date
from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from core.models import Proposal
from core.states import Stateful
from core.validators import validate_currency_code

MONEY = {"max_digits": 18, "decimal_places": 2}
POSITIVE = [MinValueValidator(Decimal("0.01"))]

reference_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9/-]{2,34}$",
    "A guarantee reference is 3 to 35 capital letters, digits, / or -.",
)


class GuaranteeQuerySet(models.QuerySet):
    def cited(self, reference: str):
        """The guarantee a declaration's reference names (refused proposals name none)."""
        return self.filter(reference=reference.strip().upper()).exclude(
            status=Guarantee.Status.REFUSED
        )


class Guarantee(Stateful, models.Model):
    """A comprehensive guarantee of one company, in the national currency.

    Customs accepts it with four eyes (GuaranteeProposal): until then it is
    proposed, with nothing to draw (balance 0). Drawing and releasing change
    its balance, never its amount; raising its amount is proposed and approved
    like accepting it, since either lets more goods move on credit.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for acceptance"
        ACCEPTED = "accepted", "Accepted"
        REFUSED = "refused", "Refused"

    TRANSITIONS = {
        Status.PROPOSED: frozenset({Status.ACCEPTED, Status.REFUSED}),
        Status.ACCEPTED: frozenset(),
        Status.REFUSED: frozenset(),
    }

    company = models.ForeignKey(
        "accounts.Company", on_delete=models.PROTECT, related_name="guarantees"
    )
    # The surety's or bank's reference, which the declarant cites on a transit declaration.
    reference = models.CharField(max_length=35, validators=[reference_validator])
    status = models.CharField(max_length=8, choices=Status, default=Status.PROPOSED)
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    amount = models.DecimalField(**MONEY, validators=POSITIVE)
    balance = models.DecimalField(**MONEY, default=Decimal("0"))
    valid_from = models.DateField()
    valid_until = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GuaranteeQuerySet.as_manager()

    class Meta:
        ordering = ["company", "reference"]
        constraints = [
            # A refused proposal keeps its reference on record; it may be proposed again.
            models.UniqueConstraint(
                fields=["reference"],
                condition=~Q(status="refused"),
                name="unique_live_guarantee_reference",
            ),
            models.CheckConstraint(name="guarantee_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="guarantee_balance_not_negative", condition=Q(balance__gte=0)
            ),
            models.CheckConstraint(
                name="guarantee_balance_within_amount", condition=Q(balance__lte=F("amount"))
            ),
            # Nothing is drawn from a guarantee customs has not accepted.
            models.CheckConstraint(
                name="unaccepted_guarantee_has_no_balance",
                condition=Q(status="accepted") | Q(balance=0),
            ),
            models.CheckConstraint(
                name="guarantee_validity_in_order", condition=Q(valid_until__gte=F("valid_from"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.company_id})"

    @property
    def engaged(self) -> Decimal:
        return self.amount - self.balance

    def refusal(
        self, *, company_id: int, on: date, amount: Decimal, available: Decimal | None = None
    ) -> str:
        """Why this guarantee cannot cover `amount` for the company's movement accepted
        on `on`, or "" when it can. `available` is the balance to count (the balance,
        unless an amendment gives back what its previous version holds)."""
        if self.company_id != company_id:
            # Worded as for a reference nobody holds: another company's guarantee
            # is not theirs to learn of.
            return not_yours(self.reference)
        if self.status != self.Status.ACCEPTED:
            return f"Guarantee {self.reference} has not been accepted by customs yet."
        if on < self.valid_from:
            return f"Guarantee {self.reference} is valid only from {self.valid_from}."
        if on > self.valid_until:
            return f"Guarantee {self.reference} expired on {self.valid_until}."
        available = self.balance if available is None else available
        if available < amount:
            return (
                f"Guarantee {self.reference} has {available:,.2f} {self.currency} left; "
                f"this movement puts {amount:,.2f} {self.currency} of duties and taxes at stake."
            )
        return ""


def not_yours(reference: str) -> str:
    return f"{reference} is not a guarantee of your company's."


class GuaranteeProposal(Stateful, Proposal):
    """A customs officer's proposal to accept a guarantee or to raise its amount; a
    customs supervisor other than the proposer approves or refuses it (four eyes:
    either lets more goods travel with their duties unpaid)."""

    class Kind(models.TextChoices):
        ACCEPT = "accept", "Accept a new guarantee"
        RAISE = "raise", "Raise the amount"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"

    TRANSITIONS = {
        Status.PROPOSED: frozenset({Status.APPROVED, Status.REFUSED}),
        Status.APPROVED: frozenset(),
        Status.REFUSED: frozenset(),
    }

    guarantee = models.ForeignKey(Guarantee, on_delete=models.PROTECT, related_name="proposals")
    kind = models.CharField(max_length=8, choices=Kind)
    status = models.CharField(max_length=8, choices=Status, default=Status.PROPOSED)
    # The guarantee's amount once approved (for a raise, the new total).
    amount = models.DecimalField(**MONEY, validators=POSITIVE)

    class Meta:
        ordering = ["proposed_at", "id"]
        constraints = [
            # One at a time: a second would be judged against an amount the first may change.
            models.UniqueConstraint(
                fields=["guarantee"],
                condition=Q(status="proposed"),
                name="one_pending_guarantee_proposal",
            ),
            models.CheckConstraint(
                name="guarantee_proposal_amount_positive", condition=Q(amount__gt=0)
            ),
            models.CheckConstraint(
                name="decided_guarantee_proposal_has_decider",
                condition=Q(status="proposed")
                | Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
        ]
        indexes = [
            models.Index(
                fields=["proposed_at"],
                condition=Q(status="proposed"),
                name="guarantee_proposal_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.guarantee_id}: {self.amount} ({self.status})"


class GuaranteeDraw(Stateful, models.Model):
    """The amount one transit movement holds of a guarantee: the import duties and
    taxes at stake, computed when the movement is lodged.

    Drawn while the movement runs; released (back into the balance) when the
    office of destination discharges it or the declaration ends without moving
    (cancelled, rejected, replaced by an amendment, seized). Kept when the
    movement is overdue or arrived with discrepancies: the amount stays engaged
    until a customs supervisor settles them (clearance.transit).
    """

    class Status(models.TextChoices):
        DRAWN = "drawn", "Engaged"
        KEPT = "kept", "Kept by customs"
        RELEASED = "released", "Released"

    TRANSITIONS = {
        Status.DRAWN: frozenset({Status.KEPT, Status.RELEASED}),
        Status.KEPT: frozenset({Status.RELEASED}),
        Status.RELEASED: frozenset(),
    }
    # Amounts still held of the guarantee's balance.
    ENGAGED = frozenset({Status.DRAWN, Status.KEPT})

    guarantee = models.ForeignKey(Guarantee, on_delete=models.PROTECT, related_name="draws")
    declaration = models.OneToOneField(
        "declarations.Declaration", on_delete=models.PROTECT, related_name="guarantee_draw"
    )
    amount = models.DecimalField(**MONEY, validators=POSITIVE)
    status = models.CharField(max_length=8, choices=Status, default=Status.DRAWN)
    drawn_at = models.DateTimeField()
    kept_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    # Why it was kept or released, for officers (the declarant reads the notices).
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-drawn_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="guarantee_draw_amount_positive", condition=Q(amount__gt=0)
            ),
            models.CheckConstraint(
                name="released_draw_has_time",
                condition=~Q(status="released") | Q(released_at__isnull=False),
            ),
            models.CheckConstraint(
                name="kept_draw_has_time", condition=~Q(status="kept") | Q(kept_at__isnull=False)
            ),
        ]
        indexes = [
            # A guarantee's current draws, on its page.
            models.Index(
                fields=["guarantee", "-drawn_at"],
                condition=Q(status__in=["drawn", "kept"]),
                name="guarantee_draw_engaged_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of {self.guarantee_id} for {self.declaration_id} ({self.status})"

    @property
    def is_engaged(self) -> bool:
        return self.status in self.ENGAGED

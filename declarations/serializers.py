from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import ModelSerializer
from declarations.models import (
    Declaration,
    DeclarationEvent,
    Document,
    InvoiceReading,
    Item,
    ItemPermit,
    Payment,
)
from declarations.notices import next_step
from declarations.reading.comparison import invoice_comparison
from declarations.selectors import declarant_history
from declarations.services import HEADER_FIELDS, ITEM_FIELDS
from relief.selectors import provisional_of
from relief.serializers import ProvisionalOutputSerializer

# Domain validation (codes, bounds, totals) runs in the services, once for
# page and API; the serializers only check shapes and types.


class ItemPermitInputSerializer(serializers.Serializer):
    agency = serializers.CharField(max_length=16, help_text="Code of the agency that issued it.")
    reference = serializers.CharField(max_length=64)


class ItemInputSerializer(ModelSerializer):
    permits = ItemPermitInputSerializer(many=True, required=False, default=list)

    class Meta:
        model = Item
        fields = [*ITEM_FIELDS, "permits"]
        extra_kwargs = {f: {"validators": []} for f in ITEM_FIELDS}


class DeclarationInputSerializer(ModelSerializer):
    items = ItemInputSerializer(many=True, allow_empty=False)

    class Meta:
        model = Declaration
        fields = [*HEADER_FIELDS, "items"]
        extra_kwargs = {f: {"validators": []} for f in HEADER_FIELDS}


class DeclarationValidateInputSerializer(DeclarationInputSerializer):
    declaration = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Id of the draft this input is for: the input is then also compared with "
        "the invoice uploaded to that draft, and the differences come back as warnings.",
    )

    class Meta(DeclarationInputSerializer.Meta):
        fields = [*DeclarationInputSerializer.Meta.fields, "declaration"]


class DeclarationCreateInputSerializer(DeclarationInputSerializer):
    lodge = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Lodge at once instead of saving a draft (every lodgement rule applies).",
    )

    class Meta(DeclarationInputSerializer.Meta):
        fields = [*DeclarationInputSerializer.Meta.fields, "lodge"]


class AmendInputSerializer(DeclarationInputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")

    class Meta(DeclarationInputSerializer.Meta):
        fields = [*DeclarationInputSerializer.Meta.fields, "reason"]


class PaymentOrderOutputSerializer(serializers.Serializer):
    """A payment order: what to pay, and where (the bank cites `reference`)."""

    reference = serializers.CharField(help_text="The order's reference; the bank cites it.")
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Payment.Status.choices)
    created_at = serializers.DateTimeField()
    bank_url = serializers.SerializerMethodField(
        help_text="Send the payer here to pay the order; empty when payment is at a customs "
        "cashier."
    )

    def get_bank_url(self, payment) -> str:
        return payment.bank_url(return_url=self.context["return_url"])


class DocumentInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Document.Kind.choices)
    file = serializers.FileField()
    item = serializers.IntegerField(
        required=False, allow_null=True, help_text="Line number of the item it belongs to."
    )


class ItemPermitOutputSerializer(ModelSerializer):
    agency = serializers.CharField(source="agency.code")

    class Meta:
        model = ItemPermit
        fields = ["agency", "reference"]


class ItemOutputSerializer(ModelSerializer):
    permits = ItemPermitOutputSerializer(many=True)

    class Meta:
        model = Item
        fields = [
            "line_no",
            *ITEM_FIELDS,
            "permits",
            "customs_value",
            "duty_rate",
            "duty_amount",
            "vat_amount",
        ]


class LaneDecisionSerializer(serializers.Serializer):
    lane = serializers.CharField()
    score = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.DictField())
    rule_set_version = serializers.CharField()
    model_version = serializers.CharField()
    # "rules_only" or "default_lane" when a systemic scoring fault decided it short.
    fallback = serializers.CharField()
    decided_at = serializers.DateTimeField()


class ReviewSummarySerializer(serializers.Serializer):
    agency = serializers.CharField(source="agency.code")
    agency_name = serializers.CharField(source="agency.name")
    status = serializers.CharField()


class EventSerializer(ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)

    class Meta:
        model = DeclarationEvent
        fields = [
            "seq", "at", "actor", "action", "from_status", "to_status", "reason", "notice",
            "hash",
        ]  # fmt: skip


class HistoryEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    text = serializers.CharField()
    by = serializers.CharField()


class LaneChangeSerializer(serializers.Serializer):
    from_lane = serializers.CharField()
    to_lane = serializers.CharField()
    reason = serializers.CharField()
    changed_by = serializers.CharField(source="changed_by.username")
    changed_at = serializers.DateTimeField()


class InvoiceDifferenceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["number", "currency", "value", "seller", "buyer", "quantity"]
    )
    material = serializers.BooleanField(
        help_text="Value, quantity, currency or seller: what customs assesses, or whom it "
        "deals with."
    )
    item = serializers.IntegerField(
        allow_null=True, help_text="Line number of the declared item it is about, if one."
    )
    message = serializers.CharField()


class InvoiceCheckSerializer(serializers.Serializer):
    """The declaration against the invoice uploaded to it, as the machine read it:
    warnings for the declarant, which never stop a lodgement."""

    status = serializers.ChoiceField(
        choices=["none", *InvoiceReading.Status.values],
        help_text="none: no invoice uploaded; else the reading's status.",
    )
    document = serializers.IntegerField(allow_null=True, help_text="The invoice compared.")
    disagrees_on = serializers.CharField(help_text='e.g. "value, quantity and seller"')
    differences = InvoiceDifferenceSerializer(many=True)
    not_found = serializers.ListField(
        child=serializers.CharField(), help_text="What the machine could not find on it."
    )
    reading_notes = serializers.ListField(
        child=serializers.CharField(),
        help_text="What the reader noticed or chose (an ambiguous date, why it was not read).",
    )


class InvoiceReadingOutputSerializer(ModelSerializer):
    lines = serializers.ListField(
        child=serializers.DictField(allow_null=True),
        help_text="description, quantity, unit_price, amount (decimal strings or null)",
    )
    # Not "notes": in what the declarant reads, notes are officers' (kept out).
    reading_notes = serializers.ListField(child=serializers.CharField(), source="notes")

    class Meta:
        model = InvoiceReading
        fields = [
            "status", "invoice_number", "invoice_date", "seller", "buyer", "currency", "total",
            "lines", "reading_notes", "pages", "read_at",
        ]  # fmt: skip


class DocumentOutputSerializer(ModelSerializer):
    item = serializers.IntegerField(source="item.line_no", default=None)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id", "kind", "item", "original_name", "content_type", "size", "sha256",
            "uploaded_at", "url",
        ]  # fmt: skip

    def get_url(self, document) -> str:
        return f"/api/v1/declarations/{document.declaration_id}/documents/{document.pk}/"


class DeclarationListOutputSerializer(ModelSerializer):
    reference = serializers.CharField()

    class Meta:
        model = Declaration
        fields = [
            "id",
            "reference",
            "version",
            "type",
            "status",
            "lane",
            "invoice_number",
            "currency",
            "invoice_total",
            "created_at",
            "submitted_at",
        ]


class DeclarationExitSerializer(serializers.Serializer):
    """An export's way out, as its declarant reads it: released when, to leave by
    when, and once the office of exit confirmed it, when and on what it left."""

    office_of_exit = serializers.CharField()
    released_at = serializers.DateTimeField(allow_null=True)
    exit_due_by = serializers.DateTimeField(allow_null=True)
    exit_overdue = serializers.BooleanField()
    exited_at = serializers.DateTimeField(source="exit_confirmation.exited_at", allow_null=True)
    transport_mode = serializers.CharField(
        source="exit_confirmation.transport_mode", allow_null=True
    )
    transport_identity = serializers.CharField(
        source="exit_confirmation.transport_identity", allow_null=True
    )


class TransitGuaranteeSerializer(serializers.Serializer):
    reference = serializers.CharField()
    amount = serializers.CharField(help_text="The duties and taxes at stake it holds.")
    status = serializers.CharField(help_text="drawn (engaged), kept or released")


class TransitSerializer(serializers.Serializer):
    """A transit movement as its declarant follows it: where and by when, under which
    seals, what its guarantee holds. What officers found and noted stays with them."""

    deadline = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()
    seal_numbers = serializers.ListField(child=serializers.CharField())
    arrived_at = serializers.DateTimeField(allow_null=True)
    guarantee = TransitGuaranteeSerializer(allow_null=True)


class DeclarationDetailOutputSerializer(DeclarationListOutputSerializer):
    """A declaration as its declarant reads it: the lane and what to do next, never why
    (targeting is confidential), and the history in words."""

    items = ItemOutputSerializer(many=True)
    next_step = serializers.SerializerMethodField()
    reviews = ReviewSummarySerializer(many=True)
    documents = DocumentOutputSerializer(many=True)
    history = serializers.SerializerMethodField()
    duties = serializers.SerializerMethodField()
    previous_version = serializers.PrimaryKeyRelatedField(read_only=True)
    next_version = serializers.SerializerMethodField()
    payment = serializers.SerializerMethodField()
    invoice_check = serializers.SerializerMethodField()
    exit = serializers.SerializerMethodField()
    transit = serializers.SerializerMethodField()
    documents_owed = serializers.SerializerMethodField()

    class Meta(DeclarationListOutputSerializer.Meta):
        fields = [
            *DeclarationListOutputSerializer.Meta.fields,
            *[f for f in HEADER_FIELDS if f not in DeclarationListOutputSerializer.Meta.fields],
            "exchange_rate",
            "items",
            "duties",
            "payment",
            "released_at",
            "exit",
            "transit",
            "documents_owed",
            "next_step",
            "reviews",
            "documents",
            "invoice_check",
            "previous_version",
            "next_version",
            "history",
        ]

    @extend_schema_field(InvoiceCheckSerializer)
    def get_invoice_check(self, declaration) -> dict:
        # The declarant's own data, not targeting: every reader of the declaration sees it.
        return invoice_comparison(declaration).as_dict()

    def get_next_step(self, declaration) -> str:
        return next_step(declaration)

    @extend_schema_field(HistoryEntrySerializer(many=True))
    def get_history(self, declaration) -> list[dict]:
        return HistoryEntrySerializer(declarant_history(declaration), many=True).data

    def get_duties(self, declaration) -> dict | None:
        if declaration.duty_total is None:
            return None
        from django.conf import settings

        return {
            "currency": settings.NATIONAL_CURRENCY,
            "customs_value": str(declaration.customs_value_total),
            "duty": str(declaration.duty_total),
            "vat": str(declaration.vat_total),
            "reassessed": str(declaration.additional_due),
            "total": str(declaration.total_due),
            # In the administration's time zone, as the serializer's own fields are.
            "assessed_at": serializers.DateTimeField().to_representation(declaration.assessed_at)
            if declaration.assessed_at
            else None,
        }

    @extend_schema_field(ProvisionalOutputSerializer(allow_null=True))
    def get_documents_owed(self, declaration) -> dict | None:
        # A provisional relief declaration's documents to follow, and by when.
        provisional = provisional_of(declaration)
        return ProvisionalOutputSerializer(provisional).data if provisional else None

    @extend_schema_field(DeclarationExitSerializer(allow_null=True))
    def get_exit(self, declaration) -> dict | None:
        if declaration.type != Declaration.Type.EXPORT:
            return None
        return DeclarationExitSerializer(declaration).data

    @extend_schema_field(TransitSerializer(allow_null=True))
    def get_transit(self, declaration) -> dict | None:
        if not declaration.is_transit:
            return None
        draw = getattr(declaration, "guarantee_draw", None)
        arrival = getattr(declaration, "transit_arrival", None)
        return TransitSerializer(
            {
                "deadline": declaration.transit_deadline,
                "overdue": declaration.is_overdue,
                "seal_numbers": declaration.seal_numbers,
                "arrived_at": arrival.arrived_at if arrival else None,
                "guarantee": {
                    "reference": draw.guarantee.reference,
                    "amount": f"{draw.amount:.2f}",
                    "status": draw.status,
                }
                if draw
                else None,
            }
        ).data

    def get_next_version(self, declaration) -> int | None:
        following = getattr(declaration, "next_version", None)
        return following.pk if following else None

    def get_payment(self, declaration) -> dict | None:
        payment = getattr(declaration, "payment", None)
        if payment is None:
            return None
        return {
            "reference": payment.reference,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "status": payment.status,
            "receipt_number": payment.receipt_number,
            "bank_reference": payment.bank_reference or None,
            "paid_at": payment.paid_at,
            "confirmed_at": payment.confirmed_at,
        }


class DeclarationOfficialDetailOutputSerializer(DeclarationDetailOutputSerializer):
    """A declaration as an analyst or administrator reads it: with its lane decision,
    every lane change, and the audit trail as recorded."""

    lane_decision = serializers.SerializerMethodField()
    lane_changes = LaneChangeSerializer(many=True, source="lane_overrides")
    history = EventSerializer(many=True, source="events")

    class Meta(DeclarationDetailOutputSerializer.Meta):
        fields = [*DeclarationDetailOutputSerializer.Meta.fields, "lane_decision", "lane_changes"]

    @extend_schema_field(LaneDecisionSerializer(allow_null=True))
    def get_lane_decision(self, declaration) -> dict | None:
        decision = getattr(declaration, "lane_decision", None)
        return LaneDecisionSerializer(decision).data if decision else None

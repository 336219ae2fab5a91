from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agencies.models import Inspection, LaneChangeProposal, Permit, Query, Review
from declarations.models import Lane
from declarations.serializers import InvoiceCheckSerializer, ItemOutputSerializer


class ReviewListOutputSerializer(serializers.ModelSerializer):
    agency = serializers.CharField(source="agency.code")
    declaration = serializers.IntegerField(source="declaration_id")
    reference = serializers.CharField(source="declaration.reference")
    company = serializers.CharField(source="declaration.company.name")
    lane = serializers.CharField(source="declaration.lane")
    assigned_to = serializers.CharField(source="assigned_to.username", default=None)
    lane_fallback = serializers.SerializerMethodField(
        help_text="How a fallback decided the lane when the full risk engine could not: "
        "rules_only (the model left out), default_lane (the rules left out too); "
        "empty when the full engine decided"
    )

    class Meta:
        model = Review
        fields = [
            "id",
            "agency",
            "office",
            "declaration",
            "reference",
            "company",
            "lane",
            "lane_fallback",
            "status",
            "assigned_to",
            "opened_at",
            "decided_at",
        ]

    def get_lane_fallback(self, review) -> str:
        from agencies.selectors import lane_decision_fallback

        fallback = lane_decision_fallback(review.declaration)
        return fallback["kind"] if fallback else ""


class QueryOutputSerializer(serializers.ModelSerializer):
    review = serializers.IntegerField(source="review_id")
    agency = serializers.CharField(source="review.agency.code")
    declaration = serializers.IntegerField(source="review.declaration_id")
    asked_by = serializers.CharField(source="asked_by.username")
    answered_by = serializers.CharField(source="answered_by.username", default=None)

    class Meta:
        model = Query
        fields = [
            "id",
            "review",
            "agency",
            "declaration",
            "question",
            "asked_by",
            "asked_at",
            "answer",
            "answered_by",
            "answered_at",
        ]


class QueryDeclarantOutputSerializer(QueryOutputSerializer):
    """A query as the declarant reads it: asked by an agency, not by a named officer."""

    asked_by = serializers.SerializerMethodField()
    answered_by = serializers.SerializerMethodField()

    def get_asked_by(self, query) -> str:
        return self._name(query.asked_by, query)

    def get_answered_by(self, query) -> str | None:
        return self._name(query.answered_by, query) if query.answered_by_id else None

    def _name(self, user, query) -> str:
        from declarations.selectors import name_for_declarant

        return name_for_declarant(user, company_id=query.review.declaration.company_id)


class InspectionOutputSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username", default=None)
    items = serializers.SlugRelatedField(slug_field="line_no", many=True, read_only=True)

    class Meta:
        model = Inspection
        fields = [
            "id",
            "kind",
            "status",
            "ordered_at",
            "finding",
            "items",
            "revenue_difference",
            "notes",
            "recorded_by",
            "recorded_at",
        ]


class PermitOutputSerializer(serializers.ModelSerializer):
    """A permit as its holder reads it: what to cite, for which goods, until when."""

    agency = serializers.CharField(source="agency.code")
    holder = serializers.CharField(source="holder.name")
    holder_tax_id = serializers.CharField(source="holder.tax_id")

    class Meta:
        model = Permit
        fields = [
            "id", "agency", "number", "permit_type", "holder", "holder_tax_id", "hs_prefixes",
            "origin_countries", "valid_from", "valid_until", "issued_at", "status", "revoked_at",
            "revoke_reason",
        ]  # fmt: skip


class PermitStaffOutputSerializer(PermitOutputSerializer):
    """The issuing agency also reads who issued it and during which review."""

    issued_by = serializers.CharField(source="issued_by.username")
    review = serializers.IntegerField(source="review_id", default=None)

    class Meta(PermitOutputSerializer.Meta):
        fields = [*PermitOutputSerializer.Meta.fields, "issued_by", "review"]


class ReviewDetailOutputSerializer(ReviewListOutputSerializer):
    items = ItemOutputSerializer(many=True)
    risk_reasons = serializers.SerializerMethodField()
    decided_by = serializers.CharField(source="decided_by.username", default=None)
    queries = QueryOutputSerializer(many=True)
    inspections = InspectionOutputSerializer(many=True)
    permits = PermitStaffOutputSerializer(many=True)
    invoice_check = serializers.SerializerMethodField()

    class Meta(ReviewListOutputSerializer.Meta):
        fields = [
            *ReviewListOutputSerializer.Meta.fields,
            "decided_by",
            "automatic_basis",
            "conditions",
            "reason",
            "permits_required",
            "items",
            "risk_reasons",
            "queries",
            "inspections",
            "permits",
            "invoice_check",
        ]

    def get_risk_reasons(self, review) -> list[str]:
        from agencies.selectors import risk_reasons_for_review

        return risk_reasons_for_review(review, [item.line_no for item in review.items.all()])

    @extend_schema_field(InvoiceCheckSerializer)
    def get_invoice_check(self, review) -> dict:
        """The declaration against its invoice as the agency may see it: customs all of
        it, another agency its items' lines only."""
        from agencies.selectors import invoice_check_for_review

        lines = [item.line_no for item in review.items.all()]
        return invoice_check_for_review(review=review, slice_lines=lines).as_dict()


class QueueCountsSerializer(serializers.Serializer):
    active = serializers.IntegerField()
    open = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    queried = serializers.IntegerField()
    red = serializers.IntegerField()
    yellow = serializers.IntegerField()
    green = serializers.IntegerField()
    mine = serializers.IntegerField()


class ApproveInputSerializer(serializers.Serializer):
    conditions = serializers.CharField(required=False, allow_blank=True, default="")


class RejectInputSerializer(serializers.Serializer):
    reason = serializers.CharField()


class QueryInputSerializer(serializers.Serializer):
    question = serializers.CharField()


class AnswerInputSerializer(serializers.Serializer):
    answer = serializers.CharField()


class InspectionInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Inspection.Kind.choices)
    finding = serializers.ChoiceField(choices=Inspection.Finding.choices)
    revenue_difference = serializers.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, default=0
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    items = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        help_text="Line numbers of the items a discrepancy concerns.",
    )


class DetentionInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["seize", "release"])
    reason = serializers.CharField()


class PermitInputSerializer(serializers.Serializer):
    """A permit issued while reviewing: holder and goods come from the review."""

    permit_type = serializers.CharField(required=False, allow_blank=True, default="")
    valid_until = serializers.DateField()


class PermitIssueInputSerializer(serializers.Serializer):
    """A permit issued ahead of any declaration (agencies.services.PERMIT_FIELDS)."""

    holder_tax_id = serializers.CharField(max_length=32)
    permit_type = serializers.CharField(max_length=100)
    hs_prefixes = serializers.ListField(child=serializers.CharField(max_length=10))
    origin_countries = serializers.ListField(
        child=serializers.CharField(max_length=2), required=False, default=list
    )
    valid_from = serializers.DateField(required=False, allow_null=True, default=None)
    valid_until = serializers.DateField()
    number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class RevokeInputSerializer(serializers.Serializer):
    reason = serializers.CharField()


class LaneProposalOutputSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="declaration.reference", read_only=True)
    proposed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = LaneChangeProposal
        fields = [
            "id",
            "declaration",
            "reference",
            "status",
            "from_lane",
            "to_lane",
            "reason",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]


class LaneProposalRefuseInputSerializer(serializers.Serializer):
    reason = serializers.CharField()


class LaneOverrideInputSerializer(serializers.Serializer):
    lane = serializers.ChoiceField(choices=Lane.choices)
    reason = serializers.CharField()

from rest_framework import serializers

from agencies.models import Inspection, LaneChangeProposal, Permit, Query, Review
from declarations.models import Lane
from declarations.serializers import ItemOutputSerializer


class ReviewListOutputSerializer(serializers.ModelSerializer):
    agency = serializers.CharField(source="agency.code")
    declaration = serializers.IntegerField(source="declaration_id")
    reference = serializers.CharField(source="declaration.reference")
    company = serializers.CharField(source="declaration.company.name")
    lane = serializers.CharField(source="declaration.lane")
    assigned_to = serializers.CharField(source="assigned_to.username", default=None)

    class Meta:
        model = Review
        fields = [
            "id",
            "agency",
            "declaration",
            "reference",
            "company",
            "lane",
            "status",
            "assigned_to",
            "opened_at",
            "decided_at",
        ]


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


class InspectionOutputSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username", default=None)

    class Meta:
        model = Inspection
        fields = [
            "id",
            "kind",
            "status",
            "ordered_at",
            "finding",
            "revenue_difference",
            "notes",
            "recorded_by",
            "recorded_at",
        ]


class PermitOutputSerializer(serializers.ModelSerializer):
    issued_by = serializers.CharField(source="issued_by.username")

    class Meta:
        model = Permit
        fields = ["id", "permit_type", "number", "issued_by", "issued_at", "valid_until"]


class ReviewDetailOutputSerializer(ReviewListOutputSerializer):
    items = ItemOutputSerializer(many=True)
    risk_reasons = serializers.SerializerMethodField()
    decided_by = serializers.CharField(source="decided_by.username", default=None)
    queries = QueryOutputSerializer(many=True)
    inspections = InspectionOutputSerializer(many=True)
    permits = PermitOutputSerializer(many=True)

    class Meta(ReviewListOutputSerializer.Meta):
        fields = [
            *ReviewListOutputSerializer.Meta.fields,
            "decided_by",
            "conditions",
            "reason",
            "permits_required",
            "items",
            "risk_reasons",
            "queries",
            "inspections",
            "permits",
        ]

    def get_risk_reasons(self, review) -> list[str]:
        from agencies.selectors import risk_reasons_for_review

        return risk_reasons_for_review(review, [item.line_no for item in review.items.all()])


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


class PermitInputSerializer(serializers.Serializer):
    permit_type = serializers.CharField(required=False, allow_blank=True, default="")
    valid_until = serializers.DateField()


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

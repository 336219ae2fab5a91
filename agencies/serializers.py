from rest_framework import serializers

from agencies.models import Review
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


class ReviewDetailOutputSerializer(ReviewListOutputSerializer):
    items = ItemOutputSerializer(many=True)
    risk_reasons = serializers.SerializerMethodField()

    class Meta(ReviewListOutputSerializer.Meta):
        fields = [*ReviewListOutputSerializer.Meta.fields, "items", "risk_reasons"]

    def get_risk_reasons(self, review) -> list[str]:
        decision = getattr(review.declaration, "lane_decision", None)
        return [reason["text"] for reason in decision.reasons] if decision else []

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from declarations.models import Declaration, TransitArrival

MONEY = {"max_digits": 18, "decimal_places": 2}


class MovementGuaranteeSerializer(serializers.Serializer):
    reference = serializers.CharField(source="guarantee.reference")
    amount = serializers.DecimalField(**MONEY)
    status = serializers.CharField()


class ArrivalOutputSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username")
    controlled_by = serializers.CharField(source="controlled_by.username", default=None)
    resolved_by = serializers.CharField(source="resolved_by.username", default=None)

    class Meta:
        model = TransitArrival
        fields = [
            "arrived_at", "recorded_by", "recorded_at", "seals_intact", "seal_numbers_found",
            "discrepancies", "control_result", "control_notes", "controlled_by", "controlled_at",
            "resolution", "resolved_by", "resolved_at",
        ]  # fmt: skip


class MovementOutputSerializer(serializers.ModelSerializer):
    """A transit movement as the customs officers of its offices read it."""

    reference = serializers.CharField()
    company = serializers.CharField(source="company.name")
    overdue = serializers.BooleanField(source="is_overdue")
    guarantee = serializers.SerializerMethodField()
    arrival = serializers.SerializerMethodField()
    findings = serializers.SerializerMethodField()

    class Meta:
        model = Declaration
        fields = [
            "id", "reference", "status", "lane", "company", "office_of_departure",
            "office_of_destination", "itinerary", "transit_days", "transit_deadline", "overdue",
            "transit_overdue_at", "seal_numbers", "destination_inspection_required",
            "guarantee_reference", "guarantee", "arrival", "findings",
        ]  # fmt: skip

    @extend_schema_field(MovementGuaranteeSerializer(allow_null=True))
    def get_guarantee(self, movement) -> dict | None:
        draw = getattr(movement, "guarantee_draw", None)
        return MovementGuaranteeSerializer(draw).data if draw else None

    @extend_schema_field(ArrivalOutputSerializer(allow_null=True))
    def get_arrival(self, movement) -> dict | None:
        arrival = getattr(movement, "transit_arrival", None)
        return ArrivalOutputSerializer(arrival).data if arrival else None

    def get_findings(self, movement) -> list[str]:
        arrival = getattr(movement, "transit_arrival", None)
        return arrival.findings(movement) if arrival else []


class ReleaseInputSerializer(serializers.Serializer):
    seal_numbers = serializers.ListField(
        child=serializers.CharField(max_length=32),
        allow_empty=False,
        max_length=100,
        help_text="Every seal put on the means of transport.",
    )


class ArrivalInputSerializer(serializers.Serializer):
    arrived_at = serializers.DateTimeField()
    seals_intact = serializers.BooleanField()
    seal_numbers_found = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, default=list, max_length=100
    )
    discrepancies = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000
    )


class ControlInputSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=TransitArrival.ControlResult.choices)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)

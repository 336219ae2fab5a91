from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from declarations.models import Declaration, DeclarationEvent, Item


class ItemInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = [
            "hs_code",
            "description",
            "origin_country",
            "quantity",
            "unit",
            "net_mass_kg",
            "value",
        ]
        # Domain validation (codes, bounds) runs in the service, once for page and API.
        extra_kwargs = {f: {"validators": []} for f in fields}


class DeclarationInputSerializer(serializers.ModelSerializer):
    items = ItemInputSerializer(many=True, allow_empty=False)

    class Meta:
        model = Declaration
        fields = [
            "type",
            "procedure",
            "country_of_export",
            "country_of_destination",
            "office_of_entry",
            "transport_mode",
            "transport_document",
            "invoice_number",
            "currency",
            "invoice_total",
            "items",
        ]
        extra_kwargs = {f: {"validators": []} for f in fields if f != "items"}


class ItemOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["line_no", *ItemInputSerializer.Meta.fields]


class LaneDecisionSerializer(serializers.Serializer):
    lane = serializers.CharField()
    score = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.DictField())
    rule_set_version = serializers.CharField()
    model_version = serializers.CharField()
    decided_at = serializers.DateTimeField()


class ReviewSummarySerializer(serializers.Serializer):
    agency = serializers.CharField(source="agency.code")
    agency_name = serializers.CharField(source="agency.name")
    status = serializers.CharField()


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)

    class Meta:
        model = DeclarationEvent
        fields = ["seq", "at", "actor", "action", "from_status", "to_status", "reason", "hash"]


class DeclarationListOutputSerializer(serializers.ModelSerializer):
    reference = serializers.CharField()

    class Meta:
        model = Declaration
        fields = [
            "id",
            "reference",
            "type",
            "status",
            "lane",
            "invoice_number",
            "currency",
            "invoice_total",
            "created_at",
            "submitted_at",
        ]


class DeclarationDetailOutputSerializer(DeclarationListOutputSerializer):
    items = ItemOutputSerializer(many=True)
    lane_decision = serializers.SerializerMethodField()
    reviews = ReviewSummarySerializer(many=True)
    history = EventSerializer(many=True, source="events")

    class Meta(DeclarationListOutputSerializer.Meta):
        fields = [
            *DeclarationListOutputSerializer.Meta.fields,
            "procedure",
            "country_of_export",
            "country_of_destination",
            "office_of_entry",
            "transport_mode",
            "transport_document",
            "items",
            "lane_decision",
            "reviews",
            "history",
        ]

    @extend_schema_field(LaneDecisionSerializer(allow_null=True))
    def get_lane_decision(self, declaration) -> dict | None:
        decision = getattr(declaration, "lane_decision", None)
        return LaneDecisionSerializer(decision).data if decision else None

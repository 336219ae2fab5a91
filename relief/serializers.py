from rest_framework import serializers

from agencies.models import Inspection
from core.serializers import ModelSerializer
from relief.models import (
    JointInspection,
    JointInspectionAgency,
    OwedDocument,
    ProvisionalDeclaration,
)


class OwedDocumentOutputSerializer(ModelSerializer):
    item = serializers.IntegerField(source="item.line_no", default=None)
    agency = serializers.CharField(source="agency.code", default=None)
    supplied = serializers.BooleanField(source="is_supplied")
    document = serializers.IntegerField(source="document_id", allow_null=True)

    class Meta:
        model = OwedDocument
        fields = [
            "id", "kind", "item", "agency", "permit_type", "description", "supplied",
            "reference", "supplied_at", "document",
        ]  # fmt: skip


class ProvisionalOutputSerializer(ModelSerializer):
    """A provisional relief declaration's documents to follow: by when, and each one."""

    emergency = serializers.CharField(source="emergency.name")
    documents = OwedDocumentOutputSerializer(many=True)

    class Meta:
        model = ProvisionalDeclaration
        fields = ["status", "emergency", "due_at", "overdue_at", "completed_at", "documents"]


class OwedDocumentSupplyInputSerializer(serializers.Serializer):
    reference = serializers.CharField(
        max_length=64,
        help_text="The document's number: the permit's, the invoice's, the B/L or AWB, the "
        "certificate's.",
    )
    file = serializers.FileField(
        required=False, help_text="The document itself (PDF, PNG or JPEG), if you have it."
    )


class JointInspectionAgencyOutputSerializer(ModelSerializer):
    agency = serializers.CharField(source="agency.code")
    agency_name = serializers.CharField(source="agency.name")
    review = serializers.IntegerField(source="review_id")
    officers = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    inspection = serializers.IntegerField(source="inspection_id", allow_null=True)

    class Meta:
        model = JointInspectionAgency
        fields = ["agency", "agency_name", "review", "officers", "inspection"]


class JointInspectionOutputSerializer(ModelSerializer):
    """A joint inspection as the officers taking part read it (never the declarant)."""

    declaration = serializers.IntegerField(source="declaration_id")
    reference = serializers.CharField(source="declaration.reference")
    declarant = serializers.CharField(source="declaration.company.name")
    participants = JointInspectionAgencyOutputSerializer(many=True)
    booked_by = serializers.CharField(source="booked_by.username", default=None)
    recorded_by = serializers.CharField(source="recorded_by.username", default=None)
    items = serializers.SlugRelatedField(slug_field="line_no", many=True, read_only=True)

    class Meta:
        model = JointInspection
        fields = [
            "id", "declaration", "reference", "declarant", "office", "status", "offered_at",
            "scheduled_at", "place", "booked_by", "booked_at", "participants", "finding",
            "items", "revenue_difference", "notes", "recorded_by", "recorded_at",
            "cancel_reason",
        ]  # fmt: skip


class JointInspectionBookInputSerializer(serializers.Serializer):
    scheduled_at = serializers.DateTimeField(help_text="When, ISO 8601 (in the future).")
    place = serializers.CharField(max_length=200, help_text="Terminal, warehouse, berth...")
    agencies = serializers.ListField(
        child=serializers.CharField(max_length=16),
        help_text="Codes of the agencies taking part (at least two, yours among them).",
    )
    officers = serializers.ListField(
        child=serializers.CharField(max_length=150),
        required=False,
        default=list,
        help_text="Usernames of the officers sent, of the agencies taking part, posted at "
        "the office.",
    )


class JointInspectionRecordInputSerializer(serializers.Serializer):
    finding = serializers.ChoiceField(choices=Inspection.Finding.choices)
    items = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        help_text="Line numbers of the items a discrepancy concerns.",
    )
    revenue_difference = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Duties and taxes to add (customs officers only).",
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")

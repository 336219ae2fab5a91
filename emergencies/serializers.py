from rest_framework import serializers

from emergencies.models import Emergency, EmergencyProposal, HumanitarianConsignee
from emergencies.services import CONSIGNEE_FIELDS, EMERGENCY_FIELDS
from reference.models import Office

# What an administrator may decide of a humanitarian consignee.
CONSIGNEE_DECISIONS = [
    HumanitarianConsignee.Status.APPROVED,
    HumanitarianConsignee.Status.REFUSED,
    HumanitarianConsignee.Status.SUSPENDED,
]
MEASURE_FIELDS = [
    "priority", "lower_lane", "duty_relief", "documents_may_follow", "documents_within_days",
]  # fmt: skip


class OfficeRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Office
        fields = ["code", "name"]


class EmergencyInForceOutputSerializer(serializers.ModelSerializer):
    """What anyone signed in may know of an emergency in force: its name, period, area,
    listed goods and relief measures (never who proposed it or why)."""

    offices = OfficeRefSerializer(many=True)
    measures = serializers.ListField(
        child=serializers.CharField(), help_text="The relief measures, as a declarant reads them."
    )

    class Meta:
        model = Emergency
        fields = [
            "id", "name", "starts_at", "ends_at", "offices", "hs_prefixes", "measures",
            *MEASURE_FIELDS,
        ]  # fmt: skip


class EmergencyProposalOutputSerializer(serializers.ModelSerializer):
    emergency = serializers.IntegerField(source="emergency_id")
    emergency_name = serializers.CharField(source="emergency.name")
    proposed_by = serializers.CharField(source="proposed_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None)
    ends_at = serializers.DateTimeField(
        help_text="The end the emergency gets once approved (declare, extend); for an end, "
        "the planned end it is brought forward from."
    )

    class Meta:
        model = EmergencyProposal
        fields = [
            "id", "emergency", "emergency_name", "kind", "status", "ends_at", "reason",
            "proposed_by", "proposed_at", "decided_by", "decided_at", "decision_note",
        ]  # fmt: skip


class EmergencyOutputSerializer(serializers.ModelSerializer):
    offices = OfficeRefSerializer(many=True)
    in_force = serializers.SerializerMethodField()
    measures = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Emergency
        fields = [
            "id", "name", "description", "status", "in_force", "starts_at", "ends_at",
            "offices", "hs_prefixes", "measures", *MEASURE_FIELDS, "created_at",
        ]  # fmt: skip

    def get_in_force(self, emergency) -> bool:
        return emergency.is_in_force()


class EmergencyDetailOutputSerializer(EmergencyOutputSerializer):
    proposals = EmergencyProposalOutputSerializer(
        many=True, help_text="Its history: every proposal to declare, extend or end it."
    )

    class Meta(EmergencyOutputSerializer.Meta):
        fields = [*EmergencyOutputSerializer.Meta.fields, "proposals"]


class EmergencyDeclareInputSerializer(serializers.ModelSerializer):
    # The service cleans and checks the prefixes (dots and spaces dropped: "8421.21").
    hs_prefixes = serializers.ListField(
        child=serializers.CharField(max_length=14),
        allow_empty=False,
        help_text="Listed goods: HS chapters, headings or subheadings (2 to 10 digits).",
    )
    office_codes = serializers.ListField(
        child=serializers.CharField(max_length=5),
        allow_empty=False,
        help_text="The offices of entry it covers (UN/LOCODE, `GET /api/v1/offices/`).",
    )
    reason = serializers.CharField(max_length=1000)

    class Meta:
        model = Emergency
        fields = [*EMERGENCY_FIELDS, "office_codes", "reason"]

    def validate(self, data):
        if data["ends_at"] <= data["starts_at"]:
            raise serializers.ValidationError(
                {"ends_at": "The emergency must end after it starts."}
            )
        return data


class EmergencyExtendInputSerializer(serializers.Serializer):
    ends_at = serializers.DateTimeField(help_text="The new end, after the present one.")
    reason = serializers.CharField(max_length=1000)


class ConsigneeOutputSerializer(serializers.ModelSerializer):
    company = serializers.CharField(source="company.name")
    company_tax_id = serializers.CharField(source="company.tax_id")
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None)

    class Meta:
        model = HumanitarianConsignee
        fields = [
            "id", "company", "company_tax_id", "kind", "mission", "status", "requested_by",
            "requested_at", "decided_by", "decided_at", "decision_note",
        ]  # fmt: skip


class ConsigneeRegisterInputSerializer(serializers.ModelSerializer):
    company_tax_id = serializers.CharField(
        max_length=32,
        required=False,
        default="",
        help_text="Administrators: the company registered. A trader registers their own "
        "company and leaves it out.",
    )

    class Meta:
        model = HumanitarianConsignee
        fields = [*CONSIGNEE_FIELDS, "company_tax_id"]


class ConsigneeDecideInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=CONSIGNEE_DECISIONS,
        help_text="approved (or reinstated, when suspended), refused, or suspended.",
    )
    note = serializers.CharField(
        max_length=1000, required=False, default="", help_text="Why: needed to refuse or suspend."
    )


class ReliefEmergencySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    ends_at = serializers.DateTimeField()


class ReliefCheckOutputSerializer(serializers.Serializer):
    """Whether a declaration, lodged now, would be a relief consignment of an emergency in
    force: the measures it gets, or what keeps it from being one."""

    emergency = ReliefEmergencySerializer(
        help_text="The emergency it qualifies under, or the one it comes closest to."
    )
    relief = serializers.BooleanField(help_text="Whether it is a relief consignment.")
    measures = serializers.ListField(
        child=serializers.CharField(), help_text="The relief measures it gets."
    )
    problems = serializers.ListField(
        child=serializers.CharField(), help_text="Why it is not a relief consignment."
    )

from decimal import Decimal

from rest_framework import serializers

from declarations.models import Declaration
from supplies.models import (
    PreNotification,
    PreNotificationEvent,
    PreNotificationLine,
    SupplyNeed,
    SupplyPledge,
    SupplyRegisterEntry,
)
from supplies.services import MAX_LINES

QUANTITY = {"max_digits": 16, "decimal_places": 3}
POSITIVE = {**QUANTITY, "min_value": Decimal("0.001")}


# ---- Pre-notification ----------------------------------------------------------------------


class PreNotificationLineSerializer(serializers.ModelSerializer):
    hs_code = serializers.CharField(max_length=12, help_text="HS code: 6 digits, up to 10.")
    quantity = serializers.DecimalField(**POSITIVE)
    unit = serializers.CharField(max_length=3, help_text="UN/ECE Recommendation 20: NAR, KGM...")

    class Meta:
        model = PreNotificationLine
        fields = ["hs_code", "description", "quantity", "unit"]


class PreNotificationInputSerializer(serializers.Serializer):
    emergency = serializers.IntegerField(help_text="The emergency in force the relief is for.")
    consignee_tax_id = serializers.CharField(
        max_length=32, help_text="Tax id of the approved humanitarian consignee."
    )
    office = serializers.CharField(
        max_length=8, help_text="UN/LOCODE of the office of entry (one the emergency covers)."
    )
    sender_name = serializers.CharField(max_length=200, help_text="The sending agency or donor.")
    sender_country = serializers.CharField(max_length=2, help_text="ISO 3166 alpha-2 code.")
    transport_mode = serializers.ChoiceField(choices=Declaration.TransportMode.choices)
    transport_document = serializers.CharField(
        max_length=64,
        help_text="B/L or air waybill number: the declaration that follows is matched on it "
        "and the consignee.",
    )
    expected_arrival = serializers.DateTimeField()
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    lines = PreNotificationLineSerializer(many=True, min_length=1, max_length=MAX_LINES)


class PreNotificationEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)

    class Meta:
        model = PreNotificationEvent
        fields = ["at", "from_status", "to_status", "actor", "note"]


class PreNotificationOutputSerializer(serializers.ModelSerializer):
    """A pre-notification as who may see it reads it: the goods lines are those the
    reader's agency regulates (every line for customs, administrators and traders)."""

    emergency = serializers.IntegerField(source="emergency_id")
    emergency_name = serializers.CharField(source="emergency.name")
    consignee = serializers.CharField(source="consignee.company.name")
    consignee_tax_id = serializers.CharField(source="consignee.company.tax_id")
    office = serializers.CharField(source="office_id")
    filed_by = serializers.CharField(source="filed_by.username")
    declaration = serializers.CharField(
        source="declaration.reference",
        default=None,
        help_text="Reference of the declaration it was matched to, once declared.",
    )
    overdue = serializers.BooleanField(
        source="is_overdue", help_text="Still on its way past the expected arrival."
    )
    lines = PreNotificationLineSerializer(many=True)

    class Meta:
        model = PreNotification
        fields = [
            "id", "reference", "status", "emergency", "emergency_name", "consignee",
            "consignee_tax_id", "office", "sender_name", "sender_country", "transport_mode",
            "transport_document", "expected_arrival", "overdue", "notes", "filed_by",
            "filed_at", "declaration", "matched_at", "lines",
        ]  # fmt: skip


class PreNotificationDetailOutputSerializer(PreNotificationOutputSerializer):
    differences = serializers.ListField(
        child=serializers.CharField(),
        help_text="Officers and administrators: where the declaration departs from what was "
        "announced (goods by HS subheading and unit, office, transport, relief). Never a "
        "reason to refuse it. Empty for traders.",
    )
    events = PreNotificationEventSerializer(many=True, source="history")

    class Meta(PreNotificationOutputSerializer.Meta):
        fields = [*PreNotificationOutputSerializer.Meta.fields, "differences", "events"]


# ---- Critical supplies register ------------------------------------------------------------


class NeedOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = SupplyNeed
        fields = ["id", "hs_prefix", "label", "target_quantity", "unit", "active", "updated_at"]


class NeedInputSerializer(serializers.Serializer):
    hs_prefix = serializers.CharField(
        max_length=12, help_text="HS chapter, heading or subheading: 2 to 10 digits."
    )
    label = serializers.CharField(max_length=120)
    target_quantity = serializers.DecimalField(**POSITIVE)
    unit = serializers.CharField(max_length=3, help_text="UN/ECE Recommendation 20 code.")


class NeedChangeInputSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=120, required=False)
    target_quantity = serializers.DecimalField(**POSITIVE, required=False)


class PledgeInputSerializer(serializers.Serializer):
    need = serializers.IntegerField(help_text="The need (of this emergency) it is pledged against.")
    partner_administration = serializers.CharField(max_length=200)
    partner_country = serializers.CharField(max_length=2, help_text="ISO 3166 alpha-2 code.")
    quantity = serializers.DecimalField(**POSITIVE, help_text="In the need's unit.")
    expected_on = serializers.DateField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PledgeStatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[SupplyPledge.Status.DELIVERED.value, SupplyPledge.Status.WITHDRAWN.value]
    )


class PledgeOutputSerializer(serializers.ModelSerializer):
    need = serializers.IntegerField(source="need_id")
    need_label = serializers.CharField(source="need.label")
    unit = serializers.CharField(source="need.unit")
    recorded_by = serializers.CharField(source="recorded_by.username")

    class Meta:
        model = SupplyPledge
        fields = [
            "id", "need", "need_label", "partner_administration", "partner_country", "quantity",
            "unit", "expected_on", "status", "note", "recorded_by", "recorded_at",
        ]  # fmt: skip


class ReceivedByOriginSerializer(serializers.Serializer):
    country = serializers.CharField(help_text="Country of origin of the goods (ISO 3166).")
    quantity = serializers.DecimalField(**QUANTITY)
    consignments = serializers.IntegerField()
    last_released_at = serializers.DateTimeField()


class ReceivedByConsigneeSerializer(serializers.Serializer):
    name = serializers.CharField()
    tax_id = serializers.CharField()
    quantity = serializers.DecimalField(**QUANTITY)
    consignments = serializers.IntegerField()
    last_released_at = serializers.DateTimeField()


class NeedProgressSerializer(serializers.Serializer):
    need = NeedOutputSerializer()
    target_quantity = serializers.DecimalField(**QUANTITY, source="need.target_quantity")
    received_quantity = serializers.DecimalField(
        **QUANTITY, source="received", help_text="From released relief consignments."
    )
    percent_of_target = serializers.DecimalField(max_digits=12, decimal_places=1, source="percent")
    still_needed = serializers.DecimalField(**QUANTITY)
    consignments = serializers.IntegerField()
    last_released_at = serializers.DateTimeField(allow_null=True)
    pledged_quantity = serializers.DecimalField(
        **QUANTITY, source="pledged", help_text="Pledged by partners, not delivered yet."
    )
    pledged_delivered_quantity = serializers.DecimalField(**QUANTITY, source="pledged_delivered")
    by_origin = ReceivedByOriginSerializer(many=True)
    by_consignee = ReceivedByConsigneeSerializer(many=True)


class OtherGoodsSerializer(serializers.Serializer):
    hs_code = serializers.CharField()
    unit = serializers.CharField()
    quantity = serializers.DecimalField(**QUANTITY)
    consignments = serializers.IntegerField()
    last_released_at = serializers.DateTimeField()


class RegisterChangeSerializer(serializers.ModelSerializer):
    need = serializers.IntegerField(source="need_id")
    need_label = serializers.CharField(source="need.label")
    pledge = serializers.IntegerField(source="pledge_id", allow_null=True)
    actor = serializers.CharField(source="actor.username")
    before = serializers.DictField()
    after = serializers.DictField()

    class Meta:
        model = SupplyRegisterEntry
        fields = ["at", "action", "need", "need_label", "pledge", "actor", "before", "after"]


class SupplyRegisterSerializer(serializers.Serializer):
    emergency = serializers.IntegerField(source="emergency.pk")
    emergency_name = serializers.CharField(source="emergency.name")
    needs = NeedProgressSerializer(many=True)
    removed_needs = NeedProgressSerializer(many=True, source="removed")
    other_goods = OtherGoodsSerializer(
        many=True, help_text="Released relief goods that no need covers (HS code, unit)."
    )
    pledges = PledgeOutputSerializer(many=True)
    changes = RegisterChangeSerializer(
        many=True, help_text="The latest changes to needs and pledges: who, when, from, to."
    )


class ReliefItemSerializer(serializers.Serializer):
    line_no = serializers.IntegerField()
    hs_code = serializers.CharField()
    description = serializers.CharField()
    origin_country = serializers.CharField()
    quantity = serializers.DecimalField(**QUANTITY)
    unit = serializers.CharField()
    need = serializers.IntegerField(
        allow_null=True, help_text="The need of the register the line counts against."
    )


class ReliefConsignmentSerializer(serializers.Serializer):
    """Who sent what, where, when: a released relief consignment as the humanitarian
    coordination reads it (no duties, lanes or controls)."""

    reference = serializers.CharField()
    consignee = serializers.CharField()
    consignee_tax_id = serializers.CharField()
    sender = serializers.CharField(help_text="Consignor (or exporter) named on the declaration.")
    sender_country = serializers.CharField(help_text="Country of export (ISO 3166).")
    office_of_entry = serializers.CharField()
    transport_mode = serializers.CharField()
    transport_document = serializers.CharField()
    lodged_at = serializers.DateTimeField(source="submitted_at")
    released_at = serializers.DateTimeField()
    prenotification = serializers.CharField(
        allow_null=True, help_text="The pre-notification it followed, if one was filed."
    )
    items = ReliefItemSerializer(many=True)

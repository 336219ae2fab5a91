from decimal import Decimal

from rest_framework import serializers

from guarantees.models import Guarantee, GuaranteeDraw, GuaranteeProposal

MONEY = {"max_digits": 18, "decimal_places": 2}


class GuaranteeDrawOutputSerializer(serializers.ModelSerializer):
    declaration = serializers.IntegerField(source="declaration_id")
    reference = serializers.CharField(source="declaration.reference")

    class Meta:
        model = GuaranteeDraw
        fields = ["declaration", "reference", "amount", "status", "drawn_at", "kept_at"]


class GuaranteeOutputSerializer(serializers.ModelSerializer):
    """A guarantee as its holder and customs read it: what it covers and what is left."""

    company = serializers.CharField(source="company.name")
    company_tax_id = serializers.CharField(source="company.tax_id")
    engaged = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = Guarantee
        fields = [
            "id", "reference", "company", "company_tax_id", "status", "currency", "amount",
            "balance", "engaged", "valid_from", "valid_until",
        ]  # fmt: skip


class GuaranteeDetailOutputSerializer(GuaranteeOutputSerializer):
    draws = GuaranteeDrawOutputSerializer(many=True, source="engaged_draws")

    class Meta(GuaranteeOutputSerializer.Meta):
        fields = [*GuaranteeOutputSerializer.Meta.fields, "draws"]


class GuaranteeProposalOutputSerializer(serializers.ModelSerializer):
    guarantee = serializers.IntegerField(source="guarantee_id")
    reference = serializers.CharField(source="guarantee.reference")
    company = serializers.CharField(source="guarantee.company.name")
    current_amount = serializers.DecimalField(**MONEY, source="guarantee.amount", read_only=True)
    proposed_by = serializers.CharField(source="proposed_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None)

    class Meta:
        model = GuaranteeProposal
        fields = [
            "id", "guarantee", "reference", "company", "kind", "status", "amount",
            "current_amount", "reason", "proposed_by", "proposed_at", "decided_by", "decided_at",
            "decision_note",
        ]  # fmt: skip


class GuaranteeProposeInputSerializer(serializers.Serializer):
    company_tax_id = serializers.CharField(max_length=32, help_text="The holder's tax id.")
    reference = serializers.CharField(max_length=35, help_text="The surety's reference.")
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    reason = serializers.CharField(max_length=1000)

    def validate(self, data):
        if data["valid_until"] < data["valid_from"]:
            raise serializers.ValidationError(
                {"valid_until": "The guarantee must end after it begins."}
            )
        return data


class GuaranteeRaiseInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        **MONEY, min_value=Decimal("0.01"), help_text="The new amount of the guarantee, in all."
    )
    reason = serializers.CharField(max_length=1000)

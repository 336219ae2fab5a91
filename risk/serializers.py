from rest_framework import serializers

from declarations.models import Lane
from risk.models import (
    ConfigAuditEntry,
    ModelVersion,
    RiskJob,
    RiskSettings,
    RiskSettingsProposal,
    RuleSet,
    SelectivityRule,
)


class ConditionSerializer(serializers.Serializer):
    field = serializers.CharField()
    op = serializers.CharField()
    value = serializers.JSONField()


class RuleInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    hs_prefix = serializers.CharField(max_length=10, required=False, allow_blank=True)
    origin_country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    min_item_value = serializers.DecimalField(
        max_digits=18, decimal_places=2, required=False, allow_null=True
    )
    conditions = ConditionSerializer(many=True, required=False)
    score = serializers.IntegerField(required=False)
    force_lane = serializers.ChoiceField(choices=Lane.choices, required=False, allow_blank=True)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)
    valid_from = serializers.DateTimeField(required=False, allow_null=True)
    valid_to = serializers.DateTimeField(required=False, allow_null=True)
    active = serializers.BooleanField(required=False)


class RuleOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = SelectivityRule
        fields = [
            "id",
            "rule_set",
            "name",
            "hs_prefix",
            "origin_country",
            "min_item_value",
            "conditions",
            "score",
            "force_lane",
            "note",
            "valid_from",
            "valid_to",
            "active",
        ]


class RuleSetOutputSerializer(serializers.ModelSerializer):
    rules = RuleOutputSerializer(many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    submitted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = RuleSet
        fields = [
            "id",
            "version",
            "status",
            "note",
            "based_on",
            "created_by",
            "created_at",
            "submitted_by",
            "submitted_at",
            "approved_by",
            "published_at",
            "sent_back_reason",
            "rules",
        ]


class RuleSetInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)
    based_on = serializers.PrimaryKeyRelatedField(
        queryset=RuleSet.objects.all(), required=False, allow_null=True
    )


class RiskSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = RiskSettings
        fields = [
            "yellow_from",
            "red_from",
            "random_yellow_rate",
            "random_red_rate",
            "expected_yellow_share",
            "expected_red_share",
            "model_enabled",
            "model_weight",
            "fallback_lane",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]


class RiskSettingsProposalInputSerializer(RiskSettingsSerializer):
    reason = serializers.CharField()

    class Meta(RiskSettingsSerializer.Meta):
        fields = [*RiskSettingsSerializer.Meta.fields, "reason"]
        # The service checks the whole set of values, with the current ones filled in.
        validators = []


class RiskSettingsProposalOutputSerializer(serializers.ModelSerializer):
    proposed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = RiskSettingsProposal
        fields = [
            "id",
            "status",
            "values",
            "reason",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]


class ConfigAuditEntryOutputSerializer(serializers.ModelSerializer):
    proposed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ConfigAuditEntry
        fields = [
            "id",
            "at",
            "action",
            "subject",
            "proposed_by",
            "decided_by",
            "reason",
            "before",
            "after",
        ]


class ModelVersionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "version",
            "status",
            "sha256",
            "size_bytes",
            "training",
            "metrics",
            "live_metrics",
            "note",
            "created_at",
            "promoted_at",
        ]


class JobOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = RiskJob
        fields = [
            "id",
            "kind",
            "status",
            "params",
            "progress",
            "message",
            "result",
            "created_at",
            "finished_at",
        ]


class ReplayInputSerializer(serializers.Serializer):
    rule_set = serializers.IntegerField()
    model_version = serializers.IntegerField(required=False, allow_null=True)
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    seed = serializers.IntegerField(required=False, min_value=0)


class CriterionOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    level = serializers.CharField()
    type = serializers.CharField()
    operators = serializers.ListField(child=serializers.CharField())
    choices = serializers.ListField(child=serializers.CharField())

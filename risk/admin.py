from django.contrib import admin

from risk.models import (
    LaneDecision,
    ModelVersion,
    RiskSettings,
    RuleSet,
    SelectivityRule,
    TrainingRecord,
)


@admin.register(SelectivityRule)
class SelectivityRuleAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "hs_prefix",
        "origin_country",
        "min_item_value",
        "score",
        "force_lane",
        "active",
    ]
    list_filter = ["active", "force_lane"]


@admin.register(RiskSettings)
class RiskSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "updated_at"]


@admin.register(LaneDecision)
class LaneDecisionAdmin(admin.ModelAdmin):
    list_display = ["declaration", "lane", "score", "rule_set_version", "decided_at", "duration_ms"]
    list_filter = ["lane"]
    raw_id_fields = ["declaration"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    list_display = ["version", "status", "note", "created_at", "published_at"]
    list_filter = ["status"]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "status", "size_bytes", "created_at", "promoted_at", "note"]
    list_filter = ["status"]
    exclude = ["artifact"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TrainingRecord)
class TrainingRecordAdmin(admin.ModelAdmin):
    list_display = ["source", "source_ref", "date", "hs6", "origin_country", "value", "fraud"]
    list_filter = ["source", "fraud"]
    raw_id_fields = ["declaration"]

    def has_change_permission(self, request, obj=None):
        return False

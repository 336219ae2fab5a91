from django.contrib import admin

from risk.models import LaneDecision, RiskSettings, SelectivityRule


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

from django.contrib import admin

from core.admin import ReadOnlyAdmin, ServiceAdmin
from risk.forms import RuleForm
from risk.models import (
    ConfigAuditEntry,
    LaneDecision,
    ModelVersion,
    RiskSettings,
    RiskSettingsProposal,
    RuleSet,
    ScoringFault,
    SelectivityRule,
    TrainingRecord,
)
from risk.services import (
    SETTINGS_FIELDS,
    rule_create,
    rule_delete,
    rule_update,
)


@admin.register(SelectivityRule)
class SelectivityRuleAdmin(ServiceAdmin):
    """Rules of a draft are edited through the services; a published set stays as it was."""

    form = RuleForm
    list_display = [
        "id",
        "rule_set",
        "name",
        "hs_prefix",
        "origin_country",
        "min_item_value",
        "score",
        "force_lane",
        "active",
    ]
    list_filter = ["rule_set__status", "active", "force_lane"]
    list_select_related = ["rule_set"]

    def get_fields(self, request, obj=None):
        if obj is not None and not obj.rule_set.is_editable:
            return ["rule_set", *RuleForm.Meta.fields, "conditions"]
        return ["rule_set", *RuleForm.Meta.fields, "conditions_text"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["rule_set"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "rule_set":
            kwargs["queryset"] = RuleSet.objects.filter(status=RuleSet.Status.DRAFT)
            # Not the model's default (the live set): rules are added to drafts only.
            kwargs["initial"] = None
            kwargs["show_hidden_initial"] = False
            kwargs["help_text"] = "A draft rule set; create one on the risk pages."
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        if obj is not None and not obj.rule_set.is_editable:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not obj.rule_set.is_editable:
            return False
        return super().has_delete_permission(request, obj)

    def form_field_for(self, name: str) -> str:
        return "conditions_text" if name.startswith("conditions") else name

    def save_model(self, request, obj, form, change):
        fields = form.rule_fields()
        rule_set = fields.pop("rule_set", None)
        if change:
            rule = rule_update(actor=request.user, rule=obj, **fields)
        else:
            rule = rule_create(actor=request.user, rule_set=rule_set, **fields)
        self.adopt(obj, rule)

    def delete_model(self, request, obj):
        rule_delete(actor=request.user, rule=obj)

    def delete_queryset(self, request, queryset):
        for rule in queryset.select_related("rule_set"):
            rule_delete(actor=request.user, rule=rule)


# Changed only by a proposal a second analyst approves, on the risk pages.
@admin.register(RiskSettings)
class RiskSettingsAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "updated_at"]
    fields = list(SETTINGS_FIELDS)


@admin.register(RiskSettingsProposal)
class RiskSettingsProposalAdmin(ReadOnlyAdmin):
    list_display = ["proposed_at", "status", "proposed_by", "decided_by", "reason"]
    list_filter = ["status"]


@admin.register(ConfigAuditEntry)
class ConfigAuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "subject", "proposed_by", "decided_by", "reason"]
    list_filter = ["action"]


# Submitted and approved on the risk pages; the admin only shows them.
@admin.register(RuleSet)
class RuleSetAdmin(ReadOnlyAdmin):
    list_display = [
        "version", "status", "note", "created_by", "submitted_by", "approved_by", "published_at",
    ]  # fmt: skip
    list_filter = ["status"]


# Written by scoring, training and imports; the admin only shows them.
@admin.register(LaneDecision)
class LaneDecisionAdmin(ReadOnlyAdmin):
    list_display = [
        "declaration", "lane", "score", "rule_set_version", "fallback", "decided_at", "duration_ms",
    ]  # fmt: skip
    list_filter = ["lane", "fallback"]
    raw_id_fields = ["declaration"]


# Opened and closed by scoring itself (risk.services.scoring_faults_update).
@admin.register(ScoringFault)
class ScoringFaultAdmin(ReadOnlyAdmin):
    list_display = ["opened_at", "kind", "error", "fallbacks", "closed_at"]
    list_filter = ["kind"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["version", "status", "size_bytes", "created_at", "promoted_at", "note"]
    list_filter = ["status"]
    exclude = ["artifact"]


@admin.register(TrainingRecord)
class TrainingRecordAdmin(ReadOnlyAdmin):
    list_display = ["source", "source_ref", "date", "hs6", "origin_country", "value", "fraud"]
    list_filter = ["source", "fraud"]
    raw_id_fields = ["declaration"]

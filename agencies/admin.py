from django.contrib import admin

from agencies.models import (
    Agency,
    Inspection,
    JurisdictionRule,
    LaneOverride,
    Permit,
    Query,
    Review,
)
from agencies.services import (
    jurisdiction_rule_create,
    jurisdiction_rule_delete,
    jurisdiction_rule_update,
)

JURISDICTION_FIELDS = [
    "agency",
    "hs_prefix",
    "permit_type",
    "description",
    "origin_countries",
    "procedure_codes",
]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_customs"]
    readonly_fields = ["group"]


@admin.register(JurisdictionRule)
class JurisdictionRuleAdmin(admin.ModelAdmin):
    """Jurisdiction changes go through the services, like the browser pages."""

    list_display = ["agency", "hs_prefix", "origin_countries", "procedure_codes", "permit_type"]
    list_filter = ["agency"]
    search_fields = ["hs_prefix", "description", "permit_type"]
    fields = JURISDICTION_FIELDS

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in JURISDICTION_FIELDS}
        if change:
            rule = JurisdictionRule.objects.get(pk=obj.pk)
            jurisdiction_rule_update(rule=rule, actor=request.user, **data)
        else:
            obj.pk = jurisdiction_rule_create(actor=request.user, **data).pk

    def delete_model(self, request, obj):
        jurisdiction_rule_delete(rule=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            jurisdiction_rule_delete(rule=rule, actor=request.user)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Officers' work is recorded through the services; the admin only shows it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "declaration", "agency", "status", "assigned_to", "opened_at"]
    list_filter = ["agency", "status"]
    list_select_related = ["declaration", "agency", "assigned_to"]
    raw_id_fields = ["declaration", "assigned_to", "decided_by"]


@admin.register(Query)
class QueryAdmin(ReadOnlyAdmin):
    list_display = ["id", "review", "asked_by", "asked_at", "answered_at"]
    list_select_related = ["review__agency", "asked_by"]


@admin.register(Inspection)
class InspectionAdmin(ReadOnlyAdmin):
    list_display = ["id", "review", "kind", "finding", "revenue_difference", "recorded_by"]
    list_filter = ["kind", "finding"]
    list_select_related = ["review__agency", "recorded_by"]


@admin.register(Permit)
class PermitAdmin(ReadOnlyAdmin):
    list_display = ["number", "permit_type", "review", "issued_by", "valid_until"]
    list_select_related = ["review__agency", "issued_by"]
    search_fields = ["number"]


@admin.register(LaneOverride)
class LaneOverrideAdmin(ReadOnlyAdmin):
    list_display = ["declaration", "from_lane", "to_lane", "changed_by", "changed_at"]
    list_select_related = ["declaration", "changed_by"]

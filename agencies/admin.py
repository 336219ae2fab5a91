from django.contrib import admin

from agencies.forms import JurisdictionRuleForm
from agencies.models import (
    Agency,
    Inspection,
    JurisdictionRule,
    LaneChangeProposal,
    LaneOverride,
    Permit,
    Query,
    Review,
)
from agencies.services import (
    JURISDICTION_FIELDS,
    agency_create,
    agency_update,
    jurisdiction_rule_create,
    jurisdiction_rule_delete,
    jurisdiction_rule_update,
)
from core.admin import ReadOnlyAdmin, ServiceAdmin


@admin.register(Agency)
class AgencyAdmin(ServiceAdmin):
    list_display = ["code", "name", "is_customs"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["code", "name", "is_customs"]
        return ["code", "name", "is_customs", "group"]

    def get_readonly_fields(self, request, obj=None):
        # The agency's group is named after its code.
        return [] if obj is None else ["code", "is_customs", "group"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            agency = agency_update(agency=obj, actor=request.user, name=form.cleaned_data["name"])
        else:
            agency = agency_create(
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
                is_customs=form.cleaned_data["is_customs"],
            )
        self.adopt(obj, agency)


@admin.register(JurisdictionRule)
class JurisdictionRuleAdmin(ServiceAdmin):
    """Jurisdiction changes go through the services, like the browser pages."""

    list_display = [
        "agency", "hs_prefix", "declaration_types", "origin_countries", "procedure_codes",
        "permit_type", "always_review",
    ]  # fmt: skip
    list_filter = ["agency"]
    search_fields = ["hs_prefix", "description", "permit_type"]
    form = JurisdictionRuleForm
    fields = list(JURISDICTION_FIELDS)

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


# Officers' work is recorded through the services; the admin only shows it.


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
    list_display = [
        "number", "agency", "permit_type", "holder", "valid_from", "valid_until", "status",
        "review",
    ]  # fmt: skip
    list_filter = ["agency", "status"]
    list_select_related = ["agency", "holder", "review__agency"]
    search_fields = ["number", "holder__name", "holder__tax_id"]


@admin.register(LaneChangeProposal)
class LaneChangeProposalAdmin(ReadOnlyAdmin):
    list_display = [
        "declaration", "from_lane", "to_lane", "status", "proposed_by", "decided_by", "proposed_at",
    ]  # fmt: skip
    list_filter = ["status"]
    list_select_related = ["declaration", "proposed_by", "decided_by"]


@admin.register(LaneOverride)
class LaneOverrideAdmin(ReadOnlyAdmin):
    list_display = ["declaration", "from_lane", "to_lane", "changed_by", "changed_at"]
    list_select_related = ["declaration", "changed_by"]

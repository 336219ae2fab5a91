from django.contrib import admin

from agencies.models import Agency, JurisdictionRule, Review


class JurisdictionRuleInline(admin.TabularInline):
    model = JurisdictionRule
    extra = 1


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_customs"]
    inlines = [JurisdictionRuleInline]
    readonly_fields = ["group"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["id", "declaration", "agency", "status", "assigned_to", "opened_at"]
    list_filter = ["agency", "status"]
    list_select_related = ["declaration", "agency", "assigned_to"]
    raw_id_fields = ["declaration", "assigned_to"]
    readonly_fields = ["declaration", "agency", "items", "opened_at", "decided_at"]

    def has_add_permission(self, request):
        return False  # reviews are opened by risk assessment, never by hand

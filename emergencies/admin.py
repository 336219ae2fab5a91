from django.contrib import admin

from core.admin import ReadOnlyAdmin
from emergencies.models import Emergency, EmergencyProposal, HumanitarianConsignee


class ProposalInline(admin.TabularInline):
    model = EmergencyProposal
    extra = 0
    fields = ["kind", "status", "ends_at", "reason", "proposed_by", "proposed_at", "decided_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Emergency)
class EmergencyAdmin(ReadOnlyAdmin):
    """Declared, extended and ended by two administrators (emergencies.services)."""

    list_display = ["name", "status", "starts_at", "ends_at", "duty_relief"]
    list_filter = ["status"]
    inlines = [ProposalInline]


@admin.register(HumanitarianConsignee)
class HumanitarianConsigneeAdmin(ReadOnlyAdmin):
    list_display = ["company", "kind", "status", "requested_at", "decided_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["company"]

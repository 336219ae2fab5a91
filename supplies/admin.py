from django.contrib import admin

from core.admin import ReadOnlyAdmin
from supplies.models import PreNotification, SupplyNeed, SupplyPledge, SupplyRegisterEntry


@admin.register(PreNotification)
class PreNotificationAdmin(ReadOnlyAdmin):
    """Filed, cancelled and matched through the services (pages and API) only."""

    list_display = [
        "reference", "emergency", "consignee", "office", "expected_arrival", "status",
        "declaration",
    ]  # fmt: skip
    list_filter = ["status", "office"]
    list_select_related = ["emergency", "consignee__company", "office", "declaration"]
    search_fields = ["transport_document", "consignee__company__name", "sender_name"]
    raw_id_fields = ["declaration"]


@admin.register(SupplyNeed)
class SupplyNeedAdmin(ReadOnlyAdmin):
    """Kept on the register page: each change goes to the audited register."""

    list_display = ["label", "emergency", "hs_prefix", "target_quantity", "unit", "active"]
    list_filter = ["active", "emergency"]


@admin.register(SupplyPledge)
class SupplyPledgeAdmin(ReadOnlyAdmin):
    list_display = [
        "partner_administration", "partner_country", "need", "quantity", "expected_on", "status",
    ]  # fmt: skip
    list_filter = ["status"]


@admin.register(SupplyRegisterEntry)
class SupplyRegisterEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "emergency", "action", "need", "actor"]
    list_filter = ["action"]

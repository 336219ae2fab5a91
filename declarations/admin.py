from django.contrib import admin

from core.admin import ReadOnlyAdmin
from declarations.models import (
    Declaration,
    DeclarationEvent,
    ExitConfirmation,
    InvoiceReading,
    Item,
)


class ItemInline(admin.TabularInline):
    model = Item
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Declaration)
class DeclarationAdmin(ReadOnlyAdmin):
    """Declarations change through their services only."""

    list_display = ["id", "reference", "company", "type", "status", "lane", "created_at"]
    list_filter = ["status", "lane", "type"]
    list_select_related = ["company"]
    search_fields = ["invoice_number", "company__name"]
    inlines = [ItemInline]


@admin.register(DeclarationEvent)
class DeclarationEventAdmin(ReadOnlyAdmin):
    list_display = ["declaration", "seq", "at", "actor", "action", "from_status", "to_status"]
    raw_id_fields = ["declaration"]


@admin.register(InvoiceReading)
class InvoiceReadingAdmin(ReadOnlyAdmin):
    list_display = ["document", "status", "invoice_number", "currency", "total", "pages", "read_at"]
    list_filter = ["status"]
    raw_id_fields = ["document"]


@admin.register(ExitConfirmation)
class ExitConfirmationAdmin(ReadOnlyAdmin):
    """Confirmed by an officer at the office of exit (clearance.exports), shown here."""

    list_display = ["declaration", "office", "exited_at", "transport_mode", "transport_identity"]
    list_filter = ["office", "transport_mode"]
    raw_id_fields = ["declaration"]

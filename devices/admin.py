from django.contrib import admin, messages

from core.admin import ReadOnlyAdmin, ServiceAdmin
from devices.models import Device, DeviceEvent, MonitoringProfile, MovementAlert
from devices.services import (
    DEVICE_CHANGEABLE,
    device_credential_issue,
    device_register,
    device_update,
)


@admin.register(Device)
class DeviceAdmin(ServiceAdmin):
    """Devices are registered through the service, which issues their HTTP credential:
    the key is shown once, in the message after saving, and only its digest kept."""

    list_display = ["identifier", "kind", "active", "credential_prefix", "registered_at"]
    list_filter = ["kind", "active"]
    search_fields = ["identifier", "description"]
    actions = ["issue_credential"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["identifier", "kind", "description"]
        return ["identifier", *DEVICE_CHANGEABLE, "credential_prefix", "registered_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["identifier", "credential_prefix", "registered_at"]

    def has_delete_permission(self, request, obj=None):
        # Its messages are kept, and name it: deactivate it instead.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            data = {name: form.cleaned_data[name] for name in DEVICE_CHANGEABLE}
            device = device_update(device=obj, actor=request.user, **data)
        else:
            device, key = device_register(
                identifier=form.cleaned_data["identifier"],
                kind=form.cleaned_data["kind"],
                description=form.cleaned_data["description"],
                actor=request.user,
            )
            self._show_key(request, device, key)
        self.adopt(obj, device)

    @admin.action(description="Issue a new HTTP credential (the old one stops working)")
    def issue_credential(self, request, queryset):
        for device in queryset:
            self._show_key(
                request, device, device_credential_issue(device=device, actor=request.user)
            )

    def _show_key(self, request, device, key: str) -> None:
        self.message_user(
            request,
            f"Credential of {device.identifier} (X-Device-Key), shown this once: {key}",
            messages.WARNING,
        )


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyAdmin):
    list_display = [
        "device_identifier", "message_id", "recorded_at", "received_at", "seal",
        "seal_status", "outcome", "receipts",
    ]  # fmt: skip
    list_filter = ["outcome", "channel", "seal_status"]
    search_fields = ["device_identifier", "message_id", "seal"]
    list_select_related = ["device"]
    raw_id_fields = ["movement", "device"]
    date_hierarchy = "received_at"


@admin.register(MovementAlert)
class MovementAlertAdmin(ReadOnlyAdmin):
    list_display = ["movement", "kind", "raised_at", "detail"]
    list_filter = ["kind"]
    raw_id_fields = ["movement", "event"]


@admin.register(MonitoringProfile)
class MonitoringProfileAdmin(ReadOnlyAdmin):
    list_display = [
        "movement", "corridor_km", "max_stop_minutes", "temperature_min", "temperature_max",
        "set_by", "set_at",
    ]  # fmt: skip
    raw_id_fields = ["movement", "set_by"]

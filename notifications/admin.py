from django.contrib import admin

from core.admin import ReadOnlyAdmin
from notifications.models import Notification, OutboxMessage


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["recipient", "verb", "text", "created_at", "read_at"]
    list_filter = ["verb"]
    raw_id_fields = ["recipient"]


class UndeliveredFilter(admin.SimpleListFilter):
    """Opens on what is not delivered (pending, failed): the deliveries to look at."""

    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [("all", "All"), *OutboxMessage.Status.choices]

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Not delivered",
        }

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset.exclude(status=OutboxMessage.Status.SENT)
        if self.value() == "all":
            return queryset
        return queryset.filter(status=self.value())


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Read-only: the deliveries write these rows; a stuck one shows its last error."""

    list_display = [
        "created_at", "channel", "recipient_address", "status", "attempts",
        "next_attempt_at", "last_error", "sent_at",
    ]  # fmt: skip
    list_filter = [UndeliveredFilter, "channel"]
    raw_id_fields = ["notification"]

    @admin.display(description="to")
    def recipient_address(self, message):
        return message.payload.get("to", "")

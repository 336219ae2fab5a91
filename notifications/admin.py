from django.contrib import admin

from core.admin import ReadOnlyAdmin
from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["recipient", "verb", "text", "created_at", "read_at"]
    list_filter = ["verb"]
    raw_id_fields = ["recipient"]

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from payments.models import PaymentNotification


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(ReadOnlyAdmin):
    list_display = ["notification_id", "payment", "amount", "currency", "paid_at", "received_at"]
    search_fields = ["notification_id", "payment__reference", "bank_reference"]
    list_select_related = ["payment"]

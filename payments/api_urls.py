from django.urls import path

from payments import apis

urlpatterns = [
    path(
        "payments/notifications/",
        apis.PaymentNotificationApi.as_view(),
        name="payment-notification",
    ),
]

from django.urls import path

from notifications import apis

urlpatterns = [
    path("notifications/", apis.NotificationListApi.as_view(), name="notification-list"),
    path(
        "notifications/read/", apis.NotificationMarkReadApi.as_view(), name="notification-mark-read"
    ),
]

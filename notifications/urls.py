from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list_page, name="list"),
    path("badge/", views.notification_badge_partial, name="badge"),
    path("read/", views.notifications_mark_read_page, name="mark-read"),
]

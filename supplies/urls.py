"""Pages of the supplies app, mounted under /emergencies/ beside the emergencies' own."""

from django.urls import path

from supplies import views

app_name = "supplies"

urlpatterns = [
    path("prenotifications/", views.prenotification_list_page, name="prenotifications"),
    path("prenotifications/new/", views.prenotification_file_page, name="prenotification-new"),
    path("prenotifications/<int:pk>/", views.prenotification_page, name="prenotification"),
    path(
        "prenotifications/<int:pk>/cancel/",
        views.prenotification_cancel_page,
        name="prenotification-cancel",
    ),
    path("<int:pk>/supplies/", views.supplies_page, name="register"),
    path("<int:pk>/supplies.csv", views.supplies_csv, name="register-csv"),
    path("<int:pk>/supplies/needs/", views.need_add_page, name="need-add"),
    path("<int:pk>/supplies/pledges/", views.pledge_add_page, name="pledge-add"),
    path("supplies/needs/<int:pk>/", views.need_change_page, name="need-change"),
    path("supplies/needs/<int:pk>/remove/", views.need_remove_page, name="need-remove"),
    path("supplies/pledges/<int:pk>/status/", views.pledge_status_page, name="pledge-status"),
]

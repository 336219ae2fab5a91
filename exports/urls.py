from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("exit/", views.exit_list_page, name="exit-list"),
    path("exit/<int:pk>/", views.exit_confirm_page, name="confirm"),
]

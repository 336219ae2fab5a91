from django.urls import path

from devices import views

app_name = "devices"

urlpatterns = [
    path("", views.movements_page, name="movements"),
    path("<int:pk>/", views.movement_page, name="movement"),
    path("<int:pk>/monitoring/", views.movement_monitoring_page, name="movement-monitoring"),
]

from django.urls import path

from clearance import views

app_name = "clearance"

urlpatterns = [
    path("", views.movements_page, name="movements"),
    path("<int:pk>/", views.movement_page, name="movement"),
    path("<int:pk>/release/", views.movement_release_page, name="movement-release"),
    path("<int:pk>/arrival/", views.movement_arrival_page, name="movement-arrival"),
    path("<int:pk>/control/", views.movement_control_page, name="movement-control"),
    path("<int:pk>/resolve/", views.movement_resolve_page, name="movement-resolve"),
    path("<int:pk>/discharge/", views.movement_discharge_page, name="movement-discharge"),
]

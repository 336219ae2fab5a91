"""REST endpoints of the transit movements, included under /api/v1/ (namespace "api")."""

from django.urls import path

from clearance import apis

urlpatterns = [
    path("movements/", apis.MovementListApi.as_view(), name="movement-list"),
    path("movements/<int:pk>/", apis.MovementDetailApi.as_view(), name="movement-detail"),
    path("movements/<int:pk>/release/", apis.MovementReleaseApi.as_view(), name="movement-release"),
    path("movements/<int:pk>/arrival/", apis.MovementArrivalApi.as_view(), name="movement-arrival"),
    path("movements/<int:pk>/control/", apis.MovementControlApi.as_view(), name="movement-control"),
    path("movements/<int:pk>/resolve/", apis.MovementResolveApi.as_view(), name="movement-resolve"),
    path(
        "movements/<int:pk>/discharge/",
        apis.MovementDischargeApi.as_view(),
        name="movement-discharge",
    ),
]

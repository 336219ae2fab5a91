"""REST endpoints of the office of exit, included under /api/v1/ (namespace "api")."""

from django.urls import path

from exports import apis

urlpatterns = [
    path("exits/", apis.ExitListApi.as_view(), name="exit-list"),
    path("exits/<int:pk>/", apis.ExitDetailApi.as_view(), name="exit-detail"),
    path("exits/<int:pk>/confirm/", apis.ExitConfirmApi.as_view(), name="exit-confirm"),
]

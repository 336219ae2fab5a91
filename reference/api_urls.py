"""REST endpoints of the reference data, included under /api/v1/ (namespace "api")."""

from django.urls import path

from reference import apis

urlpatterns = [
    path("offices/", apis.OfficeListApi.as_view(), name="office-list"),
    path("offices/<str:code>/", apis.OfficeDetailApi.as_view(), name="office-detail"),
]

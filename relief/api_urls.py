"""REST endpoints of the relief measures, included under /api/v1/ (namespace "api")."""

from django.urls import path

from relief import apis

urlpatterns = [
    path(
        "declarations/<int:pk>/documents-owed/",
        apis.DocumentsOwedApi.as_view(),
        name="documents-owed",
    ),
    path(
        "declarations/<int:pk>/documents-owed/<int:owed_pk>/supply/",
        apis.OwedDocumentSupplyApi.as_view(),
        name="documents-owed-supply",
    ),
    path("joint-inspections/", apis.JointInspectionListApi.as_view(), name="joint-inspection-list"),
    path(
        "joint-inspections/<int:pk>/",
        apis.JointInspectionDetailApi.as_view(),
        name="joint-inspection-detail",
    ),
    path(
        "joint-inspections/<int:pk>/book/",
        apis.JointInspectionBookApi.as_view(),
        name="joint-inspection-book",
    ),
    path(
        "joint-inspections/<int:pk>/record/",
        apis.JointInspectionRecordApi.as_view(),
        name="joint-inspection-record",
    ),
    path(
        "joint-inspections/<int:pk>/cancel/",
        apis.JointInspectionCancelApi.as_view(),
        name="joint-inspection-cancel",
    ),
]

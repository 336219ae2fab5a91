from django.urls import path

from relief import views

app_name = "relief"

urlpatterns = [
    path(
        "declarations/<int:pk>/documents-owed/<int:owed_pk>/",
        views.owed_document_supply_page,
        name="owed-supply",
    ),
    path("joint-inspections/", views.joint_inspection_list_page, name="joint-inspections"),
    path("joint-inspections/<int:pk>/", views.joint_inspection_page, name="joint-inspection"),
    path(
        "joint-inspections/<int:pk>/book/",
        views.joint_inspection_book_page,
        name="joint-inspection-book",
    ),
    path(
        "joint-inspections/<int:pk>/record/",
        views.joint_inspection_record_page,
        name="joint-inspection-record",
    ),
    path(
        "joint-inspections/<int:pk>/cancel/",
        views.joint_inspection_cancel_page,
        name="joint-inspection-cancel",
    ),
]

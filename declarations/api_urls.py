from django.urls import path

from declarations import apis

urlpatterns = [
    path("declarations/", apis.DeclarationListCreateApi.as_view(), name="declaration-list"),
    path(
        "declarations/validate/",
        apis.DeclarationValidateApi.as_view(),
        name="declaration-validate",
    ),
    path("declarations/<int:pk>/", apis.DeclarationDetailApi.as_view(), name="declaration-detail"),
    path(
        "declarations/<int:pk>/items/",
        apis.DeclarationItemAddApi.as_view(),
        name="declaration-item-add",
    ),
    path(
        "declarations/<int:pk>/submit/",
        apis.DeclarationSubmitApi.as_view(),
        name="declaration-submit",
    ),
    path(
        "declarations/<int:pk>/amend/", apis.DeclarationAmendApi.as_view(), name="declaration-amend"
    ),
    path(
        "declarations/<int:pk>/cancel/",
        apis.DeclarationCancelApi.as_view(),
        name="declaration-cancel",
    ),
    path("declarations/<int:pk>/pay/", apis.DeclarationPayApi.as_view(), name="declaration-pay"),
    path(
        "declarations/<int:pk>/documents/",
        apis.DocumentListCreateApi.as_view(),
        name="declaration-documents",
    ),
    path(
        "declarations/<int:pk>/documents/<int:document_pk>/",
        apis.DocumentDownloadApi.as_view(),
        name="declaration-document",
    ),
    path(
        "declarations/<int:pk>/documents/<int:document_pk>/reading/",
        apis.DocumentReadingApi.as_view(),
        name="declaration-document-reading",
    ),
]

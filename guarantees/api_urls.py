"""REST endpoints of the guarantees app, included under /api/v1/ (namespace "api")."""

from django.urls import path

from guarantees import apis

urlpatterns = [
    path("guarantees/", apis.GuaranteeListApi.as_view(), name="guarantee-list"),
    path("guarantees/<int:pk>/", apis.GuaranteeDetailApi.as_view(), name="guarantee-detail"),
    path("guarantees/<int:pk>/raise/", apis.GuaranteeRaiseApi.as_view(), name="guarantee-raise"),
    path(
        "guarantee-proposals/",
        apis.GuaranteeProposalListApi.as_view(),
        name="guarantee-proposal-list",
    ),
    path(
        "guarantee-proposals/<int:pk>/approve/",
        apis.GuaranteeProposalApproveApi.as_view(),
        name="guarantee-proposal-approve",
    ),
    path(
        "guarantee-proposals/<int:pk>/refuse/",
        apis.GuaranteeProposalRefuseApi.as_view(),
        name="guarantee-proposal-refuse",
    ),
]

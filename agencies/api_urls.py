"""REST endpoints of the agencies app, included under /api/v1/ (namespace "api")."""

from django.urls import path

from agencies import apis

urlpatterns = [
    path("reviews/", apis.ReviewListApi.as_view(), name="review-list"),
    path("reviews/counts/", apis.ReviewCountsApi.as_view(), name="review-counts"),
    path("reviews/<int:pk>/", apis.ReviewDetailApi.as_view(), name="review-detail"),
    path("reviews/<int:pk>/claim/", apis.ReviewClaimApi.as_view(), name="review-claim"),
    path("reviews/<int:pk>/approve/", apis.ReviewApproveApi.as_view(), name="review-approve"),
    path("reviews/<int:pk>/reject/", apis.ReviewRejectApi.as_view(), name="review-reject"),
    path("reviews/<int:pk>/queries/", apis.ReviewQueryApi.as_view(), name="review-query"),
    path(
        "reviews/<int:pk>/inspections/",
        apis.ReviewInspectionApi.as_view(),
        name="review-inspection",
    ),
    path("reviews/<int:pk>/permits/", apis.ReviewPermitApi.as_view(), name="review-permit"),
    path("reviews/<int:pk>/lane/", apis.ReviewLaneApi.as_view(), name="review-lane"),
    path("reviews/<int:pk>/detention/", apis.ReviewDetentionApi.as_view(), name="review-detention"),
    path("permits/", apis.PermitListApi.as_view(), name="permit-list"),
    path("permits/<int:pk>/", apis.PermitDetailApi.as_view(), name="permit-detail"),
    path("permits/<int:pk>/revoke/", apis.PermitRevokeApi.as_view(), name="permit-revoke"),
    path("lane-proposals/", apis.LaneProposalListApi.as_view(), name="lane-proposal-list"),
    path(
        "lane-proposals/<int:pk>/approve/",
        apis.LaneProposalApproveApi.as_view(),
        name="lane-proposal-approve",
    ),
    path(
        "lane-proposals/<int:pk>/refuse/",
        apis.LaneProposalRefuseApi.as_view(),
        name="lane-proposal-refuse",
    ),
    path("queries/", apis.QueryListApi.as_view(), name="query-list"),
    path("queries/<int:pk>/", apis.QueryDetailApi.as_view(), name="query-detail"),
    path("queries/<int:pk>/answer/", apis.QueryAnswerApi.as_view(), name="query-answer"),
]

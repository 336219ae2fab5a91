from django.urls import path

from agencies import views

app_name = "agencies"

urlpatterns = [
    path("queue/", views.queue_page, name="queue"),
    path("queue/counts/", views.queue_counts_partial, name="queue-counts"),
    path("reviews/<int:pk>/", views.review_page, name="review"),
    path("reviews/<int:pk>/claim/", views.review_claim_page, name="review-claim"),
    path("reviews/<int:pk>/approve/", views.review_approve_page, name="review-approve"),
    path("reviews/<int:pk>/reject/", views.review_reject_page, name="review-reject"),
    path("reviews/<int:pk>/query/", views.review_query_page, name="review-query"),
    path("reviews/<int:pk>/inspection/", views.review_inspection_page, name="review-inspection"),
    path("reviews/<int:pk>/permit/", views.review_permit_page, name="review-permit"),
    path("reviews/<int:pk>/lane/", views.review_lane_page, name="review-lane"),
    path("reviews/<int:pk>/detention/", views.review_detention_page, name="review-detention"),
    path("permits/", views.permit_list_page, name="permits"),
    path("permits/new/", views.permit_issue_page, name="permit-issue"),
    path("permits/<int:pk>/", views.permit_page, name="permit"),
    path("permits/<int:pk>/revoke/", views.permit_revoke_page, name="permit-revoke"),
    path("lane-proposals/", views.lane_proposals_page, name="lane-proposals"),
    path(
        "lane-proposals/<int:pk>/approve/",
        views.lane_proposal_approve_page,
        name="lane-proposal-approve",
    ),
    path(
        "lane-proposals/<int:pk>/refuse/",
        views.lane_proposal_refuse_page,
        name="lane-proposal-refuse",
    ),
    path("queries/<int:pk>/answer/", views.query_answer_page, name="query-answer"),
    path("jurisdiction/", views.jurisdiction_list_page, name="jurisdiction"),
    path("jurisdiction/new/", views.jurisdiction_create_page, name="jurisdiction-create"),
    path("jurisdiction/<int:pk>/", views.jurisdiction_edit_page, name="jurisdiction-edit"),
    path(
        "jurisdiction/<int:pk>/delete/", views.jurisdiction_delete_page, name="jurisdiction-delete"
    ),
]

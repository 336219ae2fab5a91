"""REST endpoints of the emergencies app, included under /api/v1/ (namespace "api")."""

from django.urls import path

from emergencies import apis

urlpatterns = [
    path("emergencies/", apis.EmergencyListApi.as_view(), name="emergency-list"),
    path("emergencies/in-force/", apis.EmergencyInForceApi.as_view(), name="emergency-in-force"),
    path("emergencies/<int:pk>/", apis.EmergencyDetailApi.as_view(), name="emergency-detail"),
    path(
        "emergencies/<int:pk>/extend/",
        apis.EmergencyExtendApi.as_view(),
        name="emergency-extend",
    ),
    path("emergencies/<int:pk>/end/", apis.EmergencyEndApi.as_view(), name="emergency-end"),
    path(
        "emergency-proposals/",
        apis.EmergencyProposalListApi.as_view(),
        name="emergency-proposal-list",
    ),
    path(
        "emergency-proposals/<int:pk>/approve/",
        apis.EmergencyProposalApproveApi.as_view(),
        name="emergency-proposal-approve",
    ),
    path(
        "emergency-proposals/<int:pk>/refuse/",
        apis.EmergencyProposalRefuseApi.as_view(),
        name="emergency-proposal-refuse",
    ),
    path(
        "humanitarian-consignees/",
        apis.ConsigneeListApi.as_view(),
        name="consignee-list",
    ),
    path(
        "humanitarian-consignees/<int:pk>/",
        apis.ConsigneeDetailApi.as_view(),
        name="consignee-detail",
    ),
    path(
        "humanitarian-consignees/<int:pk>/decide/",
        apis.ConsigneeDecideApi.as_view(),
        name="consignee-decide",
    ),
]

"""REST endpoints of the supplies app, included under /api/v1/ (namespace "api")."""

from django.urls import path

from supplies import apis

urlpatterns = [
    path("prenotifications/", apis.PreNotificationListApi.as_view(), name="prenotification-list"),
    path(
        "prenotifications/<int:pk>/",
        apis.PreNotificationDetailApi.as_view(),
        name="prenotification-detail",
    ),
    path(
        "prenotifications/<int:pk>/cancel/",
        apis.PreNotificationCancelApi.as_view(),
        name="prenotification-cancel",
    ),
    path(
        "emergencies/<int:pk>/supplies/",
        apis.SupplyRegisterApi.as_view(),
        name="emergency-supplies",
    ),
    path(
        "emergencies/<int:pk>/supplies/needs/",
        apis.SupplyNeedAddApi.as_view(),
        name="emergency-supply-need-add",
    ),
    path(
        "emergencies/<int:pk>/supplies/pledges/",
        apis.SupplyPledgeAddApi.as_view(),
        name="emergency-supply-pledge-add",
    ),
    path(
        "emergencies/<int:pk>/relief-consignments/",
        apis.ReliefConsignmentListApi.as_view(),
        name="emergency-relief-consignments",
    ),
    path("supply-needs/<int:pk>/", apis.SupplyNeedApi.as_view(), name="supply-need"),
    path(
        "supply-needs/<int:pk>/remove/",
        apis.SupplyNeedRemoveApi.as_view(),
        name="supply-need-remove",
    ),
    path(
        "supply-pledges/<int:pk>/status/",
        apis.SupplyPledgeStatusApi.as_view(),
        name="supply-pledge-status",
    ),
]

from django.urls import path

from risk import apis

urlpatterns = [
    path("criteria/", apis.CriterionListApi.as_view(), name="risk-criteria"),
    path("rule-sets/", apis.RuleSetListCreateApi.as_view(), name="risk-rule-sets"),
    path("rule-sets/<int:pk>/", apis.RuleSetDetailApi.as_view(), name="risk-rule-set"),
    path(
        "rule-sets/<int:pk>/submit/", apis.RuleSetSubmitApi.as_view(), name="risk-rule-set-submit"
    ),
    path(
        "rule-sets/<int:pk>/approve/",
        apis.RuleSetApproveApi.as_view(),
        name="risk-rule-set-approve",
    ),
    path(
        "rule-sets/<int:pk>/send-back/",
        apis.RuleSetSendBackApi.as_view(),
        name="risk-rule-set-send-back",
    ),
    path("rule-sets/<int:pk>/rules/", apis.RuleCreateApi.as_view(), name="risk-rule-create"),
    path("rules/<int:pk>/", apis.RuleDetailApi.as_view(), name="risk-rule"),
    path("settings/", apis.RiskSettingsApi.as_view(), name="risk-settings"),
    path(
        "settings/proposals/",
        apis.RiskSettingsProposalListApi.as_view(),
        name="risk-settings-proposals",
    ),
    path(
        "settings/proposals/<int:pk>/approve/",
        apis.RiskSettingsApproveApi.as_view(),
        name="risk-settings-approve",
    ),
    path(
        "settings/proposals/<int:pk>/reject/",
        apis.RiskSettingsRejectApi.as_view(),
        name="risk-settings-reject",
    ),
    path("audit/", apis.ConfigAuditListApi.as_view(), name="risk-audit"),
    path("models/", apis.ModelVersionListApi.as_view(), name="risk-models"),
    path("models/retrain/", apis.ModelRetrainApi.as_view(), name="risk-retrain"),
    path("replays/", apis.ReplayCreateApi.as_view(), name="risk-replays"),
    path("jobs/<int:pk>/", apis.JobDetailApi.as_view(), name="risk-job"),
    path(
        "held/<int:pk>/route/",
        apis.HeldDeclarationRouteApi.as_view(),
        name="risk-held-route",
    ),
]

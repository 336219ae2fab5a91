from django.urls import path

from risk import apis

urlpatterns = [
    path("criteria/", apis.CriterionListApi.as_view(), name="risk-criteria"),
    path("rule-sets/", apis.RuleSetListCreateApi.as_view(), name="risk-rule-sets"),
    path("rule-sets/<int:pk>/", apis.RuleSetDetailApi.as_view(), name="risk-rule-set"),
    path(
        "rule-sets/<int:pk>/publish/",
        apis.RuleSetPublishApi.as_view(),
        name="risk-rule-set-publish",
    ),
    path("rule-sets/<int:pk>/rules/", apis.RuleCreateApi.as_view(), name="risk-rule-create"),
    path("rules/<int:pk>/", apis.RuleDetailApi.as_view(), name="risk-rule"),
    path("settings/", apis.RiskSettingsApi.as_view(), name="risk-settings"),
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

from django.urls import path

from risk import views

app_name = "risk"

urlpatterns = [
    path("", views.risk_home_page, name="home"),
    path("rule-sets/new/", views.rule_set_create_page, name="rule-set-create"),
    path("rule-sets/<int:pk>/", views.rule_set_detail_page, name="rule-set"),
    path("rule-sets/<int:pk>/submit/", views.rule_set_submit_page, name="rule-set-submit"),
    path("rule-sets/<int:pk>/approve/", views.rule_set_approve_page, name="rule-set-approve"),
    path("rule-sets/<int:pk>/send-back/", views.rule_set_send_back_page, name="rule-set-send-back"),
    path("rule-sets/<int:pk>/rules/new/", views.rule_create_page, name="rule-create"),
    path("rules/<int:pk>/", views.rule_edit_page, name="rule-edit"),
    path("settings/", views.risk_settings_page, name="settings"),
    path(
        "settings/proposals/<int:pk>/approve/",
        views.settings_approve_page,
        name="settings-approve",
    ),
    path("settings/proposals/<int:pk>/reject/", views.settings_reject_page, name="settings-reject"),
    path("audit/", views.config_audit_page, name="audit"),
    path("replay/", views.replay_create_page, name="replay"),
    path("models/", views.model_list_page, name="models"),
    path("models/retrain/", views.model_retrain_page, name="retrain"),
    path("jobs/<int:pk>/", views.job_page, name="job"),
]

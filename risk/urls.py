from django.urls import path

from risk import views

app_name = "risk"

urlpatterns = [
    path("", views.risk_home_page, name="home"),
    path("rule-sets/new/", views.rule_set_create_page, name="rule-set-create"),
    path("rule-sets/<int:pk>/", views.rule_set_detail_page, name="rule-set"),
    path("rule-sets/<int:pk>/publish/", views.rule_set_publish_page, name="rule-set-publish"),
    path("rule-sets/<int:pk>/rules/new/", views.rule_create_page, name="rule-create"),
    path("rules/<int:pk>/", views.rule_edit_page, name="rule-edit"),
    path("settings/", views.risk_settings_page, name="settings"),
    path("replay/", views.replay_create_page, name="replay"),
    path("models/", views.model_list_page, name="models"),
    path("models/retrain/", views.model_retrain_page, name="retrain"),
    path("jobs/<int:pk>/", views.job_page, name="job"),
]

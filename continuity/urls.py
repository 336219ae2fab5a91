from django.urls import path

from continuity import views

app_name = "continuity"

urlpatterns = [
    path("", views.home_page, name="home"),
    path("offices/<str:code>/", views.office_page, name="office"),
    path("offices/<str:code>/close/", views.office_close_page, name="office-close"),
    path("offices/<str:code>/reopen/", views.office_reopen_page, name="office-reopen"),
    path("offices/<str:code>/divert/", views.office_divert_page, name="office-divert"),
    path("scoring/", views.scoring_page, name="scoring"),
    path("scoring/fallback/", views.fallback_propose_page, name="fallback-propose"),
    path(
        "scoring/fallback/<int:pk>/approve/", views.fallback_approve_page, name="fallback-approve"
    ),
    path("scoring/fallback/<int:pk>/refuse/", views.fallback_refuse_page, name="fallback-refuse"),
    path("scoring/fallback/off/", views.fallback_off_page, name="fallback-off"),
    path("scoring/rescore/", views.rescore_page, name="rescore"),
    path("scoring/rescore/<int:pk>/", views.rescore_job_partial, name="rescore-job"),
    path("health/", views.health_page, name="health"),
    path("health/panel/", views.health_panel_partial, name="health-panel"),
]

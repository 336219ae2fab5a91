"""REST endpoints of the continuity desk, included under /api/v1/continuity/ (namespace
"api")."""

from django.urls import path

from continuity import apis

urlpatterns = [
    path("offices/", apis.OfficeListApi.as_view(), name="continuity-offices"),
    path("offices/<str:code>/", apis.OfficeDetailApi.as_view(), name="continuity-office"),
    path(
        "offices/<str:code>/close/", apis.OfficeCloseApi.as_view(), name="continuity-office-close"
    ),
    path(
        "offices/<str:code>/reopen/",
        apis.OfficeReopenApi.as_view(),
        name="continuity-office-reopen",
    ),
    path(
        "offices/<str:code>/divert/",
        apis.OfficeDivertApi.as_view(),
        name="continuity-office-divert",
    ),
    path("scoring/", apis.ScoringStateApi.as_view(), name="continuity-scoring"),
    path("scoring/fallback/", apis.PlannedFallbackApi.as_view(), name="continuity-fallback"),
    path(
        "scoring/fallback/off/",
        apis.PlannedFallbackOffApi.as_view(),
        name="continuity-fallback-off",
    ),
    path(
        "scoring/fallback/<int:pk>/approve/",
        apis.PlannedFallbackApproveApi.as_view(),
        name="continuity-fallback-approve",
    ),
    path(
        "scoring/fallback/<int:pk>/refuse/",
        apis.PlannedFallbackRefuseApi.as_view(),
        name="continuity-fallback-refuse",
    ),
    path("scoring/rescore/", apis.RescoreApi.as_view(), name="continuity-rescore"),
    path("scoring/rescore/<int:pk>/", apis.RescoreJobApi.as_view(), name="continuity-rescore-job"),
    path("health/", apis.HealthApi.as_view(), name="continuity-health"),
]

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("declarations.api_urls")),
    path("", include("agencies.api_urls")),
    path("", include("notifications.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("exports.api_urls")),
    path("", include("reference.api_urls")),
    path("", include("guarantees.api_urls")),
    path("", include("clearance.api_urls")),
    path("", include("emergencies.api_urls")),
    path("", include("supplies.api_urls")),
    path("", include("relief.api_urls")),
    path("", include("devices.api_urls")),
    path("risk/", include("risk.api_urls")),
    path("continuity/", include("continuity.api_urls")),
]

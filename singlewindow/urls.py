from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_views
from core.views import health, home

urlpatterns = [
    path("", home, name="home"),
    path("health/", health, name="health"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", account_views.PasswordChangeView.as_view(), name="password-change"),
    path("accounts/tokens/", account_views.api_tokens, name="api-tokens"),
    path(
        "accounts/tokens/<int:pk>/revoke/",
        account_views.api_token_revoke_view,
        name="api-token-revoke",
    ),
    path("accounts/", include("accounts.urls")),
    path("declarations/", include("declarations.urls")),
    path("", include("agencies.urls")),
    path("notifications/", include("notifications.urls")),
    path("payments/", include("payments.urls")),
    path("exports/", include("exports.urls")),
    path("guarantees/", include("guarantees.urls")),
    path("emergencies/", include("emergencies.urls")),
    path("emergencies/", include("supplies.urls")),
    path("relief/", include("relief.urls")),
    path("movements/", include("clearance.urls")),
    path("seals/", include("devices.urls")),
    path("risk/", include("risk.urls")),
    path("continuity/", include("continuity.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("singlewindow.api_urls", "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script from a URL: no inline script (CSP).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs.html"),
        name="api-docs",
    ),
]

handler404 = "core.views.not_found"
handler500 = "core.views.server_error"

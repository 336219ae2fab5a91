from django.urls import include, path

from accounts.apis import TokenObtainApi

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="token"),
    path("", include("declarations.api_urls")),
    path("", include("agencies.api_urls")),
    path("", include("notifications.api_urls")),
    path("", include("payments.api_urls")),
    path("risk/", include("risk.api_urls")),
]

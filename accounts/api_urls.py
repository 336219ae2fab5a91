from django.urls import path

from accounts import apis

urlpatterns = [
    path("auth/token/", apis.TokenObtainApi.as_view(), name="token"),
    path("auth/tokens/", apis.TokenListApi.as_view(), name="token-list"),
    path("auth/tokens/<int:pk>/", apis.TokenRevokeApi.as_view(), name="token-revoke"),
    path("users/", apis.UserListApi.as_view(), name="user-list"),
    path("users/<int:pk>/", apis.UserDetailApi.as_view(), name="user-detail"),
]

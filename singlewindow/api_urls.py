from django.urls import path
from rest_framework.authtoken.views import ObtainAuthToken

from agencies.apis import ReviewDetailApi, ReviewListApi
from declarations.apis import DeclarationDetailApi, DeclarationListCreateApi, DeclarationSubmitApi

urlpatterns = [
    path("auth/token/", ObtainAuthToken.as_view(), name="token"),
    path("declarations/", DeclarationListCreateApi.as_view(), name="declaration-list"),
    path("declarations/<int:pk>/", DeclarationDetailApi.as_view(), name="declaration-detail"),
    path(
        "declarations/<int:pk>/submit/", DeclarationSubmitApi.as_view(), name="declaration-submit"
    ),
    path("reviews/", ReviewListApi.as_view(), name="review-list"),
    path("reviews/<int:pk>/", ReviewDetailApi.as_view(), name="review-detail"),
]

from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response

from accounts.services import second_factor_check


class TokenObtainApi(ObtainAuthToken):
    """A token for a username and password, and `otp` (a code of the authenticator
    app, or a recovery code) for users with a second factor. Calls made with the
    token afterwards need no code."""

    @extend_schema(
        request=inline_serializer(
            "TokenRequest",
            {
                "username": serializers.CharField(),
                "password": serializers.CharField(),
                "otp": serializers.CharField(required=False),
            },
        ),
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        try:
            second_factor_check(user=user, code=str(request.data.get("otp", "")))
        except ValidationError:
            # A wrong code is a failed login, for whatever counts them (lockout).
            user_login_failed.send(
                sender=__name__, credentials={"username": user.get_username()}, request=request
            )
            raise
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

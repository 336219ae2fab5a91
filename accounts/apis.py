"""API tokens: issued for a username and password, listed and revoked by their owner."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.models import ApiToken
from accounts.selectors import api_token_list, get_api_token_for_owner
from accounts.services import api_token_issue, api_token_revoke, second_factor_check


class LoginRateThrottle(SimpleRateThrottle):
    """Tries at the token endpoint per client address (LOGIN_THROTTLE_RATE), on top
    of the lockout per account and address; read at each request so that it can
    be changed without a restart of the class."""

    scope = "login"

    def get_rate(self):
        return settings.LOGIN_THROTTLE_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenObtainInputSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="to tell tokens apart"
    )
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="for a user with a second factor: a code of the authenticator app, "
        "or a recovery code",
    )


class TokenIssuedOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    token = serializers.CharField(help_text="the key; shown only this once")
    expires_at = serializers.DateTimeField()


class TokenObtainApi(APIView):
    """A new token for a username and password, and `otp` for a user with a second
    factor (calls made with the token afterwards need no code). Each call issues
    another token (one per program or device); it expires after API_TOKEN_TTL.
    Failed tries, wrong codes included, count towards the login lockout (429 with
    a `detail` naming the wait)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        request=TokenObtainInputSerializer, responses={200: TokenIssuedOutputSerializer}, auth=[]
    )
    def post(self, request):
        data = TokenObtainInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The Django request, not DRF's: django-axes marks a locked-out login on
        # it, and its middleware answers for that mark (accounts.lockout).
        user = authenticate(
            request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            raise serializers.ValidationError("Unable to log in with provided credentials.")
        try:
            second_factor_check(user=user, code=data.validated_data["otp"])
        except ValidationError:
            # A wrong code is a failed login, for the lockout to count.
            user_login_failed.send(
                sender=__name__,
                credentials={"username": user.get_username()},
                request=request._request,
            )
            raise
        name = data.validated_data.get("name") or request.META.get("HTTP_USER_AGENT", "")[:100]
        token, key = api_token_issue(user=user, name=name)
        issued = {"id": token.pk, "token": key, "expires_at": token.expires_at}
        return Response(TokenIssuedOutputSerializer(issued).data)


class TokenOutputSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="the token of this request")

    class Meta:
        model = ApiToken
        fields = ["id", "prefix", "name", "created_at", "expires_at", "current"]

    def get_current(self, token) -> bool:
        return token == self.context["request"].auth


class TokenListApi(APIView):
    """Your tokens that still work (never their keys)."""

    @extend_schema(responses={200: TokenOutputSerializer(many=True)})
    def get(self, request):
        tokens = api_token_list(user=request.user)
        return Response(TokenOutputSerializer(tokens, many=True, context={"request": request}).data)


class TokenRevokeApi(APIView):
    """End one of your tokens, this one included."""

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        token = get_api_token_for_owner(user=request.user, token_id=pk)
        api_token_revoke(token=token, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

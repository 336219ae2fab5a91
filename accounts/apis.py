"""API tokens: issued for a username and password, listed and revoked by their owner."""

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.models import ApiToken, Company, User
from accounts.selectors import (
    api_token_list,
    get_api_token_for_owner,
    get_user_for_admin,
    user_list,
)
from accounts.services import (
    api_token_issue,
    api_token_revoke,
    second_factor_check,
    user_create,
    user_update,
)
from agencies.models import Agency
from core.pagination import CappedPageNumberPagination


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


# --- Users, for platform administrators -------------------------------------------


class UserOutputSerializer(serializers.ModelSerializer):
    company = serializers.CharField(source="company.tax_id", default=None)
    agency = serializers.CharField(source="agency.code", default=None)
    offices = serializers.SerializerMethodField(help_text="UN/LOCODEs of the offices posted at")

    class Meta:
        model = User
        fields = [
            "id", "username", "role", "company", "agency", "offices", "first_name",
            "last_name", "email", "is_active", "last_login", "date_joined",
        ]  # fmt: skip

    def get_offices(self, user) -> list[str]:
        return sorted(office.code for office in user.offices.all())


class UserChangeInputSerializer(serializers.Serializer):
    """What an administrator sets on a user (accounts.services.USER_CHANGEABLE)."""

    role = serializers.ChoiceField(choices=User.Role.choices)
    company = serializers.SlugRelatedField(
        slug_field="tax_id", queryset=Company.objects.all(), allow_null=True, required=False,
        help_text="tax id of the trader's company",
    )  # fmt: skip
    agency = serializers.SlugRelatedField(
        slug_field="code", queryset=Agency.objects.all(), allow_null=True, required=False,
        help_text="code of the staff member's agency",
    )  # fmt: skip
    offices = serializers.ListField(
        child=serializers.CharField(max_length=8),
        required=False,
        help_text="UN/LOCODEs of the customs offices (GET /api/v1/offices/): an officer "
        "works at one, a supervisor oversees one or more, traders and administrators none",
    )
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class UserCreateInputSerializer(UserChangeInputSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    is_active = None

    def validate_password(self, value):
        password_validation.validate_password(value)
        return value


def _admin_only(request) -> None:
    # The directory of users is the administrators'; anyone else finds nothing here.
    user_list(user=request.user)


class UserListApi(APIView):
    pagination_class = CappedPageNumberPagination

    @extend_schema(
        summary="Users (platform administrators)",
        parameters=[
            OpenApiParameter("role", str, enum=User.Role.values),
            OpenApiParameter("office", str, description="posted at this office (UN/LOCODE)"),
        ],
        responses=UserOutputSerializer(many=True),
    )
    def get(self, request):
        users = user_list(
            user=request.user,
            role=request.query_params.get("role", ""),
            office=request.query_params.get("office", ""),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(users, request, view=self)
        return paginator.get_paginated_response(UserOutputSerializer(page, many=True).data)

    @extend_schema(
        summary="Create a user (platform administrators); officers name their office",
        request=UserCreateInputSerializer,
        responses={201: UserOutputSerializer},
    )
    def post(self, request):
        _admin_only(request)
        data = UserCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_create(actor=request.user, **data.validated_data)
        user = get_user_for_admin(user=request.user, pk=user.pk)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class UserDetailApi(APIView):
    @extend_schema(summary="One user (platform administrators)", responses=UserOutputSerializer)
    def get(self, request, pk):
        return Response(UserOutputSerializer(get_user_for_admin(user=request.user, pk=pk)).data)

    @extend_schema(
        summary="Change a user (platform administrators): role, company, agency, offices...",
        description="Only the fields sent change; `offices`, when sent, replaces the offices "
        "the user is posted at.",
        request=UserChangeInputSerializer(partial=True),
        responses=UserOutputSerializer,
    )
    def patch(self, request, pk):
        user = get_user_for_admin(user=request.user, pk=pk)
        data = UserChangeInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user_update(user=user, actor=request.user, **data.validated_data)
        return Response(UserOutputSerializer(get_user_for_admin(user=request.user, pk=pk)).data)

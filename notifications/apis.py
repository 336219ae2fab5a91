from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.models import Notification
from notifications.selectors import notification_list, unread_count
from notifications.services import notifications_mark_read


class NotificationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "verb", "text", "url", "created_at", "read_at"]


class NotificationListApi(APIView):
    class Pagination(PageNumberPagination):
        page_size_query_param = "page_size"
        max_page_size = 200

        def get_paginated_response_schema(self, schema):
            response = super().get_paginated_response_schema(schema)
            response["properties"]["unread"] = {
                "type": "integer",
                "description": "How many of your notifications are unread.",
            }
            response["required"] = [*response["required"], "unread"]
            return response

    pagination_class = Pagination

    @extend_schema(
        summary="Your notifications, newest first",
        responses=NotificationOutputSerializer(many=True),
    )
    def get(self, request):
        paginator = self.pagination_class()
        queryset = notification_list(user=request.user)
        if request.query_params.get("unread") in ("1", "true"):
            queryset = queryset.filter(read_at__isnull=True)
        page = paginator.paginate_queryset(queryset, request, view=self)
        response = paginator.get_paginated_response(
            NotificationOutputSerializer(page, many=True).data
        )
        response.data["unread"] = unread_count(user=request.user)
        return response


class NotificationMarkReadApi(APIView):
    class InputSerializer(serializers.Serializer):
        ids = serializers.ListField(
            child=serializers.IntegerField(), required=False, help_text="Omit to mark all read."
        )

    class OutputSerializer(serializers.Serializer):
        marked = serializers.IntegerField()
        unread = serializers.IntegerField()

    @extend_schema(
        summary="Mark your notifications read (the given ids, or all)",
        request=InputSerializer,
        responses=OutputSerializer,
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = notifications_mark_read(
            user=request.user, ids=serializer.validated_data.get("ids")
        )
        return Response({"marked": marked, "unread": unread_count(user=request.user)})

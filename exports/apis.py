from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance.exports import declaration_exit_confirm
from core.pagination import CappedPageNumberPagination
from core.serializers import ModelSerializer
from declarations.models import Declaration, ExitConfirmation, Item
from declarations.selectors import exports_awaiting_exit, get_export_for_exit, is_customs_staff


def _require_customs_staff(user) -> None:
    if not is_customs_staff(user):
        raise Http404


class ExitConfirmInputSerializer(serializers.Serializer):
    exited_at = serializers.DateTimeField(
        help_text="When the goods left the country, ISO 8601 (not in the future, not before "
        "the release)."
    )
    transport_mode = serializers.ChoiceField(
        choices=Declaration.TransportMode.choices,
        help_text="UN/ECE Recommendation 19 code of the transport the goods left by.",
    )
    transport_identity = serializers.CharField(
        max_length=100, help_text="Vessel and voyage, flight, truck plate or wagon number."
    )
    notes = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="For customs only."
    )


class ExitConfirmationOutputSerializer(ModelSerializer):
    confirmed_by = serializers.CharField(source="confirmed_by.username")

    class Meta:
        model = ExitConfirmation
        fields = [
            "office", "exited_at", "transport_mode", "transport_identity", "notes",
            "confirmed_by", "confirmed_at",
        ]  # fmt: skip


class ExitItemOutputSerializer(ModelSerializer):
    class Meta:
        model = Item
        fields = ["line_no", "hs_code", "description", "quantity", "unit", "net_mass_kg"]


class ExportAtExitOutputSerializer(ModelSerializer):
    """An export as its office of exit reads it: what leaves, and when it must have."""

    reference = serializers.CharField()
    declarant = serializers.CharField(source="company.name")
    exit_due_by = serializers.DateTimeField(allow_null=True)
    exit_overdue = serializers.BooleanField(
        help_text="Released and not confirmed past its time to exit."
    )

    class Meta:
        model = Declaration
        fields = [
            "id", "reference", "status", "declarant", "exporter_name", "consignee_name",
            "country_of_destination", "office_of_departure", "office_of_exit", "transport_mode",
            "transport_document", "packages", "gross_mass_kg", "released_at", "exit_due_by",
            "exit_overdue", "exit_overdue_at",
        ]  # fmt: skip


class ExportAtExitDetailOutputSerializer(ExportAtExitOutputSerializer):
    items = ExitItemOutputSerializer(many=True)
    exit_confirmation = ExitConfirmationOutputSerializer(allow_null=True)

    class Meta(ExportAtExitOutputSerializer.Meta):
        fields = [*ExportAtExitOutputSerializer.Meta.fields, "items", "exit_confirmation"]


def export_at_exit_data(*, user, pk) -> dict:
    declaration = get_export_for_exit(user=user, pk=pk)
    return ExportAtExitDetailOutputSerializer(declaration).data


class ExitListApi(APIView):
    pagination_class = CappedPageNumberPagination

    @extend_schema(
        summary="Exports to confirm at my offices of exit (overdue first, then oldest)",
        description="Released exports whose office of exit is one of the offices the customs "
        "officer or supervisor is posted at, not yet confirmed as having left.",
        parameters=[OpenApiParameter("office", str, description="Only this office (one of mine).")],
        responses=ExportAtExitOutputSerializer(many=True),
    )
    def get(self, request):
        _require_customs_staff(request.user)
        office = request.query_params.get("office")
        exports = exports_awaiting_exit(user=request.user, offices=[office] if office else None)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(exports, request, view=self)
        return paginator.get_paginated_response(ExportAtExitOutputSerializer(page, many=True).data)


class ExitDetailApi(APIView):
    @extend_schema(
        summary="One export leaving by my office: the goods, and its exit once confirmed",
        responses=ExportAtExitDetailOutputSerializer,
    )
    def get(self, request, pk: int):
        _require_customs_staff(request.user)
        return Response(export_at_exit_data(user=request.user, pk=pk))


class ExitConfirmApi(APIView):
    @extend_schema(
        summary="Confirm that a released export's goods left the country",
        description="By a customs officer or supervisor posted at the export's office of "
        "exit. The declaration becomes `exited` and the declarant is told the date.",
        request=ExitConfirmInputSerializer,
        responses={
            201: ExportAtExitDetailOutputSerializer,
            400: OpenApiResponse(description="`fields` names what is wrong (e.g. `exited_at`)."),
            409: OpenApiResponse(
                description="Not released for export (or its exit confirmed already)."
            ),
        },
    )
    def post(self, request, pk: int):
        _require_customs_staff(request.user)
        declaration = get_export_for_exit(user=request.user, pk=pk)
        serializer = ExitConfirmInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        declaration_exit_confirm(
            declaration_id=declaration.pk, actor=request.user, **serializer.validated_data
        )
        return Response(
            export_at_exit_data(user=request.user, pk=pk), status=status.HTTP_201_CREATED
        )

"""Reference data over the API, for brokers' systems: what a declaration may name."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from reference.models import Office
from reference.selectors import office_list


class PositionSerializer(serializers.Serializer):
    latitude = serializers.DecimalField(max_digits=8, decimal_places=5, coerce_to_string=False)
    longitude = serializers.DecimalField(max_digits=8, decimal_places=5, coerce_to_string=False)


class OfficeOutputSerializer(serializers.ModelSerializer):
    position = serializers.SerializerMethodField(help_text="WGS 84; null when not recorded")

    class Meta:
        model = Office
        fields = ["code", "name", "country", "kind", "position"]

    @extend_schema_field(PositionSerializer(allow_null=True))
    def get_position(self, office):
        if office.latitude is None or office.longitude is None:
            return None
        return PositionSerializer(office).data


class OfficeListApi(APIView):
    @extend_schema(
        summary="Customs offices a declaration may name (UN/LOCODE codes)",
        description="The code is what `office_of_entry`, `office_of_departure`, "
        "`office_of_exit`, `office_of_destination` and `itinerary` take. An import names "
        "its office of entry; an export its offices of departure and exit; a transit "
        "movement its offices of departure and destination.",
        parameters=[
            OpenApiParameter("kind", str, enum=Office.Kind.values),
            OpenApiParameter("country", str, description="ISO 3166 code"),
        ],
        responses=OfficeOutputSerializer(many=True),
    )
    def get(self, request):
        offices = office_list(
            kind=request.query_params.get("kind", ""),
            country=request.query_params.get("country", ""),
        )
        return Response(OfficeOutputSerializer(offices, many=True).data)


class OfficeDetailApi(APIView):
    @extend_schema(summary="One customs office", responses=OfficeOutputSerializer)
    def get(self, request, code: str):
        office = get_object_or_404(office_list(), code=code.upper())
        return Response(OfficeOutputSerializer(office).data)

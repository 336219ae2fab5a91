from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance import serializers as s
from clearance.selectors import STAGES, get_movement_for_user, movement_list
from clearance.transit import (
    transit_arrival_record,
    transit_control_record,
    transit_discharge,
    transit_discrepancies_resolve,
    transit_release_under_seal,
)
from core.pagination import CappedPageNumberPagination
from core.serializers import ReasonInputSerializer


def movement_data(*, user, pk) -> dict:
    return s.MovementOutputSerializer(get_movement_for_user(user=user, pk=pk)).data


class MovementListApi(APIView):
    pagination_class = CappedPageNumberPagination

    @extend_schema(
        summary="Transit movements departing from or bound for your offices (customs)",
        parameters=[
            OpenApiParameter("office", str, description="one of your offices (UN/LOCODE)"),
            OpenApiParameter(
                "stage",
                str,
                enum=list(STAGES),
                description="to_release: cleared, to seal at the office of departure; "
                "expected: under seal, bound for the office (earliest deadline first); "
                "arrived: to control and discharge",
            ),
        ],
        responses=s.MovementOutputSerializer(many=True),
    )
    def get(self, request):
        stage = request.query_params.get("stage", "")
        office = request.query_params.get("office", "")
        movements = movement_list(user=request.user, office=office, stage="")
        if stage:
            movements = (
                movement_list(user=request.user, office=office, stage=stage)
                if stage in STAGES
                else movements.none()
            )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(movements, request, view=self)
        return paginator.get_paginated_response(s.MovementOutputSerializer(page, many=True).data)


class MovementDetailApi(APIView):
    @extend_schema(
        summary="One transit movement: seals, deadline, guarantee, arrival and findings",
        responses=s.MovementOutputSerializer,
    )
    def get(self, request, pk: int):
        return Response(movement_data(user=request.user, pk=pk))


class MovementReleaseApi(APIView):
    @extend_schema(
        summary="Release a cleared movement under seal (an officer of its office of "
        "departure); the time limit starts",
        request=s.ReleaseInputSerializer,
        responses={200: s.MovementOutputSerializer},
    )
    def post(self, request, pk: int):
        movement = get_movement_for_user(user=request.user, pk=pk)
        serializer = s.ReleaseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transit_release_under_seal(
            declaration_id=movement.pk, actor=request.user, **serializer.validated_data
        )
        return Response(movement_data(user=request.user, pk=pk))


class MovementArrivalApi(APIView):
    @extend_schema(
        summary="Record the arrival at the office of destination (an officer posted there)",
        request=s.ArrivalInputSerializer,
        responses={200: s.MovementOutputSerializer},
    )
    def post(self, request, pk: int):
        movement = get_movement_for_user(user=request.user, pk=pk)
        serializer = s.ArrivalInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transit_arrival_record(
            declaration_id=movement.pk, actor=request.user, **serializer.validated_data
        )
        return Response(movement_data(user=request.user, pk=pk))


class MovementControlApi(APIView):
    @extend_schema(
        summary="Record the control of the goods at destination (mandatory after a seal or "
        "sensor alert)",
        request=s.ControlInputSerializer,
        responses={200: s.MovementOutputSerializer},
    )
    def post(self, request, pk: int):
        movement = get_movement_for_user(user=request.user, pk=pk)
        serializer = s.ControlInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transit_control_record(
            declaration_id=movement.pk, actor=request.user, **serializer.validated_data
        )
        return Response(movement_data(user=request.user, pk=pk))


class MovementResolveApi(APIView):
    @extend_schema(
        summary="Resolve an arrival's discrepancies with a reason (a customs supervisor of "
        "the office of destination who did not record them)",
        request=ReasonInputSerializer,
        responses={200: s.MovementOutputSerializer},
    )
    def post(self, request, pk: int):
        movement = get_movement_for_user(user=request.user, pk=pk)
        serializer = ReasonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transit_discrepancies_resolve(
            declaration_id=movement.pk, actor=request.user, **serializer.validated_data
        )
        return Response(movement_data(user=request.user, pk=pk))


class MovementDischargeApi(APIView):
    @extend_schema(
        summary="Discharge an arrived movement; its guarantee is released",
        request=None,
        responses={200: s.MovementOutputSerializer},
    )
    def post(self, request, pk: int):
        movement = get_movement_for_user(user=request.user, pk=pk)
        transit_discharge(declaration_id=movement.pk, actor=request.user)
        return Response(movement_data(user=request.user, pk=pk))

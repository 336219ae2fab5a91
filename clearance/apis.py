from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
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
        known = stage in STAGES
        movements = movement_list(user=request.user, office=office, stage=stage if known else "")
        if stage and not known:
            movements = movements.none()
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


class MovementActionApi(APIView):
    """One step of a movement, posted by an officer: the movement must be one the
    user sees (else 404), `input_serializer` checks the body, `service` (a
    clearance.transit function) acts, and the answer is the movement as it now is."""

    input_serializer: type | None = None
    service = None

    def post(self, request, pk: int):
        movement = get_movement_for_user(user=request.user, pk=pk)
        data = {}
        if self.input_serializer is not None:
            serializer = self.input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        type(self).service(declaration_id=movement.pk, actor=request.user, **data)
        return Response(movement_data(user=request.user, pk=pk))


def _action_schema(summary: str, request):
    return extend_schema_view(
        post=extend_schema(
            summary=summary, request=request, responses={200: s.MovementOutputSerializer}
        )
    )


@_action_schema(
    "Release a cleared movement under seal (an officer of its office of departure); the "
    "time limit starts",
    s.ReleaseInputSerializer,
)
class MovementReleaseApi(MovementActionApi):
    input_serializer = s.ReleaseInputSerializer
    service = staticmethod(transit_release_under_seal)


@_action_schema(
    "Record the arrival at the office of destination (an officer posted there)",
    s.ArrivalInputSerializer,
)
class MovementArrivalApi(MovementActionApi):
    input_serializer = s.ArrivalInputSerializer
    service = staticmethod(transit_arrival_record)


@_action_schema(
    "Record the control of the goods at destination (mandatory after a seal or sensor alert)",
    s.ControlInputSerializer,
)
class MovementControlApi(MovementActionApi):
    input_serializer = s.ControlInputSerializer
    service = staticmethod(transit_control_record)


@_action_schema(
    "Resolve an arrival's discrepancies with a reason (a customs supervisor of the office "
    "of destination who did not record them)",
    ReasonInputSerializer,
)
class MovementResolveApi(MovementActionApi):
    input_serializer = ReasonInputSerializer
    service = staticmethod(transit_discrepancies_resolve)


@_action_schema("Discharge an arrived movement; its guarantee is released", None)
class MovementDischargeApi(MovementActionApi):
    service = staticmethod(transit_discharge)

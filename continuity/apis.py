"""REST endpoints of the continuity desk, under /api/v1/continuity/ (namespace "api"):
the same services and selectors as its pages."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance.continuity import declarations_divert, lane_decisions_rescore_request
from continuity import serializers as s
from continuity.selectors import (
    ensure_admin,
    get_office_for_user,
    get_rescore_job,
    office_desk,
    office_overview,
    surge_health,
)
from core.serializers import ReasonInputSerializer
from reference.services import office_close, office_reopen
from risk.selectors import scoring_state
from risk.services import (
    planned_fallback_approve,
    planned_fallback_propose,
    planned_fallback_refuse,
    planned_fallback_switch_off,
)


def _desk_data(request, code: str) -> dict:
    office = get_office_for_user(user=request.user, code=code)
    return s.OfficeDeskSerializer(office_desk(user=request.user, office=office)).data


class OfficeListApi(APIView):
    @extend_schema(
        summary="Customs offices, open or closed, with the declarations waiting at each "
        "(administrators; a customs supervisor: the offices they oversee)",
        responses=s.OfficeRowSerializer(many=True),
    )
    def get(self, request):
        rows = office_overview(user=request.user)
        return Response(s.OfficeRowSerializer(rows, many=True).data)


class OfficeDetailApi(APIView):
    @extend_schema(
        summary="One office's closure, its closures before, and while it is closed the "
        "declarations waiting there and the offices that may take them",
        responses=s.OfficeDeskSerializer,
    )
    def get(self, request, code: str):
        return Response(_desk_data(request, code))


class OfficeCloseApi(APIView):
    @extend_schema(
        summary="Close an office (administrators): no lodgement may name it from "
        "`closed_from` until it reopens",
        request=s.CloseInputSerializer,
        responses={201: s.ClosureOutputSerializer},
    )
    def post(self, request, code: str):
        ensure_admin(request.user)
        office = get_office_for_user(user=request.user, code=code)
        serializer = s.CloseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        closure = office_close(
            office_code=office.code, actor=request.user, **serializer.validated_data
        )
        return Response(s.ClosureOutputSerializer(closure).data, status=status.HTTP_201_CREATED)


class OfficeReopenApi(APIView):
    @extend_schema(
        summary="Open a closed office again, or call off an announced closure (administrators)",
        request=ReasonInputSerializer,
        responses={200: s.ClosureOutputSerializer},
    )
    def post(self, request, code: str):
        ensure_admin(request.user)
        office = get_office_for_user(user=request.user, code=code)
        serializer = ReasonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        closure = office_reopen(
            office_code=office.code, actor=request.user, **serializer.validated_data
        )
        return Response(s.ClosureOutputSerializer(closure).data)


class OfficeDivertApi(APIView):
    @extend_schema(
        summary="Divert declarations waiting at a closed office to another open office "
        "(administrators; customs supervisors of the office): all of them, or those named",
        request=s.DivertInputSerializer,
        responses={200: s.DivertOutputSerializer},
    )
    def post(self, request, code: str):
        office = get_office_for_user(user=request.user, code=code)
        serializer = s.DivertInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        diversions = declarations_divert(
            office_code=office.code,
            to_office=data["to_office"],
            reason=data["reason"],
            actor=request.user,
            declaration_ids=data.get("declarations"),
        )
        return Response(
            s.DivertOutputSerializer({"diverted": len(diversions), "declarations": diversions}).data
        )


def _scoring_data() -> dict:
    return s.ScoringStateSerializer(scoring_state(with_rescores=True)).data


class ScoringStateApi(APIView):
    @extend_schema(
        summary="How lanes are decided now: the planned fallback, the open scoring faults, "
        "the fallback decisions not re-scored and the latest re-scoring jobs (administrators)",
        responses=s.ScoringStateSerializer,
    )
    def get(self, request):
        ensure_admin(request.user)
        return Response(_scoring_data())


class PlannedFallbackApi(APIView):
    @extend_schema(
        summary="Plan an outage of the risk engine (administrators): `default_lane` applies at "
        "once (201, status on); `rules_only` waits for a second administrator (201, proposed)",
        request=s.PlannedFallbackInputSerializer,
        responses={201: s.PlannedFallbackOutputSerializer},
    )
    def post(self, request):
        ensure_admin(request.user)
        serializer = s.PlannedFallbackInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        planned = planned_fallback_propose(actor=request.user, **serializer.validated_data)
        return Response(
            s.PlannedFallbackOutputSerializer(planned).data, status=status.HTTP_201_CREATED
        )


class PlannedFallbackApproveApi(APIView):
    @extend_schema(
        summary="Approve a proposed rules-only fallback: another administrator than its "
        "proposer; it is on at once",
        request=None,
        responses={200: s.PlannedFallbackOutputSerializer},
    )
    def post(self, request, pk: int):
        ensure_admin(request.user)
        planned = planned_fallback_approve(fallback_id=pk, actor=request.user)
        return Response(s.PlannedFallbackOutputSerializer(planned).data)


class PlannedFallbackRefuseApi(APIView):
    @extend_schema(
        summary="Refuse a proposed fallback, or withdraw one's own, with a reason",
        request=ReasonInputSerializer,
        responses={200: s.PlannedFallbackOutputSerializer},
    )
    def post(self, request, pk: int):
        ensure_admin(request.user)
        serializer = ReasonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        planned = planned_fallback_refuse(
            fallback_id=pk, actor=request.user, **serializer.validated_data
        )
        return Response(s.PlannedFallbackOutputSerializer(planned).data)


class PlannedFallbackOffApi(APIView):
    @extend_schema(
        summary="Switch the planned fallback off: the full engine scores again",
        request=s.SwitchOffInputSerializer,
        responses={200: s.PlannedFallbackOutputSerializer},
    )
    def post(self, request):
        ensure_admin(request.user)
        serializer = s.SwitchOffInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        planned = planned_fallback_switch_off(
            actor=request.user, note=serializer.validated_data.get("note", "")
        )
        return Response(s.PlannedFallbackOutputSerializer(planned).data)


class RescoreApi(APIView):
    @extend_schema(
        summary="Re-score every lane decision a fallback took, now the engine is back "
        "(administrators): a worker's job, answered 202 with it",
        request=None,
        responses={202: s.RescoreJobOutputSerializer},
    )
    def post(self, request):
        ensure_admin(request.user)
        job = lane_decisions_rescore_request(actor=request.user)
        return Response(s.RescoreJobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class RescoreJobApi(APIView):
    @extend_schema(
        summary="One re-scoring job: progress, then how many were raised, recorded, "
        "proposed, kept or too late",
        responses=s.RescoreJobOutputSerializer,
    )
    def get(self, request, pk: int):
        return Response(
            s.RescoreJobOutputSerializer(get_rescore_job(user=request.user, pk=pk)).data
        )


class HealthApi(APIView):
    @extend_schema(
        summary="Surge health for monitoring: queue depth, scoring lag, waiting reviews by "
        "agency and office (administrators; supervisors: their agency at their offices)",
        responses=s.HealthOutputSerializer,
    )
    def get(self, request):
        return Response(s.HealthOutputSerializer(surge_health(user=request.user)).data)

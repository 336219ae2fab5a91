"""REST endpoints of the emergencies app, included under /api/v1/ (namespace "api").

Administrators declare, extend and end emergencies (each a proposal a second
administrator approves) and keep the registry of humanitarian consignees; a trader
asks for their company's registration; everyone signed in reads what is in force.
"""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import proposals_with_status
from core.pagination import CappedPageNumberPagination
from core.serializers import ReasonInputSerializer
from emergencies import serializers as s
from emergencies.selectors import (
    consignee_list,
    emergencies_in_force,
    emergency_list,
    emergency_proposal_list,
    get_consignee,
    get_emergency,
    get_emergency_proposal,
)
from emergencies.services import (
    consignee_decide,
    consignee_register,
    emergency_declare_propose,
    emergency_end_propose,
    emergency_extend_propose,
    emergency_proposal_approve,
    emergency_proposal_refuse,
)


def _admins_only(user) -> None:
    # Emergencies are declared by administrators; anyone else reads what is in force only.
    if not user.is_platform_admin:
        raise Http404


def _proposal_response(proposal, *, code=status.HTTP_200_OK) -> Response:
    return Response(s.EmergencyProposalOutputSerializer(proposal).data, status=code)


class EmergencyListApi(APIView):
    pagination_class = CappedPageNumberPagination

    @extend_schema(
        summary="Emergencies, declared or proposed, latest first (administrators)",
        responses=s.EmergencyOutputSerializer(many=True),
    )
    def get(self, request):
        _admins_only(request.user)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(emergency_list(), request, view=self)
        return paginator.get_paginated_response(s.EmergencyOutputSerializer(page, many=True).data)

    @extend_schema(
        summary="Propose to declare an emergency (administrators; in force once a second "
        "administrator approves the proposal, from its start)",
        request=s.EmergencyDeclareInputSerializer,
        responses={201: s.EmergencyProposalOutputSerializer},
    )
    def post(self, request):
        _admins_only(request.user)
        serializer = s.EmergencyDeclareInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = emergency_declare_propose(actor=request.user, **serializer.validated_data)
        return _proposal_response(proposal, code=status.HTTP_201_CREATED)


class EmergencyInForceApi(APIView):
    @extend_schema(
        summary="The emergencies in force now: name, period, offices, listed goods and "
        "relief measures (anyone signed in)",
        description="What a declarant needs to know: a relief consignment is an import, for "
        "an approved humanitarian consignee, through one of the offices, of listed goods "
        "only. `POST /api/v1/declarations/validate/` says whether a given declaration is one.",
        responses=s.EmergencyInForceOutputSerializer(many=True),
    )
    def get(self, request):
        emergencies = emergencies_in_force()
        return Response(s.EmergencyInForceOutputSerializer(emergencies, many=True).data)


class EmergencyDetailApi(APIView):
    @extend_schema(
        summary="One emergency with its history of proposals (administrators)",
        responses=s.EmergencyDetailOutputSerializer,
    )
    def get(self, request, pk: int):
        emergency = get_emergency(user=request.user, pk=pk)
        return Response(s.EmergencyDetailOutputSerializer(emergency).data)


class EmergencyExtendApi(APIView):
    @extend_schema(
        summary="Propose a later end for a declared emergency (a second administrator approves)",
        request=s.EmergencyExtendInputSerializer,
        responses={201: s.EmergencyProposalOutputSerializer},
    )
    def post(self, request, pk: int):
        emergency = get_emergency(user=request.user, pk=pk)
        serializer = s.EmergencyExtendInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = emergency_extend_propose(
            actor=request.user, emergency_id=emergency.pk, **serializer.validated_data
        )
        return _proposal_response(proposal, code=status.HTTP_201_CREATED)


class EmergencyEndApi(APIView):
    @extend_schema(
        summary="Propose to end a declared emergency (it ends when a second administrator "
        "approves)",
        request=ReasonInputSerializer,
        responses={201: s.EmergencyProposalOutputSerializer},
    )
    def post(self, request, pk: int):
        emergency = get_emergency(user=request.user, pk=pk)
        serializer = ReasonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = emergency_end_propose(
            actor=request.user, emergency_id=emergency.pk, **serializer.validated_data
        )
        return _proposal_response(proposal, code=status.HTTP_201_CREATED)


class EmergencyProposalListApi(APIView):
    pagination_class = CappedPageNumberPagination

    @extend_schema(
        summary="Proposals to declare, extend or end an emergency (administrators), waiting "
        "ones by default",
        parameters=[OpenApiParameter("status", str, description="proposed (default) or all")],
        responses=s.EmergencyProposalOutputSerializer(many=True),
    )
    def get(self, request):
        proposals = emergency_proposal_list(user=request.user).order_by("-proposed_at", "-pk")
        proposals = proposals_with_status(proposals, request.query_params.get("status", "proposed"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(proposals, request, view=self)
        return paginator.get_paginated_response(
            s.EmergencyProposalOutputSerializer(page, many=True).data
        )


class EmergencyProposalApproveApi(APIView):
    @extend_schema(
        summary="Approve a proposal: an administrator other than its proposer (four eyes)",
        request=None,
        responses={200: s.EmergencyProposalOutputSerializer},
    )
    def post(self, request, pk: int):
        proposal = get_emergency_proposal(user=request.user, pk=pk)
        emergency_proposal_approve(proposal_id=proposal.pk, actor=request.user)
        return _proposal_response(get_emergency_proposal(user=request.user, pk=pk))


class EmergencyProposalRefuseApi(APIView):
    @extend_schema(
        summary="Refuse a proposal, or withdraw one's own, with a reason (administrators)",
        request=ReasonInputSerializer,
        responses={200: s.EmergencyProposalOutputSerializer},
    )
    def post(self, request, pk: int):
        proposal = get_emergency_proposal(user=request.user, pk=pk)
        serializer = ReasonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        emergency_proposal_refuse(
            proposal_id=proposal.pk, actor=request.user, **serializer.validated_data
        )
        return _proposal_response(get_emergency_proposal(user=request.user, pk=pk))


# ---- Humanitarian consignees -----------------------------------------------------------------


def _consignees_for(user):
    # Administrators keep the registry, a trader reads their company's registration;
    # nobody else has anything here.
    if not (user.is_platform_admin or user.is_trader):
        raise Http404
    return consignee_list(user=user)


class ConsigneeListApi(APIView):
    pagination_class = CappedPageNumberPagination

    @extend_schema(
        summary="Humanitarian consignees: the registry (administrators), or your company's "
        "registration (trader)",
        responses=s.ConsigneeOutputSerializer(many=True),
    )
    def get(self, request):
        consignees = _consignees_for(request.user).order_by("company__name", "pk")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(consignees, request, view=self)
        return paginator.get_paginated_response(s.ConsigneeOutputSerializer(page, many=True).data)

    @extend_schema(
        summary="Ask to register a humanitarian consignee: a trader for their company, an "
        "administrator for a company named by tax id (another administrator approves)",
        request=s.ConsigneeRegisterInputSerializer,
        responses={201: s.ConsigneeOutputSerializer},
    )
    def post(self, request):
        _consignees_for(request.user)
        serializer = s.ConsigneeRegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consignee = consignee_register(actor=request.user, **serializer.validated_data)
        consignee = get_consignee(user=request.user, pk=consignee.pk)
        return Response(s.ConsigneeOutputSerializer(consignee).data, status=status.HTTP_201_CREATED)


class ConsigneeDetailApi(APIView):
    @extend_schema(
        summary="One humanitarian consignee (administrators; a trader: their company's)",
        responses=s.ConsigneeOutputSerializer,
    )
    def get(self, request, pk: int):
        _consignees_for(request.user)
        return Response(s.ConsigneeOutputSerializer(get_consignee(user=request.user, pk=pk)).data)


class ConsigneeDecideApi(APIView):
    @extend_schema(
        summary="Approve, refuse, suspend or reinstate a humanitarian consignee "
        "(administrators; not the one who registered it)",
        request=s.ConsigneeDecideInputSerializer,
        responses={200: s.ConsigneeOutputSerializer},
    )
    def post(self, request, pk: int):
        _admins_only(request.user)
        consignee = get_consignee(user=request.user, pk=pk)
        serializer = s.ConsigneeDecideInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consignee_decide(actor=request.user, consignee_id=consignee.pk, **serializer.validated_data)
        consignee = get_consignee(user=request.user, pk=pk)
        return Response(s.ConsigneeOutputSerializer(consignee).data)

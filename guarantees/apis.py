from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import proposals_with_status
from core.pagination import CappedPageNumberPagination
from core.serializers import ReasonInputSerializer
from guarantees import serializers as s
from guarantees.selectors import (
    ensure_keeps_registry,
    get_guarantee_for_user,
    get_guarantee_proposal_for_user,
    guarantee_list,
    guarantee_proposal_list,
)
from guarantees.services import (
    guarantee_proposal_approve,
    guarantee_proposal_refuse,
    guarantee_propose,
    guarantee_raise_propose,
)


def guarantee_detail_data(*, user, pk) -> dict:
    guarantee = get_guarantee_for_user(user=user, pk=pk, with_details=True)
    return s.GuaranteeDetailOutputSerializer(guarantee).data


class GuaranteeListApi(APIView):
    pagination_class = CappedPageNumberPagination

    @extend_schema(
        summary="Guarantees: your company's (trader), or the registry (customs officers)",
        responses=s.GuaranteeOutputSerializer(many=True),
    )
    def get(self, request):
        paginator = self.pagination_class()
        guarantees = guarantee_list(user=request.user).order_by("reference", "pk")
        page = paginator.paginate_queryset(guarantees, request, view=self)
        return paginator.get_paginated_response(s.GuaranteeOutputSerializer(page, many=True).data)


class GuaranteeDetailApi(APIView):
    @extend_schema(
        summary="One guarantee with the amounts its movements hold of it",
        responses=s.GuaranteeDetailOutputSerializer,
    )
    def get(self, request, pk: int):
        return Response(guarantee_detail_data(user=request.user, pk=pk))


class GuaranteeRaiseApi(APIView):
    @extend_schema(
        summary="Propose a higher amount for a guarantee (customs; a second supervisor approves)",
        request=s.GuaranteeRaiseInputSerializer,
        responses={201: s.GuaranteeProposalOutputSerializer},
    )
    def post(self, request, pk: int):
        ensure_keeps_registry(request.user)
        guarantee = get_guarantee_for_user(user=request.user, pk=pk)
        serializer = s.GuaranteeRaiseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = guarantee_raise_propose(
            actor=request.user, guarantee_id=guarantee.pk, **serializer.validated_data
        )
        return Response(
            s.GuaranteeProposalOutputSerializer(proposal).data, status=status.HTTP_201_CREATED
        )


class GuaranteeProposalListApi(APIView):
    pagination_class = CappedPageNumberPagination

    @extend_schema(
        summary="Proposals to accept or raise a guarantee (customs), waiting ones by default",
        parameters=[OpenApiParameter("status", str, description="proposed (default) or all")],
        responses=s.GuaranteeProposalOutputSerializer(many=True),
    )
    def get(self, request):
        paginator = self.pagination_class()
        proposals = guarantee_proposal_list(user=request.user).order_by("-proposed_at", "-pk")
        proposals = proposals_with_status(proposals, request.query_params.get("status", "proposed"))
        page = paginator.paginate_queryset(proposals, request, view=self)
        return paginator.get_paginated_response(
            s.GuaranteeProposalOutputSerializer(page, many=True).data
        )

    @extend_schema(
        summary="Register a trader's guarantee and propose to accept it (customs; a second "
        "supervisor approves)",
        request=s.GuaranteeProposeInputSerializer,
        responses={201: s.GuaranteeProposalOutputSerializer},
    )
    def post(self, request):
        ensure_keeps_registry(request.user)
        serializer = s.GuaranteeProposeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = guarantee_propose(actor=request.user, **serializer.validated_data)
        return Response(
            s.GuaranteeProposalOutputSerializer(proposal).data, status=status.HTTP_201_CREATED
        )


class GuaranteeProposalApproveApi(APIView):
    @extend_schema(
        summary="Approve a proposal: a customs supervisor other than its proposer",
        request=None,
        responses={200: s.GuaranteeProposalOutputSerializer},
    )
    def post(self, request, pk: int):
        proposal = get_guarantee_proposal_for_user(user=request.user, pk=pk)
        guarantee_proposal_approve(proposal_id=proposal.pk, actor=request.user)
        proposal = get_guarantee_proposal_for_user(user=request.user, pk=pk)
        return Response(s.GuaranteeProposalOutputSerializer(proposal).data)


class GuaranteeProposalRefuseApi(APIView):
    @extend_schema(
        summary="Refuse a proposal (customs supervisor), or withdraw one's own, with a reason",
        request=ReasonInputSerializer,
        responses={200: s.GuaranteeProposalOutputSerializer},
    )
    def post(self, request, pk: int):
        proposal = get_guarantee_proposal_for_user(user=request.user, pk=pk)
        serializer = ReasonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        guarantee_proposal_refuse(
            proposal_id=proposal.pk, actor=request.user, **serializer.validated_data
        )
        proposal = get_guarantee_proposal_for_user(user=request.user, pk=pk)
        return Response(s.GuaranteeProposalOutputSerializer(proposal).data)

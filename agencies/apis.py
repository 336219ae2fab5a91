from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies import serializers as s
from agencies.models import LaneChangeProposal
from agencies.selectors import (
    QueueFilters,
    ReviewQueuePages,
    ReviewQueuePaginator,
    get_lane_proposal_for_user,
    get_permit_for_user,
    get_query_for_user,
    get_review_for_user,
    lane_proposal_list,
    permit_list,
    query_list,
    review_queue_counts,
)
from agencies.services import permit_issue, permit_revoke, review_claim
from clearance.services import (
    declaration_detention_decide,
    declaration_lane_override,
    inspection_record,
    lane_change_approve,
    lane_change_refuse,
    query_answer,
    review_approve,
    review_query,
    review_reject,
)
from core.models import proposals_with_status
from core.pagination import CappedPageNumberPagination

CONFLICT = OpenApiResponse(
    description="Someone else decided or holds the review; `detail` says who."
)
QUEUE_PARAMETERS = [
    OpenApiParameter("status", str, description="active (default), all, or a review status"),
    OpenApiParameter("lane", str, enum=["red", "yellow", "green"]),
    OpenApiParameter("age", int, description="waiting at least this many days"),
    OpenApiParameter("hs", str, description="HS code prefix of an item in the agency's slice"),
    OpenApiParameter("trader", str, description="company name (part) or tax id"),
    OpenApiParameter("mine", bool, description="only reviews claimed by me"),
    OpenApiParameter(
        "office", str, description="one of the offices you oversee (UN/LOCODE); default: all"
    ),
]


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200


class QueuePagination(CappedPageNumberPagination):
    """The queue's pages; its count stops at COUNT_CAP, as other long lists do."""

    django_paginator_class = ReviewQueuePaginator
    page_size = 25


def _review_and_input(request, pk: int, input_serializer) -> tuple:
    """The review an action is on (404 if the user may not see it) and the action's
    validated input."""
    review = get_review_for_user(user=request.user, pk=pk)
    serializer = input_serializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return review, serializer.validated_data


def review_detail_data(*, user, pk) -> dict:
    review = get_review_for_user(user=user, pk=pk, with_details=True)
    return s.ReviewDetailOutputSerializer(review).data


class ReviewListApi(APIView):
    pagination_class = QueuePagination

    @extend_schema(
        summary="The review queue of your agency at your offices (red first, then oldest)",
        parameters=QUEUE_PARAMETERS,
        responses=s.ReviewListOutputSerializer(many=True),
    )
    def get(self, request):
        paginator = self.pagination_class()
        filters = QueueFilters.from_params(request.query_params)
        pages = ReviewQueuePages(user=request.user, filters=filters)
        page = paginator.paginate_queryset(pages, request, view=self)
        return paginator.get_paginated_response(s.ReviewListOutputSerializer(page, many=True).data)


class ReviewCountsApi(APIView):
    @extend_schema(
        summary="Open work of the agency at your offices by status and lane",
        parameters=[QUEUE_PARAMETERS[-1]],
        responses=s.QueueCountsSerializer,
    )
    def get(self, request):
        office = QueueFilters.from_params(request.query_params).office
        return Response(review_queue_counts(user=request.user, office=office))


class ReviewDetailApi(APIView):
    @extend_schema(
        summary="One review: the agency's slice, risk reasons, queries, inspections, permits",
        responses=s.ReviewDetailOutputSerializer,
    )
    def get(self, request, pk: int):
        return Response(review_detail_data(user=request.user, pk=pk))


class ReviewClaimApi(APIView):
    @extend_schema(
        summary="Claim the review so no other officer works it",
        request=None,
        responses={200: s.ReviewDetailOutputSerializer, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        review = get_review_for_user(user=request.user, pk=pk)
        review_claim(review_id=review.pk, actor=request.user)
        return Response(review_detail_data(user=request.user, pk=pk))


class ReviewApproveApi(APIView):
    @extend_schema(
        summary="Approve the agency's slice, with or without conditions",
        request=s.ApproveInputSerializer,
        responses={200: s.ReviewDetailOutputSerializer, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        review, data = _review_and_input(request, pk, s.ApproveInputSerializer)
        review_approve(review_id=review.pk, actor=request.user, **data)
        return Response(review_detail_data(user=request.user, pk=pk))


class ReviewRejectApi(APIView):
    @extend_schema(
        summary="Reject the slice with a reason; the declaration is rejected",
        request=s.RejectInputSerializer,
        responses={200: s.ReviewDetailOutputSerializer, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        review, data = _review_and_input(request, pk, s.RejectInputSerializer)
        review_reject(review_id=review.pk, actor=request.user, **data)
        return Response(review_detail_data(user=request.user, pk=pk))


class ReviewQueryApi(APIView):
    @extend_schema(
        summary="Ask the trader a question; the declaration waits for the answer",
        request=s.QueryInputSerializer,
        responses={201: s.QueryOutputSerializer, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        review, data = _review_and_input(request, pk, s.QueryInputSerializer)
        query = review_query(review_id=review.pk, actor=request.user, **data)
        return Response(s.QueryOutputSerializer(query).data, status=status.HTTP_201_CREATED)


class ReviewInspectionApi(APIView):
    @extend_schema(
        summary="Record customs' documentary check or physical inspection",
        request=s.InspectionInputSerializer,
        responses={201: s.InspectionOutputSerializer, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        review, data = _review_and_input(request, pk, s.InspectionInputSerializer)
        inspection = inspection_record(review_id=review.pk, actor=request.user, **data)
        return Response(s.InspectionOutputSerializer(inspection).data, status=201)


class ReviewPermitApi(APIView):
    @extend_schema(
        summary="Issue the agency's permit or certificate for its slice",
        request=s.PermitInputSerializer,
        responses={201: s.PermitStaffOutputSerializer, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        review, data = _review_and_input(request, pk, s.PermitInputSerializer)
        permit = permit_issue(review_id=review.pk, actor=request.user, **data)
        return Response(s.PermitStaffOutputSerializer(permit).data, status=201)


class ReviewLaneApi(APIView):
    @extend_schema(
        summary="Change the declaration's lane (customs supervisor, written reason, four eyes)",
        description="Raising scrutiny applies at once (200, the review). Lowering it is a "
        "proposal a second customs supervisor approves (202, the proposal).",
        request=s.LaneOverrideInputSerializer,
        responses={
            200: s.ReviewDetailOutputSerializer,
            202: s.LaneProposalOutputSerializer,
            409: CONFLICT,
        },
    )
    def post(self, request, pk: int):
        review, data = _review_and_input(request, pk, s.LaneOverrideInputSerializer)
        done = declaration_lane_override(
            declaration_id=review.declaration_id, actor=request.user, **data
        )
        if isinstance(done, LaneChangeProposal):
            return Response(s.LaneProposalOutputSerializer(done).data, status=202)
        return Response(review_detail_data(user=request.user, pk=pk))


class ReviewDetentionApi(APIView):
    @extend_schema(
        summary="Seize detained goods, or release them to the review (customs supervisor, "
        "not the officer who found them)",
        request=s.DetentionInputSerializer,
        responses={200: s.ReviewDetailOutputSerializer, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        review, data = _review_and_input(request, pk, s.DetentionInputSerializer)
        declaration_detention_decide(
            declaration_id=review.declaration_id,
            actor=request.user,
            seize=data["decision"] == "seize",
            reason=data["reason"],
        )
        return Response(review_detail_data(user=request.user, pk=pk))


def _permit_serializer(user):
    return s.PermitStaffOutputSerializer if user.is_agency_staff else s.PermitOutputSerializer


class PermitListApi(APIView):
    pagination_class = CappedPageNumberPagination

    @extend_schema(
        summary="Permits your agency issued (officer) or issued to your company (trader)",
        parameters=[
            OpenApiParameter("q", str, description="number, type, holder or HS prefix"),
            OpenApiParameter("status", str, enum=["valid", "revoked"]),
        ],
        responses=s.PermitOutputSerializer(many=True),
    )
    def get(self, request):
        paginator = self.pagination_class()
        permits = permit_list(
            user=request.user,
            q=request.query_params.get("q", ""),
            status=request.query_params.get("status", ""),
        )
        page = paginator.paginate_queryset(permits, request, view=self)
        serializer = _permit_serializer(request.user)
        return paginator.get_paginated_response(serializer(page, many=True).data)

    @extend_schema(
        summary="Issue a permit of your agency to a company, ahead of its declarations",
        request=s.PermitIssueInputSerializer,
        responses={201: s.PermitStaffOutputSerializer},
    )
    def post(self, request):
        serializer = s.PermitIssueInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        permit = permit_issue(actor=request.user, **serializer.validated_data)
        return Response(s.PermitStaffOutputSerializer(permit).data, status=201)


class PermitDetailApi(APIView):
    @extend_schema(summary="One permit", responses=s.PermitOutputSerializer)
    def get(self, request, pk: int):
        permit = get_permit_for_user(user=request.user, pk=pk)
        return Response(_permit_serializer(request.user)(permit).data)


class PermitRevokeApi(APIView):
    @extend_schema(
        summary="Revoke a permit of your agency, with a reason",
        request=s.RevokeInputSerializer,
        responses={200: s.PermitStaffOutputSerializer, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        permit = get_permit_for_user(user=request.user, pk=pk)
        serializer = s.RevokeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        permit = permit_revoke(permit_id=permit.pk, actor=request.user, **serializer.validated_data)
        return Response(s.PermitStaffOutputSerializer(permit).data)


class LaneProposalListApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        summary="Proposals to lower a lane (customs supervisors), waiting ones by default",
        parameters=[OpenApiParameter("status", str, description="proposed (default) or all")],
        responses=s.LaneProposalOutputSerializer(many=True),
    )
    def get(self, request):
        paginator = self.pagination_class()
        proposals = lane_proposal_list(user=request.user).order_by("-proposed_at", "-pk")
        proposals = proposals_with_status(proposals, request.query_params.get("status", "proposed"))
        page = paginator.paginate_queryset(proposals, request, view=self)
        return paginator.get_paginated_response(
            s.LaneProposalOutputSerializer(page, many=True).data
        )


class LaneProposalApproveApi(APIView):
    @extend_schema(
        summary="Approve a proposed lowering of the lane: a second customs supervisor",
        request=None,
        responses={200: s.LaneProposalOutputSerializer, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        proposal = get_lane_proposal_for_user(user=request.user, pk=pk)
        lane_change_approve(proposal_id=proposal.pk, actor=request.user)
        proposal = get_lane_proposal_for_user(user=request.user, pk=pk)
        return Response(s.LaneProposalOutputSerializer(proposal).data)


class LaneProposalRefuseApi(APIView):
    @extend_schema(
        summary="Refuse (or, its proposer, withdraw) a proposed lowering, with a `reason`",
        request=s.LaneProposalRefuseInputSerializer,
        responses={200: s.LaneProposalOutputSerializer, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        proposal = get_lane_proposal_for_user(user=request.user, pk=pk)
        serializer = s.LaneProposalRefuseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lane_change_refuse(proposal_id=proposal.pk, actor=request.user, **serializer.validated_data)
        proposal = get_lane_proposal_for_user(user=request.user, pk=pk)
        return Response(s.LaneProposalOutputSerializer(proposal).data)


def _query_serializer(user):
    """Traders read who asked as an agency, officers as a colleague."""
    return s.QueryDeclarantOutputSerializer if user.is_trader else s.QueryOutputSerializer


class QueryListApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        summary="Queries on your declarations (trader) or from your agency (officer)",
        parameters=[OpenApiParameter("open", bool, description="only unanswered queries")],
        responses=s.QueryOutputSerializer(many=True),
    )
    def get(self, request):
        paginator = self.pagination_class()
        queryset = query_list(user=request.user).order_by("-asked_at", "-pk")
        if request.query_params.get("open") in ("1", "true"):
            queryset = queryset.filter(answered_at__isnull=True)
        page = paginator.paginate_queryset(queryset, request, view=self)
        serializer = _query_serializer(request.user)
        return paginator.get_paginated_response(serializer(page, many=True).data)


class QueryDetailApi(APIView):
    @extend_schema(summary="One query", responses=s.QueryOutputSerializer)
    def get(self, request, pk: int):
        query = get_query_for_user(user=request.user, pk=pk)
        return Response(_query_serializer(request.user)(query).data)


class QueryAnswerApi(APIView):
    @extend_schema(
        summary="Answer a query on your company's declaration",
        request=s.AnswerInputSerializer,
        responses={200: s.QueryOutputSerializer, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        query = get_query_for_user(user=request.user, pk=pk)
        serializer = s.AnswerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        query_answer(query_id=query.pk, actor=request.user, **serializer.validated_data)
        query = get_query_for_user(user=request.user, pk=pk)
        return Response(_query_serializer(request.user)(query).data)

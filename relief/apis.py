from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance.relief import joint_inspection_record, owed_document_supply
from core.pagination import CappedPageNumberPagination
from core.serializers import ReasonInputSerializer
from relief.selectors import (
    get_joint_inspection_for_user,
    get_owed_document_for_declarant,
    joint_inspection_list,
    provisional_detail,
)
from relief.serializers import (
    JointInspectionBookInputSerializer,
    JointInspectionOutputSerializer,
    JointInspectionRecordInputSerializer,
    OwedDocumentSupplyInputSerializer,
    ProvisionalOutputSerializer,
)
from relief.services import joint_inspection_book, joint_inspection_cancel


def _require_agency_staff(user) -> None:
    if not user.is_agency_staff:
        raise Http404


class DocumentsOwedApi(APIView):
    @extend_schema(
        summary="Documents a provisional relief declaration still owes, and by when",
        description="For a relief consignment lodged with `documents_follow`: each document "
        "lodgement went without (the invoice or transport document number, a permit of an "
        "agency, a certificate of origin), supplied or not, and the deadline. 404 when the "
        "declaration was lodged complete.",
        responses=ProvisionalOutputSerializer,
    )
    def get(self, request, pk: int):
        provisional = provisional_detail(user=request.user, declaration_pk=pk)
        return Response(ProvisionalOutputSerializer(provisional).data)


class OwedDocumentSupplyApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Supply a document a provisional declaration owes",
        description="By the declarant, before or after release: the document's `reference` "
        "(a permit's is checked as at lodgement: issued by the agency to your company, for "
        "the item, valid today) and, optionally, the `file`. The last one owed completes the "
        "declaration.",
        request={"multipart/form-data": OwedDocumentSupplyInputSerializer},
        responses={
            200: ProvisionalOutputSerializer,
            400: OpenApiResponse(description="`fields` names what is wrong (`reference`...)."),
            409: OpenApiResponse(description="Supplied already, or nothing is owed any more."),
        },
    )
    def post(self, request, pk: int, owed_pk: int):
        owed = get_owed_document_for_declarant(user=request.user, declaration_pk=pk, pk=owed_pk)
        serializer = OwedDocumentSupplyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        owed_document_supply(
            actor=request.user,
            declaration_id=pk,
            owed_id=owed.pk,
            reference=serializer.validated_data["reference"],
            upload=serializer.validated_data.get("file"),
        )
        return Response(
            ProvisionalOutputSerializer(
                provisional_detail(user=request.user, declaration_pk=pk)
            ).data
        )


class JointInspectionListApi(APIView):
    pagination_class = CappedPageNumberPagination

    @extend_schema(
        summary="Joint inspections my agency takes part in, at my offices",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                description="`live` (offered or booked; default), `all`, or one status.",
            )
        ],
        responses=JointInspectionOutputSerializer(many=True),
    )
    def get(self, request):
        _require_agency_staff(request.user)
        joints = joint_inspection_list(
            user=request.user, status=request.query_params.get("status", "live")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(joints, request, view=self)
        return paginator.get_paginated_response(
            JointInspectionOutputSerializer(page, many=True).data
        )


def _joint_data(*, user, pk) -> dict:
    return JointInspectionOutputSerializer(get_joint_inspection_for_user(user=user, pk=pk)).data


class JointInspectionDetailApi(APIView):
    @extend_schema(summary="One joint inspection", responses=JointInspectionOutputSerializer)
    def get(self, request, pk: int):
        _require_agency_staff(request.user)
        return Response(_joint_data(user=request.user, pk=pk))


class JointInspectionBookApi(APIView):
    @extend_schema(
        summary="Book a joint inspection: when, where, the agencies and their officers",
        description="By an officer or supervisor of an agency taking part. At least two "
        "agencies, each with a review of the declaration still waiting for it, yours "
        "among them. Booking again changes the time, place or officers. The officers "
        "named and the declarant are told.",
        request=JointInspectionBookInputSerializer,
        responses={
            200: JointInspectionOutputSerializer,
            400: OpenApiResponse(description="`fields` names what is wrong."),
            409: OpenApiResponse(description="Recorded or cancelled already."),
        },
    )
    def post(self, request, pk: int):
        _require_agency_staff(request.user)
        joint = get_joint_inspection_for_user(user=request.user, pk=pk)
        serializer = JointInspectionBookInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        joint_inspection_book(
            actor=request.user,
            joint_inspection_id=joint.pk,
            scheduled_at=data["scheduled_at"],
            place=data["place"],
            agency_codes=data["agencies"],
            officer_usernames=data["officers"],
        )
        return Response(_joint_data(user=request.user, pk=pk))


class JointInspectionRecordApi(APIView):
    @extend_schema(
        summary="Record what a joint inspection found, once for every agency taking part",
        description="By an officer or supervisor of any agency taking part, once. The "
        "finding becomes the physical inspection on each agency's review (customs' lane "
        "work included); prohibited or undeclared goods detain the declaration, and a "
        "`revenue_difference` (customs officers only) is added to what is due.",
        request=JointInspectionRecordInputSerializer,
        responses={
            201: JointInspectionOutputSerializer,
            400: OpenApiResponse(description="`fields` names what is wrong (`items`...)."),
            409: OpenApiResponse(description="Recorded already, or not booked."),
        },
    )
    def post(self, request, pk: int):
        _require_agency_staff(request.user)
        joint = get_joint_inspection_for_user(user=request.user, pk=pk)
        serializer = JointInspectionRecordInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        joint_inspection_record(
            actor=request.user, joint_inspection_id=joint.pk, **serializer.validated_data
        )
        return Response(_joint_data(user=request.user, pk=pk), status=status.HTTP_201_CREATED)


class JointInspectionCancelApi(APIView):
    @extend_schema(
        summary="Call off a joint inspection (each agency inspects on its own)",
        request=ReasonInputSerializer,
        responses={
            200: JointInspectionOutputSerializer,
            409: OpenApiResponse(description="Recorded or cancelled already."),
        },
    )
    def post(self, request, pk: int):
        _require_agency_staff(request.user)
        joint = get_joint_inspection_for_user(user=request.user, pk=pk)
        serializer = ReasonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        joint_inspection_cancel(
            actor=request.user,
            joint_inspection_id=joint.pk,
            reason=serializer.validated_data["reason"],
        )
        return Response(_joint_data(user=request.user, pk=pk))

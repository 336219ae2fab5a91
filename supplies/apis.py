from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import CappedPageNumberPagination
from core.serializers import ReasonInputSerializer
from supplies import serializers as s
from supplies.selectors import (
    get_emergency_for_supplies,
    get_need_for_admin,
    get_pledge_for_admin,
    get_prenotification_for_user,
    incoming_prenotifications,
    prenotification_differences_for,
    prenotification_events,
    relief_consignment_record,
    relief_consignments_released,
    supplies_register,
)
from supplies.services import (
    ensure_may_file,
    prenotification_cancel,
    prenotification_file,
    supply_need_add,
    supply_need_change,
    supply_need_remove,
    supply_pledge_record,
    supply_pledge_set_status,
)


def prenotification_detail_data(*, user, pk) -> dict:
    prenotification = get_prenotification_for_user(user=user, pk=pk)
    prenotification.differences = prenotification_differences_for(
        user=user, prenotification=prenotification
    )
    prenotification.history = prenotification_events(prenotification)
    return s.PreNotificationDetailOutputSerializer(prenotification).data


class PreNotificationListApi(APIView):
    pagination_class = CappedPageNumberPagination

    @extend_schema(
        summary="Pre-notified relief consignments you may see, soonest arrival first: "
        "officers those announced at their offices (another agency than customs: with goods "
        "it regulates), traders their organisation's, administrators all",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                description="notified (on its way), declared, cancelled; all when not given",
            ),
            OpenApiParameter("office", str, description="One office of entry (UN/LOCODE)."),
        ],
        responses=s.PreNotificationOutputSerializer(many=True),
    )
    def get(self, request):
        paginator = self.pagination_class()
        prenotifications = incoming_prenotifications(
            user=request.user,
            status=request.query_params.get("status", ""),
            office=request.query_params.get("office", "")[:8],
        )
        page = paginator.paginate_queryset(prenotifications, request, view=self)
        return paginator.get_paginated_response(
            s.PreNotificationOutputSerializer(page, many=True).data
        )

    @extend_schema(
        summary="Pre-notify a relief consignment before it arrives (a trader of an approved "
        "humanitarian consignee, for it or for another as sender; an administrator for a "
        "donor). The office of entry and the agencies concerned are told; the declaration "
        "that follows is matched on consignee and transport document",
        request=s.PreNotificationInputSerializer,
        responses={201: s.PreNotificationDetailOutputSerializer},
    )
    def post(self, request):
        ensure_may_file(request.user)
        serializer = s.PreNotificationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        prenotification = prenotification_file(
            actor=request.user,
            emergency_id=data.pop("emergency"),
            consignee_tax_id=data.pop("consignee_tax_id"),
            office_code=data.pop("office"),
            lines=[dict(line) for line in data.pop("lines")],
            **data,
        )
        body = prenotification_detail_data(user=request.user, pk=prenotification.pk)
        return Response(body, status=status.HTTP_201_CREATED)


class PreNotificationDetailApi(APIView):
    @extend_schema(
        summary="One pre-notification: goods, transport, status, the declaration it was "
        "matched to and (officers, administrators) where that declaration departs from it",
        responses=s.PreNotificationDetailOutputSerializer,
    )
    def get(self, request, pk: int):
        return Response(prenotification_detail_data(user=request.user, pk=pk))


class PreNotificationCancelApi(APIView):
    @extend_schema(
        summary="Cancel a pre-notification before the goods are declared (its filer, its "
        "consignee or an administrator), with a reason",
        request=ReasonInputSerializer,
        responses={200: s.PreNotificationDetailOutputSerializer},
    )
    def post(self, request, pk: int):
        prenotification = get_prenotification_for_user(user=request.user, pk=pk)
        serializer = ReasonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        prenotification_cancel(
            actor=request.user, prenotification_id=prenotification.pk, **serializer.validated_data
        )
        return Response(prenotification_detail_data(user=request.user, pk=pk))


# ---- Critical supplies register ------------------------------------------------------------


class SupplyRegisterApi(APIView):
    @extend_schema(
        summary="The critical supplies register of an emergency (administrators, customs "
        "staff): each need with what released relief consignments brought, by origin and "
        "consignee, against its target; partners' pledges; the latest changes",
        responses=s.SupplyRegisterSerializer,
    )
    def get(self, request, pk: int):
        emergency = get_emergency_for_supplies(user=request.user, pk=pk)
        return Response(s.SupplyRegisterSerializer(supplies_register(emergency=emergency)).data)


class ReliefConsignmentListApi(APIView):
    pagination_class = CappedPageNumberPagination

    @extend_schema(
        summary="Who sent what, where, when: the emergency's released relief consignments, "
        "oldest release first (administrators, customs staff)",
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="Only those released at or after this time (ISO 8601): "
                "to fetch what is new since the last call.",
            )
        ],
        responses=s.ReliefConsignmentSerializer(many=True),
    )
    def get(self, request, pk: int):
        emergency = get_emergency_for_supplies(user=request.user, pk=pk)
        since = None
        if "since" in request.query_params:
            field = serializers.DateTimeField()
            try:
                since = field.to_internal_value(request.query_params["since"])
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"since": exc.detail}) from None
        paginator = self.pagination_class()
        consignments = relief_consignments_released(emergency=emergency, since=since)
        page = paginator.paginate_queryset(consignments, request, view=self)
        needs = list(emergency.supply_needs.filter(active=True))
        rows = [relief_consignment_record(declaration, needs) for declaration in page]
        return paginator.get_paginated_response(s.ReliefConsignmentSerializer(rows, many=True).data)


def _ensure_admin(user) -> None:
    if not user.is_platform_admin:
        raise Http404


class SupplyNeedAddApi(APIView):
    @extend_schema(
        summary="Add a priority need to an emergency's register (administrators; audited)",
        request=s.NeedInputSerializer,
        responses={201: s.NeedOutputSerializer},
    )
    def post(self, request, pk: int):
        _ensure_admin(request.user)
        emergency = get_emergency_for_supplies(user=request.user, pk=pk)
        serializer = s.NeedInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        need = supply_need_add(
            actor=request.user, emergency_id=emergency.pk, **serializer.validated_data
        )
        return Response(s.NeedOutputSerializer(need).data, status=status.HTTP_201_CREATED)


class SupplyNeedApi(APIView):
    @extend_schema(
        summary="Change a need's label or target quantity (administrators; audited: who, "
        "when, from what to what)",
        request=s.NeedChangeInputSerializer,
        responses={200: s.NeedOutputSerializer},
    )
    def patch(self, request, pk: int):
        need = get_need_for_admin(user=request.user, pk=pk)
        serializer = s.NeedChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        need = supply_need_change(actor=request.user, need_id=need.pk, **serializer.validated_data)
        return Response(s.NeedOutputSerializer(need).data)


class SupplyNeedRemoveApi(APIView):
    @extend_schema(
        summary="Take a need off the register (met, or no longer a priority), with a reason",
        request=ReasonInputSerializer,
        responses={200: s.NeedOutputSerializer},
    )
    def post(self, request, pk: int):
        need = get_need_for_admin(user=request.user, pk=pk)
        serializer = ReasonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        need = supply_need_remove(actor=request.user, need_id=need.pk, **serializer.validated_data)
        return Response(s.NeedOutputSerializer(need).data)


class SupplyPledgeAddApi(APIView):
    @extend_schema(
        summary="Record a partner administration's pledge against a need (administrators)",
        request=s.PledgeInputSerializer,
        responses={201: s.PledgeOutputSerializer},
    )
    def post(self, request, pk: int):
        _ensure_admin(request.user)
        emergency = get_emergency_for_supplies(user=request.user, pk=pk)
        serializer = s.PledgeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        need_id = data.pop("need")
        if not emergency.supply_needs.filter(pk=need_id).exists():
            raise serializers.ValidationError({"need": f"{emergency.name} has no need {need_id}."})
        pledge = supply_pledge_record(actor=request.user, need_id=need_id, **data)
        return Response(s.PledgeOutputSerializer(pledge).data, status=status.HTTP_201_CREATED)


class SupplyPledgeStatusApi(APIView):
    @extend_schema(
        summary="Record that a pledge was delivered, or withdrawn (administrators)",
        request=s.PledgeStatusInputSerializer,
        responses={200: s.PledgeOutputSerializer},
    )
    def post(self, request, pk: int):
        pledge = get_pledge_for_admin(user=request.user, pk=pk)
        serializer = s.PledgeStatusInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pledge = supply_pledge_set_status(
            actor=request.user, pledge_id=pledge.pk, **serializer.validated_data
        )
        return Response(s.PledgeOutputSerializer(pledge).data)

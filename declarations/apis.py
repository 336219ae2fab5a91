from django.http import FileResponse, Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance.services import (
    declaration_amend,
    declaration_cancel,
    declaration_lodge,
    declaration_submit,
)
from core.idempotency import idempotent
from core.pagination import CappedPageNumberPagination
from core.serializers import ReasonInputSerializer
from declarations.filters import DeclarationFilter
from declarations.models import Declaration, Lane
from declarations.reading.comparison import input_comparison
from declarations.selectors import (
    declaration_list,
    get_declaration_for_user,
    get_document_for_user,
    latest_invoice_for_user,
    sees_targeting,
)
from declarations.serializers import (
    AmendInputSerializer,
    DeclarationCreateInputSerializer,
    DeclarationDetailOutputSerializer,
    DeclarationInputSerializer,
    DeclarationListOutputSerializer,
    DeclarationOfficialDetailOutputSerializer,
    DeclarationValidateInputSerializer,
    DocumentInputSerializer,
    DocumentOutputSerializer,
    InvoiceCheckSerializer,
    InvoiceReadingOutputSerializer,
    ItemInputSerializer,
    PaymentOrderOutputSerializer,
)
from declarations.services import (
    declaration_create,
    declaration_item_add,
    declaration_preview,
    declaration_update,
    document_upload,
    payment_order_issue,
)
from emergencies.serializers import ReliefCheckOutputSerializer

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique string; a retry with the same key returns the first response "
    "instead of filing again.",
)


def declaration_detail_data(*, user, pk) -> dict:
    """The declaration as this user may read it: targeting only for analysts and
    administrators, never for the declarant."""
    declaration = get_declaration_for_user(user=user, pk=pk, with_details=True)
    if sees_targeting(user):
        return DeclarationOfficialDetailOutputSerializer(declaration).data
    return DeclarationDetailOutputSerializer(declaration).data


# The detail is one of two shapes, by who reads it.
DECLARATION_DETAIL = PolymorphicProxySerializer(
    component_name="DeclarationDetailAny",
    serializers=[DeclarationDetailOutputSerializer, DeclarationOfficialDetailOutputSerializer],
    resource_type_field_name=None,
)


def declaration_summary_data(declaration) -> dict:
    return DeclarationListOutputSerializer(declaration).data


def split_input(data: dict) -> tuple[dict, list[dict]]:
    header = dict(data)
    items = [dict(item) for item in header.pop("items")]
    header.pop("reason", None)
    header.pop("lodge", None)
    return header, items


class DeclarationListCreateApi(APIView):
    pagination_class = CappedPageNumberPagination

    @extend_schema(
        summary="List declarations",
        parameters=[
            OpenApiParameter("q", str, description="Reference (IM-00000042) or invoice number"),
            OpenApiParameter("status", str, many=True, enum=Declaration.Status.values),
            OpenApiParameter("lane", str, many=True, enum=Lane.values),
            OpenApiParameter("type", str, enum=Declaration.Type.values),
            OpenApiParameter("created_after", OpenApiTypes.DATE),
            OpenApiParameter("created_before", OpenApiTypes.DATE),
            OpenApiParameter(
                "ordering",
                str,
                enum=[
                    f"{sign}{f}"
                    for f in ("created", "submitted", "value", "status")
                    for sign in ("", "-")
                ],
            ),
        ],
        responses=DeclarationListOutputSerializer(many=True),
    )
    def get(self, request):
        filtered = DeclarationFilter(request.query_params, declaration_list(user=request.user))
        if not filtered.is_valid():
            from rest_framework.exceptions import ValidationError

            raise ValidationError(filtered.errors)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(filtered.qs, request, view=self)
        return paginator.get_paginated_response(
            DeclarationListOutputSerializer(page, many=True).data
        )

    @extend_schema(
        summary="Create a draft declaration, or lodge one at once",
        description="Answers with the declaration's summary and its address in `Location`; "
        'GET it for items, duties and history. With `"lodge": true` the declaration is '
        "checked against every lodgement rule and stored already submitted (risk scoring "
        "queued), as `submit` would do to a draft: one call instead of two.",
        parameters=[IDEMPOTENCY_KEY],
        request=DeclarationCreateInputSerializer,
        responses={201: DeclarationListOutputSerializer},
    )
    @idempotent
    def post(self, request):
        serializer = DeclarationCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lodge = serializer.validated_data["lodge"]
        header, items = split_input(serializer.validated_data)
        if lodge:
            declaration = declaration_lodge(actor=request.user, header=header, items=items)
        else:
            declaration = declaration_create(actor=request.user, header=header, items=items)
        location = reverse("api:declaration-detail", args=[declaration.pk])
        return Response(
            declaration_summary_data(declaration),
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )


class DeclarationValidateApi(APIView):
    @extend_schema(
        summary="Check a declaration against every lodgement rule and preview its duties",
        description="Stores nothing. 200 with the duties, or 400 naming each field in error. "
        "With `declaration` (a draft's id), the input is also compared with the invoice "
        "uploaded to that draft: `warnings` lists where they disagree (`invoice.differences`"
        "), which does not stop the lodgement.",
        request=DeclarationValidateInputSerializer,
        responses={
            200: inline_serializer(
                "DeclarationValidation",
                {
                    "valid": serializers.BooleanField(),
                    "duties": serializers.DictField(),
                    "warnings": serializers.ListField(
                        child=serializers.CharField(),
                        help_text="What the declarant should look at; none blocks lodgement.",
                    ),
                    "invoice": InvoiceCheckSerializer(),
                    "relief": ReliefCheckOutputSerializer(
                        allow_null=True,
                        help_text="Only while an emergency is in force (null otherwise): "
                        "whether the declaration would be a relief consignment, with its "
                        "measures, or why not.",
                    ),
                },
            )
        },
    )
    def post(self, request):
        serializer = DeclarationValidateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft_id = serializer.validated_data.pop("declaration", None)
        # A draft the user may not see answers 404, before anything else is said of it.
        invoice = (
            latest_invoice_for_user(user=request.user, declaration_pk=draft_id)
            if draft_id is not None
            else None
        )
        header, items = split_input(serializer.validated_data)
        preview = declaration_preview(actor=request.user, header=header, items=items, pk=draft_id)
        check = input_comparison(header=header, items=items, document=invoice)
        relief = preview.relief
        return Response(
            {
                "valid": True,
                "duties": preview.duties.as_dict(),
                "warnings": [difference.text for difference in check.differences],
                "invoice": check.as_dict(),
                "relief": ReliefCheckOutputSerializer(relief).data if relief.emergency else None,
            }
        )


class DeclarationDetailApi(APIView):
    @extend_schema(
        summary="Read a declaration with its lane, reviews, documents, duties and history",
        responses=DECLARATION_DETAIL,
    )
    def get(self, request, pk: int):
        return Response(declaration_detail_data(user=request.user, pk=pk))

    @extend_schema(
        summary="Replace a draft's header and items",
        request=DeclarationInputSerializer,
        responses=DECLARATION_DETAIL,
    )
    def put(self, request, pk: int):
        declaration = get_declaration_for_user(user=request.user, pk=pk)
        serializer = DeclarationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        header, items = split_input(serializer.validated_data)
        declaration_update(actor=request.user, declaration=declaration, header=header, items=items)
        return Response(declaration_detail_data(user=request.user, pk=pk))


class DeclarationItemAddApi(APIView):
    @extend_schema(
        summary="Add an item to a draft",
        request=ItemInputSerializer,
        responses={201: DECLARATION_DETAIL},
    )
    def post(self, request, pk: int):
        declaration = get_declaration_for_user(user=request.user, pk=pk)
        serializer = ItemInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        declaration_item_add(
            actor=request.user, declaration=declaration, item=dict(serializer.validated_data)
        )
        data = declaration_detail_data(user=request.user, pk=pk)
        return Response(data, status=status.HTTP_201_CREATED)


class DeclarationSubmitApi(APIView):
    @extend_schema(
        summary="Lodge a draft for risk assessment and agency review",
        description="Answers at once with the lodged declaration's summary; the lane follows "
        "when a worker has scored it (read the declaration to see it).",
        parameters=[IDEMPOTENCY_KEY],
        request=None,
        responses={
            202: DeclarationListOutputSerializer,
            400: OpenApiResponse(description="A lodgement rule fails; `fields` names each field."),
            409: OpenApiResponse(description="The declaration is not a draft."),
        },
    )
    @idempotent
    def post(self, request, pk: int):
        declaration = get_declaration_for_user(user=request.user, pk=pk)
        submitted = declaration_submit(declaration=declaration, actor=request.user)
        return Response(declaration_summary_data(submitted), status=status.HTTP_202_ACCEPTED)


class DeclarationAmendApi(APIView):
    @extend_schema(
        summary="Amend a lodged declaration: a new version, lodged and scored again",
        request=AmendInputSerializer,
        responses={201: DECLARATION_DETAIL},
    )
    @idempotent
    def post(self, request, pk: int):
        declaration = get_declaration_for_user(user=request.user, pk=pk)
        serializer = AmendInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data.get("reason", "")
        header, items = split_input(serializer.validated_data)
        amended = declaration_amend(
            actor=request.user, declaration=declaration, header=header, items=items, reason=reason
        )
        data = declaration_detail_data(user=request.user, pk=amended.pk)
        return Response(data, status=status.HTTP_201_CREATED)


class DeclarationCancelApi(APIView):
    @extend_schema(
        summary="Cancel a declaration", request=ReasonInputSerializer,
        responses=DECLARATION_DETAIL,
    )  # fmt: skip
    def post(self, request, pk: int):
        declaration = get_declaration_for_user(user=request.user, pk=pk)
        serializer = ReasonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        declaration_cancel(
            actor=request.user, declaration=declaration, reason=serializer.validated_data["reason"]
        )
        return Response(declaration_detail_data(user=request.user, pk=pk))


class DeclarationPayApi(APIView):
    @extend_schema(
        summary="Get the payment order of the assessed duties and taxes",
        description="Issues the order on the first call and returns the same pending order "
        "after. The declaration stays assessed until the payer's bank (or a customs cashier) "
        "confirms the payment; send the payer to `bank_url`.",
        request=None,
        responses={201: PaymentOrderOutputSerializer, 200: PaymentOrderOutputSerializer},
    )
    def post(self, request, pk: int):
        declaration = get_declaration_for_user(user=request.user, pk=pk)
        payment, created = payment_order_issue(declaration=declaration, actor=request.user)
        return_url = request.build_absolute_uri(reverse("declarations:detail", args=[pk]))
        data = PaymentOrderOutputSerializer(payment, context={"return_url": return_url}).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class DocumentListCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Documents of a declaration", responses=DocumentOutputSerializer(many=True)
    )
    def get(self, request, pk: int):
        declaration = get_declaration_for_user(user=request.user, pk=pk, with_details=True)
        return Response(DocumentOutputSerializer(declaration.documents.all(), many=True).data)

    @extend_schema(
        summary="Upload a document (PDF, PNG or JPEG)",
        request={"multipart/form-data": DocumentInputSerializer},
        responses={201: DocumentOutputSerializer},
    )
    def post(self, request, pk: int):
        declaration = get_declaration_for_user(user=request.user, pk=pk)
        serializer = DocumentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        document = document_upload(
            actor=request.user,
            declaration=declaration,
            kind=serializer.validated_data["kind"],
            upload=serializer.validated_data["file"],
            item_line_no=serializer.validated_data.get("item"),
        )
        return Response(DocumentOutputSerializer(document).data, status=status.HTTP_201_CREATED)


class DocumentReadingApi(APIView):
    @extend_schema(
        summary="What the machine read on an uploaded invoice",
        description="The invoice's number, date, parties, currency, total and lines as read "
        "from the PDF (status `read`); `not_readable` for a scan or a picture, with why in "
        "`notes`; `pending` until a worker has read it. 404 for any other document.",
        responses=InvoiceReadingOutputSerializer,
    )
    def get(self, request, pk: int, document_pk: int):
        document = get_document_for_user(user=request.user, declaration_pk=pk, pk=document_pk)
        reading = getattr(document, "invoice_reading", None)
        if reading is None:
            raise Http404
        return Response(InvoiceReadingOutputSerializer(reading).data)


class DocumentDownloadApi(APIView):
    @extend_schema(summary="Download a document", responses={(200, "*/*"): OpenApiTypes.BINARY})
    def get(self, request, pk: int, document_pk: int):
        document = get_document_for_user(user=request.user, declaration_pk=pk, pk=document_pk)
        return document_response(document)


def document_response(document) -> FileResponse:
    response = FileResponse(
        document.file.open("rb"),
        content_type=document.content_type,
        as_attachment=True,
        filename=document.original_name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response

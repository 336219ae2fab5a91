from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from declarations.selectors import declaration_list, get_declaration_for_user
from declarations.serializers import (
    DeclarationDetailOutputSerializer,
    DeclarationInputSerializer,
    DeclarationListOutputSerializer,
)
from declarations.services import declaration_create, declaration_submit


def declaration_detail_data(*, user, pk) -> dict:
    declaration = get_declaration_for_user(user=user, pk=pk, with_details=True)
    return DeclarationDetailOutputSerializer(declaration).data


class DeclarationListCreateApi(APIView):
    class Pagination(PageNumberPagination):
        page_size_query_param = "page_size"
        max_page_size = 200

    @extend_schema(
        summary="List declarations",
        responses=DeclarationListOutputSerializer(many=True),
    )
    def get(self, request):
        paginator = self.Pagination()
        page = paginator.paginate_queryset(declaration_list(user=request.user), request, view=self)
        return paginator.get_paginated_response(
            DeclarationListOutputSerializer(page, many=True).data
        )

    @extend_schema(
        summary="Create a draft declaration",
        request=DeclarationInputSerializer,
        responses={201: DeclarationDetailOutputSerializer},
    )
    def post(self, request):
        serializer = DeclarationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data.pop("items")
        declaration = declaration_create(
            actor=request.user, header=serializer.validated_data, items=items
        )
        data = declaration_detail_data(user=request.user, pk=declaration.pk)
        return Response(data, status=status.HTTP_201_CREATED)


class DeclarationDetailApi(APIView):
    @extend_schema(
        summary="Read a declaration with its lane, reviews and history",
        responses=DeclarationDetailOutputSerializer,
    )
    def get(self, request, pk: int):
        return Response(declaration_detail_data(user=request.user, pk=pk))


class DeclarationSubmitApi(APIView):
    @extend_schema(
        summary="Submit a draft for risk assessment and agency review",
        request=None,
        responses={
            202: DeclarationDetailOutputSerializer,
            409: OpenApiResponse(description="The declaration is not a draft."),
        },
    )
    def post(self, request, pk: int):
        declaration = get_declaration_for_user(user=request.user, pk=pk)
        declaration_submit(declaration=declaration, actor=request.user)
        data = declaration_detail_data(user=request.user, pk=pk)
        return Response(data, status=status.HTTP_202_ACCEPTED)

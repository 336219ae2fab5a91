from drf_spectacular.utils import extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.selectors import get_review_for_user, review_queue
from agencies.serializers import ReviewDetailOutputSerializer, ReviewListOutputSerializer


class ReviewListApi(APIView):
    class Pagination(PageNumberPagination):
        page_size_query_param = "page_size"
        max_page_size = 200

    @extend_schema(
        summary="The agency's review queue (red first, then oldest)",
        responses=ReviewListOutputSerializer(many=True),
    )
    def get(self, request):
        paginator = self.Pagination()
        page = paginator.paginate_queryset(review_queue(user=request.user), request, view=self)
        return paginator.get_paginated_response(ReviewListOutputSerializer(page, many=True).data)


class ReviewDetailApi(APIView):
    @extend_schema(
        summary="One review: the agency's slice of the declaration",
        responses=ReviewDetailOutputSerializer,
    )
    def get(self, request, pk: int):
        review = get_review_for_user(user=request.user, pk=pk)
        return Response(ReviewDetailOutputSerializer(review).data)

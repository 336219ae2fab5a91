from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from agencies.selectors import get_review_for_user, review_queue


@login_required
def queue_page(request):
    if not request.user.is_agency_staff:
        raise Http404
    page = Paginator(review_queue(user=request.user), 25).get_page(request.GET.get("page"))
    template = "agencies/_queue_table.html" if request.htmx else "agencies/queue.html"
    return render(request, template, {"page": page, "agency": request.user.agency})


@login_required
def review_page(request, pk: int):
    review = get_review_for_user(user=request.user, pk=pk)
    return render(
        request,
        "agencies/review.html",
        {"review": review, "items": review.items.all(), "declaration": review.declaration},
    )

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from notifications.selectors import notification_list, unread_count
from notifications.services import notifications_mark_read


@login_required
def notification_list_page(request):
    page = Paginator(notification_list(user=request.user), 25).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page})


@login_required
def notification_badge_partial(request):
    """The header badge; htmx polls it so new work shows without a reload."""
    return render(request, "notifications/_badge.html", {"unread": unread_count(user=request.user)})


@login_required
@require_POST
def notifications_mark_read_page(request):
    notifications_mark_read(user=request.user)
    return redirect("notifications:list")

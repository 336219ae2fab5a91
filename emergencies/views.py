from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from emergencies.selectors import consignee_list, emergency_list, get_emergency


@login_required
def emergency_list_page(request):
    """Every emergency, declared or proposed, for administrators."""
    if not request.user.is_platform_admin:
        raise Http404
    return render(request, "emergencies/list.html", {"emergencies": emergency_list()})


@login_required
def emergency_page(request, pk: int):
    emergency = get_emergency(user=request.user, pk=pk)
    return render(request, "emergencies/detail.html", {"emergency": emergency})


@login_required
def consignee_list_page(request):
    """Humanitarian consignees: the registry for administrators, a trader's own registration."""
    if not (request.user.is_platform_admin or request.user.is_trader):
        raise Http404
    consignees = consignee_list(user=request.user)
    return render(request, "emergencies/consignees.html", {"consignees": consignees})

"""The user's own account: their password and their API tokens."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from accounts.forms import OwnPasswordChangeForm
from accounts.selectors import api_token_list, get_api_token_for_owner
from accounts.services import api_token_revoke


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = OwnPasswordChangeForm
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("api-tokens")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(
            self.request,
            "Your password was changed. Your API tokens were revoked with the old one.",
        )
        return response


@login_required
def api_tokens(request):
    return render(
        request, "accounts/api_tokens.html", {"tokens": api_token_list(user=request.user)}
    )


@login_required
@require_POST
def api_token_revoke_view(request, pk):
    token = get_api_token_for_owner(user=request.user, token_id=pk)
    api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token {token.prefix}… revoked.")
    return redirect("api-tokens")

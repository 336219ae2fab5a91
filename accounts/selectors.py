"""Reads of the accounts app that depend on who asks."""

from django.http import Http404
from django.utils import timezone

from accounts.models import ApiToken, User


def api_token_list(*, user: User):
    """The user's own tokens that still authenticate, newest first."""
    return ApiToken.objects.filter(
        user=user,
        expires_at__gt=timezone.now(),
        password_fingerprint=ApiToken.fingerprint_of(user),
    )


def get_api_token_for_owner(*, user: User, token_id) -> ApiToken:
    """One of the user's live tokens; anyone else's, or an ended one, is not found."""
    try:
        return api_token_list(user=user).get(pk=int(token_id))
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        raise Http404 from None

from django.utils import timezone
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import ApiToken, with_office_codes


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>` with the accounts' API tokens: stored as digests,
    ending at their expiry or with the owner's password. The user's company comes
    in the same query: a trader's every call needs it (scoping, grants on what
    they file); so do the codes of the offices an officer is posted at."""

    model = ApiToken

    def authenticate_credentials(self, key):
        try:
            token = with_office_codes(
                ApiToken.objects.select_related("user__company"), user_field="user_id"
            ).get(digest=ApiToken.digest_of(key))
        except ApiToken.DoesNotExist:
            raise AuthenticationFailed("Invalid token.") from None
        token.user._office_codes = token._office_codes
        if token.expires_at <= timezone.now():
            raise AuthenticationFailed("Token expired: ask for a new one.")
        if token.password_fingerprint != ApiToken.fingerprint_of(token.user):
            raise AuthenticationFailed("Token ended by a password change: ask for a new one.")
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return (token.user, token)

from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, reading the user's company in the same query:
    a trader's every call needs it (scoping, grants on what they file)."""

    def authenticate_credentials(self, key):
        try:
            token = self.get_model().objects.select_related("user__company").get(key=key)
        except self.get_model().DoesNotExist:
            raise AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return (token.user, token)

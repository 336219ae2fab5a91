from django.contrib.auth.backends import ModelBackend

from accounts.models import User, with_office_codes


class UserBackend(ModelBackend):
    """Django's password login, reading the session's user with the codes of the
    offices they are posted at in the same query: an officer's every page is
    scoped by them (User.office_codes)."""

    def get_user(self, user_id):
        user = with_office_codes(User._default_manager.filter(pk=user_id)).first()
        return user if user is not None and self.user_can_authenticate(user) else None

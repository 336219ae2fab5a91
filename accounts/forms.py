from django.contrib.auth.forms import PasswordChangeForm

from accounts.services import user_password_set


class OwnPasswordChangeForm(PasswordChangeForm):
    """Changing one's own password, saved by the service (which ends one's API tokens)."""

    def save(self, commit=True):
        return user_password_set(
            user=self.user, password=self.cleaned_data["new_password1"], actor=self.user
        )

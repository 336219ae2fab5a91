from django import forms
from django.contrib.auth.forms import PasswordChangeForm

from accounts.models import SECOND_FACTOR_ROLES, SecurityPolicy
from accounts.services import user_password_set


class OwnPasswordChangeForm(PasswordChangeForm):
    """Changing one's own password, saved by the service (which ends one's API tokens)."""

    def save(self, commit=True):
        return user_password_set(
            user=self.user, password=self.cleaned_data["new_password1"], actor=self.user
        )


class SecondFactorCodeForm(forms.Form):
    """A code of the authenticator app, or a recovery code (the templates draw the input)."""

    otp = forms.CharField(max_length=32, label="Code")


class SecurityPolicyForm(forms.ModelForm):
    """The admin's form: the roles as boxes to tick, and why a role is released."""

    second_factor_roles = forms.MultipleChoiceField(
        choices=[(role.value, role.label) for role in SECOND_FACTOR_ROLES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Roles that must use a second factor",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Required when a role no longer has to use a second factor.",
    )

    class Meta:
        model = SecurityPolicy
        fields = ["second_factor_roles"]

from django import forms

from accounts.models import SECOND_FACTOR_ROLES, SecurityPolicy


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

from django import forms

from agencies.models import Inspection, JurisdictionRule
from declarations.models import Lane


class ApproveForm(forms.Form):
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Leave empty to approve without conditions.",
    )


class RejectForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class QueryForm(forms.Form):
    question = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class AnswerForm(forms.Form):
    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class InspectionForm(forms.Form):
    kind = forms.ChoiceField(choices=Inspection.Kind.choices)
    finding = forms.ChoiceField(choices=Inspection.Finding.choices)
    revenue_difference = forms.DecimalField(
        min_value=0, max_digits=18, decimal_places=2, initial=0, label="Revenue difference"
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PermitForm(forms.Form):
    permit_type = forms.CharField(required=False, max_length=100)
    valid_until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class LaneOverrideForm(forms.Form):
    lane = forms.ChoiceField(choices=Lane.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class JurisdictionRuleForm(forms.ModelForm):
    class Meta:
        model = JurisdictionRule
        fields = [
            "agency",
            "hs_prefix",
            "permit_type",
            "description",
            "origin_countries",
            "procedure_codes",
        ]
        labels = {"hs_prefix": "HS prefix"}

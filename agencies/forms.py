from django import forms
from django.contrib.postgres.forms import SimpleArrayField

from agencies.models import IMPORTS, Inspection, JurisdictionRule
from agencies.services import JURISDICTION_FIELDS, PERMIT_FIELDS
from declarations.models import Declaration, Lane


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
    items = forms.CharField(
        required=False,
        label="Items concerned",
        help_text="Line numbers of the items the finding concerns, e.g. 1, 3; "
        "none for no discrepancy.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_items(self) -> list[int]:
        text = self.cleaned_data["items"].replace(",", " ").split()
        if not all(part.isdigit() and int(part) > 0 for part in text):
            raise forms.ValidationError("Give item line numbers, e.g. 1, 3.")
        return [int(part) for part in text]


class DetentionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("seize", "Seize the goods"), ("release", "Release them to the review")]
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class PermitForm(forms.Form):
    permit_type = forms.CharField(required=False, max_length=100)
    valid_until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


class PermitIssueForm(forms.Form):
    """A permit issued ahead of any declaration (agencies.services.PERMIT_FIELDS)."""

    holder_tax_id = forms.CharField(
        max_length=32, label="Holder's tax id", help_text="The company the permit is issued to."
    )
    permit_type = forms.CharField(max_length=100, label="Permit type")
    hs_prefixes = SimpleArrayField(
        forms.CharField(max_length=10),
        label="HS prefixes",
        help_text="Goods covered: chapters, headings or subheadings, comma-separated (0201, 0202).",
    )
    origin_countries = SimpleArrayField(
        forms.CharField(max_length=2),
        required=False,
        label="Origins",
        help_text="Only goods from these countries (CN, AU); empty: any origin.",
    )
    valid_from = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Empty: today."
    )
    valid_until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    number = forms.CharField(
        max_length=40, required=False, help_text="Empty: the next number of the agency."
    )

    field_order = PERMIT_FIELDS


class RevokeForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class LaneOverrideForm(forms.Form):
    lane = forms.ChoiceField(choices=Lane.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class JurisdictionRuleForm(forms.ModelForm):
    """The page's and the admin's form of a jurisdiction rule."""

    declaration_types = forms.TypedMultipleChoiceField(
        choices=Declaration.Type.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=IMPORTS,
        label="Declarations",
        help_text="The declarations the rule applies to: an import licence is not asked of "
        "exports, nor an export licence of imports.",
    )

    class Meta:
        model = JurisdictionRule
        fields = list(JURISDICTION_FIELDS)
        labels = {"hs_prefix": "HS prefix"}

import re

from django import forms
from django.forms.models import fields_for_model

from emergencies.models import Emergency, HumanitarianConsignee
from emergencies.services import CONSIGNEE_FIELDS, EMERGENCY_FIELDS
from reference import lookups

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
REASON = forms.Textarea(attrs={"rows": 2})


class HsPrefixesField(forms.CharField):
    """HS prefixes typed as a list: "3004, 6306, 8421 21" (the service checks each)."""

    def __init__(self, *, base_field=None, max_length=None, **kwargs):
        # What ArrayField gives its form field; the service checks each prefix.
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        text = super().to_python(value)
        return [part.strip() for part in re.split(r"[,;\n]+", text) if part.strip()]


def _office_choices():
    return [(code, f"{code} {name}") for code, name, _kind in lookups.active_offices()]


class EmergencyDeclareForm(forms.Form):
    """What an administrator proposes: EMERGENCY_FIELDS as the model says them, the
    offices of entry it covers and why."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fields = fields_for_model(
            Emergency,
            fields=EMERGENCY_FIELDS,
            widgets={
                "description": forms.Textarea(attrs={"rows": 2}),
                "starts_at": DATETIME,
                "ends_at": DATETIME,
            },
            field_classes={"hs_prefixes": HsPrefixesField},
        )
        fields["hs_prefixes"].label = "Listed goods (HS prefixes)"
        fields[
            "hs_prefixes"
        ].help_text = "Chapters, headings or subheadings, separated by commas: 3004, 6306, 842121."
        fields["documents_within_days"].label = "Documents within (days)"
        offices = forms.MultipleChoiceField(
            choices=_office_choices,
            widget=forms.CheckboxSelectMultiple,
            label="Offices of entry",
            help_text="The affected area: relief comes in through these offices.",
        )
        reason = forms.CharField(
            max_length=1000,
            widget=REASON,
            help_text="What happened; a second administrator reads it before approving.",
        )
        ordered = {}
        for name, field in fields.items():
            ordered[name] = field
            if name == "ends_at":
                ordered["office_codes"] = offices
        self.fields = {**ordered, "reason": reason}

    def clean(self):
        data = super().clean()
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", "The emergency must end after it starts.")
        return data


class EmergencyExtendForm(forms.Form):
    ends_at = forms.DateTimeField(widget=DATETIME, label="New end")
    reason = forms.CharField(max_length=1000, widget=REASON)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=1000, widget=REASON)


class ConsigneeRegisterForm(forms.Form):
    """A humanitarian organisation asks to be registered (a trader: for their company;
    an administrator names the company by tax id)."""

    company_tax_id = forms.CharField(max_length=32, label="Company's tax id")

    def __init__(self, *args, for_admin: bool, **kwargs):
        super().__init__(*args, **kwargs)
        fields = fields_for_model(
            HumanitarianConsignee,
            fields=CONSIGNEE_FIELDS,
            widgets={"mission": forms.Textarea(attrs={"rows": 3})},
        )
        fields["kind"].label = "Kind of organisation"
        fields[
            "mission"
        ].help_text = (
            "What the organisation does, and its registration (charity number, UN mandate...)."
        )
        if not for_admin:
            del self.fields["company_tax_id"]
        self.fields.update(fields)


class ConsigneeDecideForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (status, label)
            for status, label in HumanitarianConsignee.Status.choices
            if status != HumanitarianConsignee.Status.REQUESTED
        ]
    )
    note = forms.CharField(
        max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 1})
    )

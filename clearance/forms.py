import re

from django import forms
from django.utils import timezone

from declarations.models import TransitArrival


class SealNumbersField(forms.CharField):
    """Seal numbers typed as a list: separated by commas, spaces or new lines."""

    def to_python(self, value):
        return [s for s in re.split(r"[\s,;]+", super().to_python(value)) if s]

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value


class ReleaseUnderSealForm(forms.Form):
    seal_numbers = SealNumbersField(
        label="Seal numbers", help_text="Every seal put on, separated by commas."
    )


class ArrivalForm(forms.Form):
    arrived_at = forms.DateTimeField(
        label="Arrived at",
        initial=lambda: timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    seals_intact = forms.BooleanField(label="Seals intact", required=False, initial=True)
    seal_numbers_found = SealNumbersField(
        label="Seal numbers found", required=False, help_text="As read on the seals."
    )
    discrepancies = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Goods missing or damaged, anything that differs; empty if none.",
    )


class ControlForm(forms.Form):
    result = forms.ChoiceField(choices=TransitArrival.ControlResult.choices)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))

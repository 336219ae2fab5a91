from django import forms
from django.utils import timezone

from declarations.models import Declaration


class ExitConfirmForm(forms.Form):
    """What the officer records when the goods leave (clearance.exports.EXIT_FIELDS)."""

    exited_at = forms.DateTimeField(
        label="Left on",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="When the goods left the country (the vessel sailed, the aircraft took off, "
        "the truck crossed).",
    )
    transport_mode = forms.ChoiceField(label="Left by", choices=Declaration.TransportMode.choices)
    transport_identity = forms.CharField(
        label="Means of transport",
        max_length=100,
        help_text="Vessel and voyage, flight number, truck plate or wagon number.",
    )
    notes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For customs only; the declarant does not read them.",
    )

    def __init__(self, *args, declaration: Declaration, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "exited_at": timezone.localtime().replace(second=0, microsecond=0),
                "transport_mode": declaration.transport_mode,
            },
        )
        super().__init__(*args, **kwargs)


class OfficeFilterForm(forms.Form):
    office = forms.ChoiceField(required=False, label="Office")

    def __init__(self, *args, offices: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].choices = [("", "All my offices")] + [(c, c) for c in offices]

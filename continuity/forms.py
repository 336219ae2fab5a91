from django import forms
from django.utils import timezone

from risk.models import Fallback

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class OfficeCloseForm(forms.Form):
    closed_from = forms.DateTimeField(
        label="Closed from",
        required=False,
        widget=DATETIME_WIDGET,
        help_text="Empty: now. Earlier if it closed before you record it; later to announce it.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For staff: why it closes (flooding, damage, power cut).",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"closed_from": timezone.localtime().replace(second=0)})
        super().__init__(*args, **kwargs)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class DivertForm(forms.Form):
    to_office = forms.ChoiceField(label="Divert to")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For staff; the declarant reads only where to go now.",
    )
    declarations = forms.TypedMultipleChoiceField(coerce=int, required=False)
    scope = forms.ChoiceField(choices=[("selected", "selected"), ("all", "all")])

    def __init__(self, *args, targets, waiting, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_office"].choices = [("", "Choose an office")] + [
            (office.code, f"{office.code} {office.name} ({office.get_kind_display().lower()})")
            for office in targets
        ]
        # Any id: the service takes those still waiting at the office and leaves the rest.
        self.fields["declarations"].choices = [(d.pk, d.pk) for d in waiting]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == "selected" and not cleaned.get("declarations"):
            self.add_error("declarations", "Tick the declarations to divert, or divert them all.")
        return cleaned


MODES = [
    (
        Fallback.RULES_ONLY,
        "Rules only: the model is switched off (a second administrator approves)",
    ),
    (
        Fallback.DEFAULT_LANE,
        "Fallback lane: every declaration to the configured fallback lane, never green "
        "(applies at once)",
    ),
]


class PlannedFallbackForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[
            (
                Fallback.RULES_ONLY,
                "Rules only: the model is switched off (a second administrator approves)",
            ),
            (
                Fallback.DEFAULT_LANE,
                "Fallback lane: every declaration to the configured fallback "
                "lane, never green (applies at once)",
            ),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class SwitchOffForm(forms.Form):
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

from django import forms

from agencies.forms import InspectionForm


class OwedDocumentSupplyForm(forms.Form):
    reference = forms.CharField(max_length=64)
    file = forms.FileField(required=False)


class JointInspectionBookForm(forms.Form):
    """When and where, and who takes part: the agencies whose reviews wait, and the
    officers they may send (posted at the inspection's office)."""

    scheduled_at = forms.DateTimeField(
        label="When", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    place = forms.CharField(
        max_length=200, help_text="Terminal, warehouse, berth where the goods are presented."
    )
    agencies = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, help_text="At least two, yours among them."
    )
    officers = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None chosen for an agency: every officer of it at the office is told.",
    )

    def __init__(self, *args, agencies=(), staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agencies"].choices = [(a.code, a.name) for a in agencies]
        self.fields["officers"].choices = [
            (u.username, f"{u.get_full_name() or u.username} ({u.agency.name})") for u in staff
        ]


class JointInspectionRecordForm(InspectionForm):
    """The finding, once for every agency: always a physical inspection."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["kind"]
        self.fields["revenue_difference"].required = False
        self.fields["revenue_difference"].help_text = "Customs officers only."

from django import forms

from declarations.models import Declaration
from emergencies.models import Emergency, HumanitarianConsignee
from supplies.models import QUANTITY, SupplyPledge
from supplies.services import MAX_LINES


class PreNotificationForm(forms.Form):
    """The header of a pre-notification; the goods are LineFormSet. The emergency,
    consignee and office are chosen from what is in force and approved; the service
    checks them again."""

    emergency = forms.TypedChoiceField(coerce=int, label="Emergency")
    consignee_tax_id = forms.ChoiceField(label="Consignee (approved humanitarian consignee)")
    office = forms.ChoiceField(label="Office of entry")
    sender_name = forms.CharField(
        max_length=200, label="Sender", help_text="The sending agency or donor."
    )
    sender_country = forms.CharField(
        max_length=2, label="Sender's country", help_text="ISO 3166 code, e.g. DK."
    )
    transport_mode = forms.ChoiceField(choices=Declaration.TransportMode.choices)
    transport_document = forms.CharField(
        max_length=64,
        label="Transport document",
        help_text="B/L or air waybill number: the declaration that follows is matched on it.",
    )
    expected_arrival = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        emergencies = list(Emergency.objects.in_force().prefetch_related("offices"))
        self.fields["emergency"].choices = [(e.pk, e.name) for e in emergencies]
        consignees = HumanitarianConsignee.objects.filter(
            status=HumanitarianConsignee.Status.APPROVED
        ).select_related("company")
        if user.is_trader:
            # Its own consignments first: most organisations announce what they receive.
            consignees = sorted(consignees, key=lambda c: c.company_id != user.company_id)
        self.fields["consignee_tax_id"].choices = [
            (c.company.tax_id, f"{c.company.name} ({c.company.tax_id})") for c in consignees
        ]
        offices = {o.code: o for e in emergencies for o in e.offices.all()}
        self.fields["office"].choices = [
            (code, f"{code} {offices[code].name}") for code in sorted(offices)
        ]


class LineForm(forms.Form):
    hs_code = forms.CharField(max_length=12, label="HS code")
    description = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"size": 28}))
    quantity = forms.DecimalField(**QUANTITY, min_value=0.001)
    unit = forms.CharField(max_length=3, help_text="UN/ECE Rec 20, e.g. NAR, KGM")


LineFormSet = forms.formset_factory(
    LineForm, extra=4, max_num=MAX_LINES, validate_max=True, min_num=1, validate_min=True
)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 1}))


class NeedForm(forms.Form):
    hs_prefix = forms.CharField(max_length=12, label="HS prefix", help_text="e.g. 3004, 630622")
    label = forms.CharField(max_length=120, help_text="e.g. Antibiotics")
    target_quantity = forms.DecimalField(**QUANTITY, min_value=0.001, label="Target quantity")
    unit = forms.CharField(max_length=3, help_text="UN/ECE Rec 20, e.g. NAR, KGM")


class NeedChangeForm(forms.Form):
    label = forms.CharField(max_length=120)
    target_quantity = forms.DecimalField(**QUANTITY, min_value=0.001, label="Target quantity")


class PledgeForm(forms.Form):
    need = forms.TypedChoiceField(coerce=int, label="Need")
    partner_administration = forms.CharField(max_length=200, label="Partner administration")
    partner_country = forms.CharField(max_length=2, label="Country", help_text="ISO 3166 code")
    quantity = forms.DecimalField(**QUANTITY, min_value=0.001, help_text="In the need's unit.")
    expected_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, needs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["need"].choices = [
            (n.pk, f"{n.label} (HS {n.hs_prefix}, {n.unit})") for n in needs
        ]


class PledgeStatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (SupplyPledge.Status.DELIVERED, "Delivered"),
            (SupplyPledge.Status.WITHDRAWN, "Withdrawn"),
        ]
    )

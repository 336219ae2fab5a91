from decimal import Decimal

from django import forms
from django.conf import settings

MONEY = {"max_digits": 18, "decimal_places": 2, "min_value": Decimal("0.01")}


class GuaranteeProposeForm(forms.Form):
    company_tax_id = forms.CharField(max_length=32, label="Holder's tax id")
    reference = forms.CharField(max_length=35, help_text="The surety's or bank's reference.")
    amount = forms.DecimalField(**MONEY, label=f"Amount ({settings.NATIONAL_CURRENCY})")
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What was checked: the surety's undertaking, its signatory, the holder's record.",
    )

    def clean(self):
        data = super().clean()
        begins, ends = data.get("valid_from"), data.get("valid_until")
        if begins and ends and ends < begins:
            self.add_error("valid_until", "The guarantee must end after it begins.")
        return data


class GuaranteeRaiseForm(forms.Form):
    amount = forms.DecimalField(**MONEY, label="New amount")
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 1}))

from django import forms


class PaymentOrderSearchForm(forms.Form):
    reference = forms.CharField(max_length=64, label="Payment order reference")


class CounterPaymentForm(forms.Form):
    reference = forms.CharField(max_length=64, widget=forms.HiddenInput)
    amount = forms.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, label="Amount received"
    )
    counter_reference = forms.CharField(max_length=64, label="Counter receipt or bank slip number")

from django import forms

from declarations.models import Declaration, Item


class DeclarationForm(forms.ModelForm):
    class Meta:
        model = Declaration
        fields = [
            "type",
            "procedure",
            "country_of_export",
            "country_of_destination",
            "office_of_entry",
            "transport_mode",
            "transport_document",
            "invoice_number",
            "currency",
            "invoice_total",
        ]


class ItemForm(forms.ModelForm):
    class Meta:
        model = Item
        fields = [
            "hs_code",
            "description",
            "origin_country",
            "quantity",
            "unit",
            "net_mass_kg",
            "value",
        ]
        widgets = {"description": forms.TextInput(attrs={"size": 28})}


ItemFormSet = forms.formset_factory(
    ItemForm, extra=0, can_delete=True, min_num=1, validate_min=True
)

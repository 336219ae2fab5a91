from django import forms

from declarations.models import Declaration, Document, Item
from declarations.services import HEADER_FIELDS, ITEM_FIELDS


class DeclarationForm(forms.ModelForm):
    # Empty: the usual procedure of the type, chosen by the service.
    procedure = forms.CharField(
        max_length=4,
        required=False,
        help_text="Empty: 4000 for an import (release for free circulation), 1000 for an "
        "export, 8000 for transit.",
    )

    class Meta:
        model = Declaration
        fields = list(HEADER_FIELDS)


class PermitsField(forms.CharField):
    """Permits typed as `agency:reference`, comma-separated: `food:FIN-1, plant:PC-9`."""

    def to_python(self, value):
        value = super().to_python(value)
        permits = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            agency, sep, reference = part.partition(":")
            if not sep or not agency.strip() or not reference.strip():
                raise forms.ValidationError(
                    f"Write each permit as agency:reference, not “{part}”.", code="permit"
                )
            permits.append({"agency": agency.strip(), "reference": reference.strip()})
        return permits

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(f"{p['agency']}:{p['reference']}" for p in value)
        return value


class ItemForm(forms.ModelForm):
    permits = PermitsField(
        required=False,
        help_text="agency:reference, comma-separated (e.g. food:FIN-2026-1)",
    )

    class Meta:
        model = Item
        fields = list(ITEM_FIELDS)
        widgets = {"description": forms.TextInput(attrs={"size": 28})}


ItemFormSet = forms.formset_factory(
    ItemForm, extra=0, can_delete=True, min_num=1, validate_min=True
)


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(choices=Document.Kind.choices)
    item = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Item")
    file = forms.FileField(help_text="PDF, PNG or JPEG")

    def __init__(self, *args, declaration: Declaration, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", "Whole declaration")] + [
            (item.line_no, f"{item.line_no}: {item.description}")
            for item in declaration.items.all()
        ]


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)

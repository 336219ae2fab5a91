from django import forms

from declarations.models import Declaration, Document, Item
from declarations.services import HEADER_FIELDS, ITEM_FIELDS
from reference import lookups
from reference.models import Office

# The office fields, with which types of declaration need each (validation's
# REQUIRED_OFFICES): the form says so next to the field, and static/js/app.js
# marks the ones the chosen type needs.
OFFICE_FIELDS = {
    "office_of_entry": ("IM", "Imports: the office where the goods enter the country."),
    "office_of_departure": (
        "EX TR",
        "Exports: the office where they are cleared. Transit: where the movement starts.",
    ),
    "office_of_exit": ("EX", "Exports: the office where the goods leave the country."),
    "office_of_destination": ("TR", "Transit: the office where the movement ends."),
}


class DeclarationForm(forms.ModelForm):
    """The header. The offices are chosen from the active customs offices (the API
    takes their codes); a code no longer active stays shown, for lodgement to
    refuse with its reason."""

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        offered = [
            (code, f"{code} {name} ({Office.Kind(kind).label.lower()})")
            for code, name, kind in lookups.active_offices()
        ]
        for name, (types, help_text) in OFFICE_FIELDS.items():
            current = (self.data.get(name) if self.is_bound else self.initial.get(name)) or ""
            choices = [("", "—"), *offered]
            if current and current not in {code for code, _ in offered}:
                choices.append((current, f"{current} (not an active customs office)"))
            self.fields[name] = forms.ChoiceField(
                choices=choices,
                required=False,
                label=self.fields[name].label,
                help_text=help_text,
                widget=forms.Select(attrs={"data-office-for": types}),
            )


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

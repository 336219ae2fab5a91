from django import forms
from django.conf import settings

from risk.models import ModelVersion, RiskSettings, RuleSet, SelectivityRule


def parse_conditions(text: str) -> list[dict]:
    """One condition per line: `field op value`, e.g. `price_ratio lt 0.3`."""
    conditions = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        conditions.append(
            {
                "field": parts[0],
                "op": parts[1] if len(parts) > 1 else "",
                "value": parts[2] if len(parts) > 2 else "",
            }
        )
    return conditions


def format_conditions(conditions: list[dict]) -> str:
    lines = []
    for c in conditions or []:
        value = c["value"]
        shown = ",".join(str(v) for v in value) if isinstance(value, list) else value
        lines.append(f"{c['field']} {c['op']} {shown}")
    return "\n".join(lines)


class RuleForm(forms.ModelForm):
    conditions_text = forms.CharField(
        label="Other criteria",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One per line: criterion operator value, e.g. price_ratio lt 0.3 "
        "or aeo_status eq none or country_of_export in CN,VN.",
    )

    class Meta:
        model = SelectivityRule
        fields = [
            "name",
            "hs_prefix",
            "origin_country",
            "min_item_value",
            "score",
            "force_lane",
            "note",
            "valid_from",
            "valid_to",
            "active",
        ]
        widgets = {
            "valid_from": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "valid_to": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["conditions_text"].initial = format_conditions(self.instance.conditions)
        # Invoices come in any currency; the rules see every amount in the national one.
        # (The admin shows a live rule read-only, without these fields.)
        currency = settings.NATIONAL_CURRENCY
        if "min_item_value" in self.fields:
            self.fields["min_item_value"].label = f"Minimum item value ({currency})"
            self.fields["min_item_value"].help_text = (
                f"In {currency}: an invoice in another currency is converted at its rate of "
                "the day of acceptance."
            )
        if "conditions_text" in self.fields:
            self.fields["conditions_text"].help_text += (
                f" Money criteria (value, unit_price, value_per_kg, invoice_total, freight...) "
                f"are in {currency}."
            )

    def rule_fields(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "conditions_text"}
        data["conditions"] = parse_conditions(self.cleaned_data.get("conditions_text") or "")
        return data

    def _post_clean(self):
        # The service validates the whole rule; the form only converts input.
        pass


class RiskSettingsForm(forms.ModelForm):
    """A proposed change of the settings, with its reason (risk_settings_propose)."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the settings should change; the analyst who approves reads it.",
    )

    class Meta:
        model = RiskSettings
        fields = [
            "yellow_from",
            "red_from",
            "random_yellow_rate",
            "random_red_rate",
            "expected_yellow_share",
            "expected_red_share",
            "model_enabled",
            "model_weight",
            "fallback_lane",
        ]

    def _post_clean(self):
        pass


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)


class ReplayForm(forms.Form):
    rule_set = forms.ModelChoiceField(queryset=RuleSet.objects.all())
    model_version = forms.ModelChoiceField(
        queryset=ModelVersion.objects.defer("artifact"),
        required=False,
        empty_label="no model (rules and random selection only)",
    )
    date_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    seed = forms.IntegerField(initial=0, min_value=0, help_text="Random selection draw.")

    def params(self) -> dict:
        data = self.cleaned_data
        return {
            "rule_set": data["rule_set"].pk,
            "model_version": data["model_version"].pk if data["model_version"] else None,
            "date_from": data["date_from"].isoformat(),
            "date_to": data["date_to"].isoformat(),
            "seed": data["seed"],
        }

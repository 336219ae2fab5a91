from django import forms
from django.forms.models import fields_for_model

from devices.models import MonitoringProfile
from devices.services import MONITORING_FIELDS


class MonitoringForm(forms.Form):
    """The profile's fields as the model declares them; whether they go together (both
    temperature bounds, only tighter) is the service's to say."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(MonitoringProfile, fields=MONITORING_FIELDS))
        self.fields[
            "temperature_min"
        ].help_text = "Only for goods that need it; leave both bounds empty otherwise."

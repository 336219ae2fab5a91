from django.apps import AppConfig


class EmergenciesConfig(AppConfig):
    name = "emergencies"
    verbose_name = "Emergencies and relief"

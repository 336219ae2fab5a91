from django.apps import AppConfig


class SuppliesConfig(AppConfig):
    name = "supplies"
    verbose_name = "Relief supplies: pre-notifications and critical needs"

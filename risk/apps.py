from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = "Risk and lanes"

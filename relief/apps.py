from django.apps import AppConfig


class ReliefConfig(AppConfig):
    name = "relief"
    verbose_name = "Relief consignments: documents to follow, joint inspections"

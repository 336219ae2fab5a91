from django.apps import AppConfig


class ClearanceConfig(AppConfig):
    """The clearance process across the domain apps: services and tasks, no models."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "clearance"

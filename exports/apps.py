from django.apps import AppConfig


class ExportsConfig(AppConfig):
    """The office of exit's desk: the exports released to leave by its offices, and
    the confirmation that they left (clearance.exports)."""

    name = "exports"
    verbose_name = "Exports at the office of exit"

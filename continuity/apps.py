from django.apps import AppConfig


class ContinuityConfig(AppConfig):
    """Business continuity desk: closed offices and the diversion of their work, the
    risk engine's planned outages and re-scoring, and the surge health page
    (clearance.continuity). Pages and API only; the rows are the domain apps'."""

    name = "continuity"
    verbose_name = "Business continuity"

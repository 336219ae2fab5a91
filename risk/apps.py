from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = "Risk and lanes"

    def ready(self):
        from risk.criteria import register_builtin

        # After every app is loaded, so the declaration fields present now are criteria.
        register_builtin()

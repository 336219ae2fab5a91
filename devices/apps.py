from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "E-seals and cargo sensors"

    def ready(self):
        from devices.criteria import register_seal_criteria

        # After risk's own criteria (risk is listed first): the rules may test the
        # declarant's seal alerts like any other fact.
        register_seal_criteria()

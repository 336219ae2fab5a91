"""What every app's admin is built on: it writes through the services, or only shows."""

from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only services write: the admin lists and shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceAdmin(admin.ModelAdmin):
    """An admin whose save_model and delete_model call services; no inlines.

    The form only converts input: a service can still refuse a valid form with
    a ValidationError. Then the view's transaction is rolled back and the form
    is shown again with the service's errors on it, as the pages show them,
    instead of a server error.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            if request.method != "POST" or hasattr(request, "_service_error"):
                raise
            request._service_error = error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        error = getattr(request, "_service_error", None)
        if error is None:
            return form
        model_admin = self

        class FormWithServiceError(form):
            def clean(self):
                cleaned_data = super().clean()
                model_admin.add_service_error(self, error)
                return cleaned_data

        return FormWithServiceError

    def add_service_error(self, form, error: ValidationError) -> None:
        errors = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        for name, messages in errors.items():
            target = self.form_field_for(name) if name not in (None, NON_FIELD_ERRORS) else None
            if target not in form.fields:
                target = None
            for message in messages:
                named = target != name and name not in (None, NON_FIELD_ERRORS)
                form.add_error(target, f"{name}: {message}" if named else message)

    def form_field_for(self, name: str) -> str:
        """The form field that shows a service's error about the model field `name`."""
        return name

    def save_form(self, request, form, change):
        # The service builds and saves the object; the form's instance only carries
        # the primary key to the messages, log entry and redirect that follow.
        return form.instance

    def save_related(self, request, form, formsets, change):
        pass

    @staticmethod
    def adopt(obj, saved) -> None:
        """Give the admin's instance the values of the row the service saved."""
        for field in saved._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))

"""The one way pages show a service's refusal."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from core.exceptions import ApplicationError


def run_service(request, action, success: str):
    """Carry out a page action; show the domain's refusal as a message. Returns what
    the action returned, None when it was refused."""
    try:
        result = action()
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            messages.error(request, f"{field.replace('_', ' ')}: {' '.join(errors)}")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    except PermissionDenied:
        raise Http404 from None
    else:
        if success:
            messages.success(request, success)
        return result
    return None


def form_add_service_errors(form, exc: ValidationError) -> None:
    """Show a service's refusal on the form, each error on the field it names (or on the
    form when the form has no such field), as the form's own errors are."""
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def form_errors(form) -> str:
    """An invalid form's errors as one message, each after its field's label."""
    return "; ".join(
        f"{form.fields[name].label or name}: {' '.join(errors)}"
        if name in form.fields
        else " ".join(errors)
        for name, errors in form.errors.items()
    )


# A spreadsheet runs a cell that starts like a formula (CSV injection): names in an
# export are what traders typed.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """The value as a spreadsheet shows it, never as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value

"""Domain errors and the one place where they become API responses."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A request that is well formed but cannot be carried out now."""

    status_code = status.HTTP_409_CONFLICT

    def __init__(self, message: str, *, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class InvalidTransition(ApplicationError):
    pass


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """Turn nested serializer/model errors into {"items[1].hs_code": [...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # DRF reports list items by index
                path = f"{prefix}[{key}]"
            else:
                whole = key in ("non_field_errors", "__all__")
                if whole:
                    path = prefix or "non_field_errors"
                else:
                    path = f"{prefix}.{key}" if prefix else key
            flat.update(flatten_errors(value, path))
    elif isinstance(detail, list) and any(isinstance(v, dict | list) for v in detail):
        for index, value in enumerate(detail):
            if value:
                flat.update(flatten_errors(value, f"{prefix}[{index}]"))
    else:
        values = detail if isinstance(detail, list) else [detail]
        flat[prefix or "non_field_errors"] = [str(v) for v in values]
    return flat


def django_validation_error_detail(error: DjangoValidationError):
    if hasattr(error, "error_dict"):
        return {
            field: [m for e in errors for m in e.messages]
            for field, errors in error.error_dict.items()
        }
    return {"non_field_errors": error.messages}


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(django_validation_error_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        body = {"detail": exc.message}
        if exc.extra:
            body.update(exc.extra)
        return Response(body, status=exc.status_code)

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        response.data = {"detail": "The declaration has errors.", "fields": fields}
        if set(fields) != {"non_field_errors"}:
            named = ", ".join(sorted(fields))
            response.data["detail"] = f"Invalid input in: {named}."
        else:
            response.data["detail"] = fields["non_field_errors"][0]
    return response

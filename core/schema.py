"""The API schema as the API answers: nullable output fields and error responses.

drf-spectacular documents what serializers declare. Two things it cannot see
are filled in here, for every view at once, instead of on each serializer:

- an output field can be null when its source walks through a nullable
  foreign key (`assigned_to.username`) or a nullable column, or when its
  default is None: DRF writes null for it then;
- every error goes through core.exceptions.api_exception_handler, so its
  shape is known: `{"detail": ...}`, with `fields` for invalid input. Which
  codes an operation can answer follows from the view (authentication,
  throttles, a body, a path parameter, pagination, an Idempotency-Key).
  An explicit response in a view's extend_schema keeps its description and
  gets the error body.
"""

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers
from rest_framework.permissions import AllowAny

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

ERROR_SCHEMA = {
    "type": "object",
    "description": "An error: `detail` says what went wrong, in a sentence. Conflicts may "
    "add details of their own (who holds a review, for instance).",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Invalid input: `detail` names the fields in error, `fields` gives each "
    "field's messages (nested fields as `items[1].hs_code`, errors of the whole input "
    "under `non_field_errors`). A body that cannot be parsed has `detail` only.",
    "properties": {
        "detail": {"type": "string"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail"],
}

ERROR_DESCRIPTIONS = {
    "400": "Invalid input; `fields` names each field in error.",
    "401": "No credentials, or a wrong or expired token.",
    "403": "Your role may not do this (or, signed in with a session, the CSRF token is missing).",
    "404": "No such object, one you may not see, or an endpoint your role may not use: "
    "the API answers 404 rather than reveal it.",
    "409": "The object's state does not allow this now; `detail` says why.",
    "422": "The Idempotency-Key was already used for a different request, or is not 1 to "
    "255 characters.",
    "429": "Too many requests; retry after the `Retry-After` seconds.",
}


def output_may_be_null(field) -> bool:
    """Whether DRF can write null for this output field.

    DRF stops at the first None on a dotted source and writes null, and writes
    a None default for a missing attribute; a nullable column is null as is.
    Method fields say so in their type hints, and many-valued relations are
    lists, never null.
    """
    if field.default is None:
        return True
    if isinstance(field, serializers.SerializerMethodField) or field.source == "*":
        return False
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not getattr(field, "source_attrs", None):
        return False
    for attr in field.source_attrs:
        if model is None:
            return False
        try:
            model_field = model._meta.get_field(attr)
        except FieldDoesNotExist:
            return False  # a property or method: not known here
        if model_field.is_relation and not (
            model_field.many_to_one or (model_field.one_to_one and model_field.concrete)
        ):
            return False
        if model_field.null:
            return True
        model = model_field.related_model
    return False


class AutoSchema(SpectacularAutoSchema):
    def _get_serializer_field_meta(self, field, direction):
        meta = super()._get_serializer_field_meta(field, direction)
        if (
            direction == "response"
            and isinstance(field, serializers.Field)
            and not meta.get("nullable")
            and output_may_be_null(field)
        ):
            meta["nullable"] = True
        return meta

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self.error_codes():
            schema = self._error_component(code)
            documented = responses.get(code)
            if documented is None:
                responses[code] = self._get_response_for_code(schema, code)
                responses[code]["description"] = ERROR_DESCRIPTIONS[code]
            elif "content" not in documented:
                # An explicit description without a body: the body is the error's.
                documented["content"] = self._get_response_for_code(schema, code)["content"]
        return responses

    def error_codes(self) -> list[str]:
        """The error codes this operation can answer, from what the view is made of."""
        view = self.view
        authenticated = bool(view.get_authenticators())
        permissions = view.get_permissions()
        restricted = (
            authenticated
            and bool(permissions)
            and not any(isinstance(p, AllowAny) for p in permissions)
        )
        writes = restricted and self.method in UNSAFE_METHODS
        codes = []
        # Services check what they are asked against the object's state too, and
        # answer 400 naming the field even when there is no body.
        if writes or self._get_request_body() or self._has_query_parameters():
            codes.append("400")
        if authenticated:
            codes.append("401")
        if writes:
            codes.append("403")
        if restricted or self.path_has_parameters():
            codes.append("404")
        if writes:
            codes.append("409")
        if self._has_idempotency_key():
            codes.append("422")
        if view.get_throttles():
            codes.append("429")
        return codes

    def path_has_parameters(self) -> bool:
        return "{" in self.path

    def _has_query_parameters(self) -> bool:
        return any(p.get("in") == "query" for p in self._get_parameters())

    def _has_idempotency_key(self) -> bool:
        return any(
            p.get("in") == "header" and p.get("name") == "Idempotency-Key"
            for p in self._get_parameters()
        )

    def _error_component(self, code: str) -> dict:
        name, schema = (
            ("ValidationError", VALIDATION_ERROR_SCHEMA)
            if code == "400"
            else ("Error", ERROR_SCHEMA)
        )
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name
        )
        self.registry.register_on_missing(component)
        return component.ref

import copy

from rest_framework import serializers


class FieldsBuiltOnceMixin:
    """A ModelSerializer that introspects its model once per class, not per instance.

    DRF builds a ModelSerializer's fields from the model on every instance
    (and a nested `many=True` child on every request): most of a filing
    call's serializer time. The built fields are kept on the class and each
    instance gets a deep copy, as DRF does for declared fields.
    """

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            cls._fields_built_once = built
        return copy.deepcopy(built)


class ModelSerializer(FieldsBuiltOnceMixin, serializers.ModelSerializer):
    pass

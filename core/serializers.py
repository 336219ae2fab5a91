import copy

from rest_framework import serializers

# DRF builds a ModelSerializer's fields from the model on every instance (and
# a nested `many=True` child on every request): most of a filing call's
# serializer time. These keep the built fields on the class and give each
# instance a deep copy, as DRF does for declared fields. (Comments, not
# docstrings: the API schema would show a docstring as each serializer's
# description.)


class FieldsBuiltOnceMixin:
    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            cls._fields_built_once = built
        return copy.deepcopy(built)


class ModelSerializer(FieldsBuiltOnceMixin, serializers.ModelSerializer):
    pass


class ReasonInputSerializer(serializers.Serializer):
    # Why a step is taken (a cancellation, a rule set sent back, a proposal rejected).
    reason = serializers.CharField(max_length=1000)

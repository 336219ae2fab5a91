from django import template

register = template.Library()


@register.filter
def may_become(obj, status: str) -> bool:
    """`{% if review|may_become:"approved" %}`: asks the model's TRANSITIONS table."""
    return obj.may_become(status)

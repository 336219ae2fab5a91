from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings

from declarations.duties import national_money

register = template.Library()


@register.filter
def money(value):
    """An amount in the national currency as a trader reads it: its minor units
    only (none for KRW) and thousands grouped, `68,968,728`. Blank stays blank."""
    if value is None or value == "":
        return ""
    try:
        amount = national_money(Decimal(str(value)))
    except InvalidOperation:
        return value
    return f"{amount:,}"


@register.simple_tag
def national_currency() -> str:
    return settings.NATIONAL_CURRENCY

from django import template

register = template.Library()


@register.filter
def get_rate(at: dict, rate: str):
    return (at or {}).get(rate, {}).get("precision", "—")


@register.filter
def get_recall(at: dict, rate: str):
    return (at or {}).get(rate, {}).get("recall", "—")

from django import template

from agencies.models import Query

register = template.Library()


@register.filter
def agency_queries(declaration) -> list[Query]:
    """Every agency query on a declaration, oldest first, in one query.

    Callers only reach a declaration through a selector that already scoped it
    to the user, so the queries of a visible declaration are visible too.
    """
    return list(
        Query.objects.filter(review__declaration=declaration).select_related(
            "review__agency", "answered_by"
        )
    )

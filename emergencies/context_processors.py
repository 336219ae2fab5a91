from django.utils.functional import SimpleLazyObject

from emergencies.selectors import emergency_notices


def emergency_banner(request):
    """`emergencies_in_force` for the banner of base.html: read only when a page shows
    it (a partial, a page for an anonymous visitor, a health check never do)."""
    return {"emergencies_in_force": SimpleLazyObject(emergency_notices)}

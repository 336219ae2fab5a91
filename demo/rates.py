"""The demo administration's daily exchange rates.

A real administration publishes each day's rates from its central bank's
fixing (in the admin, or by loading them); lodgement refuses a rate older
than EXCHANGE_RATE_MAX_AGE_DAYS. The demo has no bank: it publishes today's
rate of every currency at the newest rate it knows, so a demo started any
day lodges.
"""

from django.db import transaction
from django.utils import timezone

from reference.lookups import clear_caches
from reference.models import ExchangeRate


@transaction.atomic
def exchange_rates_publish_today() -> int:
    """Today's rate of every currency that has none yet; returns how many were added."""
    today = timezone.localdate()
    newest = (
        ExchangeRate.objects.filter(valid_from__lte=today)
        .order_by("currency", "-valid_from")
        .distinct("currency")
        .values_list("currency", "rate", "valid_from")
    )
    missing = [
        ExchangeRate(currency=currency, rate=rate, valid_from=today)
        for currency, rate, valid_from in newest
        if valid_from < today
    ]
    ExchangeRate.objects.bulk_create(missing, ignore_conflicts=True)
    clear_caches()
    return len(missing)

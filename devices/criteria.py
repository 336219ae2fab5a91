"""What the risk rules may test of the declarant's sealed movements."""

from datetime import timedelta

from django.utils import timezone

from risk.criteria import Criterion, register

SEAL_ALERT_DAYS = 90


def seal_alerts_of_declarant(declaration, ctx) -> int:
    """Alerts raised on the declarant's transit movements over the last 90 days: a
    trader whose seals were opened or whose trucks left the route is looked at
    harder on its next declarations."""
    from devices.models import MovementAlert

    since = timezone.now() - timedelta(days=SEAL_ALERT_DAYS)
    return MovementAlert.objects.filter(
        movement__company_id=declaration.company_id, raised_at__gte=since
    ).count()


def seal_tampering_of_declarant(declaration, ctx) -> int:
    from devices.models import MovementAlert

    since = timezone.now() - timedelta(days=SEAL_ALERT_DAYS)
    return MovementAlert.objects.filter(
        movement__company_id=declaration.company_id,
        raised_at__gte=since,
        kind__in=[MovementAlert.Kind.SEAL_OPENED, MovementAlert.Kind.SEAL_TAMPERED],
    ).count()


def register_seal_criteria() -> None:
    register(
        Criterion(
            name="seal_alerts_90d",
            label=f"seal and sensor alerts on the declarant's movements, last "
            f"{SEAL_ALERT_DAYS} days",
            level="declaration",
            type="number",
            read=seal_alerts_of_declarant,
        )
    )
    register(
        Criterion(
            name="seal_breaches_90d",
            label=f"seals opened or tampered with on the declarant's movements, last "
            f"{SEAL_ALERT_DAYS} days",
            level="declaration",
            type="number",
            read=seal_tampering_of_declarant,
        )
    )

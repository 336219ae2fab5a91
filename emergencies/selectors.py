"""Reads of the emergencies app: what is in force, and whether a consignment is relief."""

import logging
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.postgres.aggregates import ArrayAgg
from django.core.cache import cache
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from redis.exceptions import RedisError

from declarations.models import Declaration
from emergencies.models import Emergency, EmergencyProposal, HumanitarianConsignee

logger = logging.getLogger(__name__)


def emergencies_in_force(at: datetime | None = None) -> list[Emergency]:
    """Every emergency in force, with its offices: the banner of every page reads this."""
    return list(Emergency.objects.in_force(at).prefetch_related("offices").order_by("starts_at"))


@dataclass
class ReliefCheck:
    """What an emergency in force means for one declaration, as its declarant may read it:
    whether it is a relief consignment, and if not, why not."""

    emergency: Emergency | None
    relief: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def measures(self) -> list[str]:
        return self.emergency.measures if self.relief and self.emergency else []


def _consignee(declaration) -> HumanitarianConsignee | None:
    """The approved humanitarian consignee the declaration is for: the declarant's own
    company, or the importer it names (a broker lodging for an NGO)."""
    approved = HumanitarianConsignee.objects.filter(
        status=HumanitarianConsignee.Status.APPROVED
    ).select_related("company")
    own = approved.filter(company_id=declaration.company_id).first()
    if own is not None and (
        not declaration.importer_tax_id or declaration.importer_tax_id == own.company.tax_id
    ):
        return own
    if declaration.importer_tax_id:
        return approved.filter(company__tax_id=declaration.importer_tax_id).first()
    return None


def relief_check(declaration, items, *, at: datetime | None = None) -> ReliefCheck:
    """Whether the declaration is a relief consignment of an emergency in force at `at`.

    A relief consignment is an import, for an approved humanitarian consignee,
    through an office of entry the emergency covers, of goods it lists (every item).
    Of several emergencies in force, the first the consignment qualifies under;
    when it qualifies under none, the check of the one it comes closest to.
    """
    in_force = emergencies_in_force(at)
    if not in_force:
        return ReliefCheck(emergency=None)
    if declaration.type != Declaration.Type.IMPORT:
        return ReliefCheck(
            emergency=in_force[0], problems=["Relief measures apply to imports only."]
        )
    consignee = _consignee(declaration)
    checks = []
    for emergency in in_force:
        problems = []
        if consignee is None:
            problems.append(
                "The importer is not a humanitarian consignee approved by customs "
                f"(importer tax id {declaration.importer_tax_id or 'not given'})."
            )
        codes = {office.code for office in emergency.offices.all()}
        if declaration.office_of_entry not in codes:
            problems.append(
                f"The office of entry {declaration.office_of_entry or '(none)'} is not in the "
                f"area of {emergency.name} ({', '.join(sorted(codes))})."
            )
        unlisted = [item for item in items if not emergency.lists(item.hs_code)]
        if unlisted:
            lines = ", ".join(f"item {item.line_no} (HS {item.hs_code})" for item in unlisted)
            problems.append(f"Not among the goods {emergency.name} lists: {lines}.")
        if not items:
            problems.append("The declaration has no items.")
        if not problems:
            return ReliefCheck(emergency=emergency, relief=True)
        checks.append(ReliefCheck(emergency=emergency, problems=problems))
    return min(checks, key=lambda check: len(check.problems))


def relief_for(declaration, items, *, at: datetime | None = None) -> Emergency | None:
    """The emergency under which the declaration is a relief consignment, if any."""
    check = relief_check(declaration, items, at=at)
    return check.emergency if check.relief else None


def priority_emergency_ids(emergency_ids) -> set[int]:
    """Which of these emergencies put relief at the top of the queues."""
    wanted = set(emergency_ids) - {None}
    if not wanted:
        return set()
    return set(Emergency.objects.filter(pk__in=wanted, priority=True).values_list("pk", flat=True))


def emergency_list() -> QuerySet[Emergency]:
    return Emergency.objects.prefetch_related(
        "offices",
        Prefetch(
            "proposals",
            queryset=EmergencyProposal.objects.select_related("proposed_by", "decided_by"),
        ),
    )


def get_emergency(*, user, pk) -> Emergency:
    """An emergency for an administrator (anyone else: 404)."""
    if not user.is_platform_admin:
        raise Http404
    try:
        return emergency_list().get(pk=pk)
    except (Emergency.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def consignee_list(*, user) -> QuerySet[HumanitarianConsignee]:
    """Administrators see every registration; a trader sees their company's."""
    consignees = HumanitarianConsignee.objects.select_related("company", "requested_by")
    if user.is_platform_admin:
        return consignees
    if user.is_trader:
        return consignees.filter(company_id=user.company_id)
    return consignees.none()


# ---- Pages, API and the banner (A) ----------------------------------------------------------

# The emergencies declared and not yet ended, shared by every process through the cache:
# every page and every API response says whether one is in force, and asking the
# database each time would add a statement to each of them. Forgotten when an emergency
# changes (services._emergency_transition). Kept NOTICES_CACHE_SECONDS at most besides:
# a request that read the database just before a change committed may store what it
# read after the change forgot it, and a change made behind the services' back is not
# forgotten at all; either shows within that time.
NOTICES_CACHE_KEY = "emergencies:declared:v1"
NOTICES_CACHE_SECONDS = 60


@dataclass(frozen=True)
class EmergencyNotice:
    """What every signed-in user may know of a declared emergency: the banner and the
    API's Emergency-In-Force header."""

    id: int
    name: str
    starts_at: datetime
    ends_at: datetime
    # (code, name) of the offices of entry where relief measures apply.
    offices: tuple[tuple[str, str], ...]

    def is_in_force(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    @property
    def office_codes(self) -> list[str]:
        return [code for code, _ in self.offices]


def _declared_notices() -> list[EmergencyNotice]:
    """Declared emergencies that have not ended, begun or not: one statement."""
    rows = (
        Emergency.objects.filter(status=Emergency.Status.ACTIVE, ends_at__gt=timezone.now())
        .annotate(
            codes=ArrayAgg("offices__code", order_by="offices__code", default=[]),
            names=ArrayAgg("offices__name", order_by="offices__code", default=[]),
        )
        .order_by("starts_at", "pk")
        .values_list("pk", "name", "starts_at", "ends_at", "codes", "names")
    )
    return [
        EmergencyNotice(pk, name, starts_at, ends_at, tuple(zip(codes, names, strict=True)))
        for pk, name, starts_at, ends_at, codes, names in rows
    ]


def emergency_notices(at: datetime | None = None) -> list[EmergencyNotice]:
    """The emergencies in force at `at` (now), as the banner and the API header say them.

    Read from the cache; on a miss, one statement fills it. An emergency that begins or
    ends later is in the cached list and is judged here against the clock, so time
    passing needs no forgetting.
    """
    at = at or timezone.now()
    try:
        declared = cache.get(NOTICES_CACHE_KEY)
    except RedisError:
        logger.warning("cache unavailable: emergencies read from the database")
        declared = None
        cached = False
    else:
        cached = True
    if declared is None:
        declared = _declared_notices()
        if cached:
            with suppress(RedisError):
                cache.set(NOTICES_CACHE_KEY, declared, NOTICES_CACHE_SECONDS)
    return [notice for notice in declared if notice.is_in_force(at)]


def emergency_notices_forget() -> None:
    """Forget the cached emergencies, now and again once the change is committed (a
    request in between could have cached what was about to change)."""

    def forget() -> None:
        with suppress(RedisError):
            cache.delete(NOTICES_CACHE_KEY)

    forget()
    transaction.on_commit(forget)


def get_emergency_proposal(*, user, pk) -> EmergencyProposal:
    """A proposal to declare, extend or end an emergency, for an administrator (anyone
    else: 404)."""
    if not user.is_platform_admin:
        raise Http404
    try:
        return EmergencyProposal.objects.select_related(
            "emergency", "proposed_by", "decided_by"
        ).get(pk=pk)
    except (EmergencyProposal.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def emergency_proposal_list(*, user) -> QuerySet[EmergencyProposal]:
    if not user.is_platform_admin:
        raise Http404
    return EmergencyProposal.objects.select_related("emergency", "proposed_by", "decided_by")


def get_consignee(*, user, pk) -> HumanitarianConsignee:
    """A humanitarian consignee: an administrator reads any, a trader their company's."""
    try:
        return consignee_list(user=user).get(pk=pk)
    except (HumanitarianConsignee.DoesNotExist, ValueError, TypeError):
        raise Http404 from None

"""Reads of the emergencies app: what is in force, and whether a consignment is relief."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from declarations.models import Declaration
from emergencies.models import Emergency, EmergencyProposal, HumanitarianConsignee


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

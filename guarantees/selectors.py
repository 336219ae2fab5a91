"""Who reads which guarantees: a trader their company's, customs staff the registry."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from guarantees.models import Guarantee, GuaranteeDraw, GuaranteeProposal


def is_customs_staff(user) -> bool:
    """Customs officers and supervisors: who keep the registry and work movements."""
    return bool(
        user.is_authenticated and user.is_agency_staff and user.agency and user.agency.is_customs
    )


def guarantee_list(*, user, with_draws: bool = False) -> QuerySet[Guarantee]:
    """Traders: their company's guarantees (a refused proposal is customs' record, not
    theirs). Customs officers and supervisors: every guarantee. Anyone else: 404.
    with_draws: each with `engaged_draws`, what movements hold of it now, newest first."""
    guarantees = Guarantee.objects.select_related("company")
    if with_draws:
        engaged = GuaranteeDraw.objects.filter(status__in=GuaranteeDraw.ENGAGED).select_related(
            "declaration"
        )
        guarantees = guarantees.prefetch_related(
            Prefetch("draws", engaged, to_attr="engaged_draws")
        )
    if user.is_trader:
        return guarantees.filter(company_id=user.company_id).exclude(
            status=Guarantee.Status.REFUSED
        )
    if is_customs_staff(user):
        return guarantees
    raise Http404


def get_guarantee_for_user(*, user, pk, with_details: bool = False) -> Guarantee:
    """One guarantee, or 404; with_details adds its engaged draws and (for customs) its
    proposals."""
    guarantees = guarantee_list(user=user, with_draws=with_details)
    if with_details and is_customs_staff(user):
        proposals = GuaranteeProposal.objects.select_related("proposed_by", "decided_by")
        guarantees = guarantees.prefetch_related(Prefetch("proposals", proposals))
    return get_object_or_404(guarantees, pk=pk)


def ensure_keeps_registry(user) -> None:
    """The registry's pages and endpoints (proposing, raising, deciding) are customs
    officers' and supervisors': anyone else is answered 404, as for what they may not
    see."""
    if not is_customs_staff(user):
        raise Http404


def guarantee_proposal_list(*, user) -> QuerySet[GuaranteeProposal]:
    """Proposals to accept or raise a guarantee: customs officers and supervisors only."""
    ensure_keeps_registry(user)
    return GuaranteeProposal.objects.select_related(
        "guarantee__company", "proposed_by", "decided_by"
    )


def get_guarantee_proposal_for_user(*, user, pk) -> GuaranteeProposal:
    return get_object_or_404(guarantee_proposal_list(user=user), pk=pk)

"""Reads for risk analysts. Everyone else gets 404: rules are not for traders' eyes."""

from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from risk.models import (
    ConfigAuditEntry,
    LaneDecision,
    ModelVersion,
    PlannedFallback,
    RiskJob,
    RiskSettingsProposal,
    RuleSet,
    ScoringFault,
    SelectivityRule,
)


def ensure_analyst(user) -> None:
    if not (user.is_authenticated and (user.is_analyst or user.is_platform_admin)):
        raise Http404


def rule_set_list(*, user) -> QuerySet[RuleSet]:
    ensure_analyst(user)
    return RuleSet.objects.annotate(rule_count=Count("rules")).select_related(
        "created_by", "submitted_by", "approved_by"
    )


def get_rule_set_for_user(*, user, pk) -> RuleSet:
    return get_object_or_404(rule_set_list(user=user), pk=pk)


def get_rule_for_user(*, user, pk) -> SelectivityRule:
    ensure_analyst(user)
    return get_object_or_404(SelectivityRule.objects.select_related("rule_set"), pk=pk)


def model_version_list(*, user) -> QuerySet[ModelVersion]:
    ensure_analyst(user)
    return ModelVersion.objects.defer("artifact")


def job_list(*, user, kind: str | None = None) -> QuerySet[RiskJob]:
    ensure_analyst(user)
    jobs = RiskJob.objects.all()
    return jobs.filter(kind=kind) if kind else jobs


def get_job_for_user(*, user, pk) -> RiskJob:
    return get_object_or_404(job_list(user=user), pk=pk)


def settings_proposal_list(*, user) -> QuerySet[RiskSettingsProposal]:
    ensure_analyst(user)
    return RiskSettingsProposal.objects.select_related("proposed_by", "decided_by")


def config_audit_list(*, user) -> QuerySet[ConfigAuditEntry]:
    ensure_analyst(user)
    return ConfigAuditEntry.objects.select_related("proposed_by", "decided_by")


def scoring_fault_list(*, user) -> QuerySet[ScoringFault]:
    """Systemic scoring faults, open ones first, then the latest."""
    ensure_analyst(user)
    return ScoringFault.objects.order_by("-closed_at", "-opened_at")


# ---- whether scoring runs on its full path (officers' banner, the continuity desk) -----------


def rescore_candidates() -> QuerySet[LaneDecision]:
    """Lane decisions a fallback took and nobody has re-scored yet (the partial index on
    fallback decisions)."""
    return LaneDecision.objects.exclude(fallback="").filter(rescore__isnull=True)


@dataclass
class ScoringState:
    """The planned fallback waiting or on, the systemic faults open, and (for the
    continuity desk) the decisions a fallback took that wait to be re-scored and the
    latest re-scoring jobs. Not targeting: it says how lanes are decided now, not
    why any one is."""

    planned: PlannedFallback | None
    faults: list
    to_rescore: int | None = None
    jobs: list = field(default_factory=list)

    @property
    def planned_on(self) -> bool:
        return self.planned is not None and self.planned.status == PlannedFallback.Status.ON

    @property
    def degraded(self) -> bool:
        return self.planned_on or bool(self.faults)


def scoring_state(*, with_rescores: bool = False) -> ScoringState:
    """Two queries (four with the re-scoring's count and jobs)."""
    planned = (
        PlannedFallback.objects.filter(status__in=PlannedFallback.ACTIVE)
        .select_related("proposed_by", "decided_by")
        .first()
    )
    faults = list(ScoringFault.objects.filter(closed_at__isnull=True).order_by("opened_at"))
    state = ScoringState(planned=planned, faults=faults)
    if with_rescores:
        state.to_rescore = rescore_candidates().count()
        state.jobs = list(
            RiskJob.objects.filter(kind=RiskJob.Kind.RESCORE)
            .select_related("requested_by")
            .order_by("-created_at", "-pk")[:5]
        )
    return state

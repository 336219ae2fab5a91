"""Reads for risk analysts. Everyone else gets 404: rules are not for traders' eyes."""

from django.db.models import Count, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from risk.models import (
    ConfigAuditEntry,
    ModelVersion,
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

"""REST for risk analysts under /api/v1/risk/; anyone else gets 404 (customs
supervisors may also route held declarations)."""

from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance.services import declaration_route_manually
from core.serializers import ReasonInputSerializer
from declarations.models import Declaration, Lane
from risk.criteria import REGISTRY
from risk.jobs import risk_job_create
from risk.models import RiskJob, RiskSettings
from risk.selectors import (
    config_audit_list,
    ensure_analyst,
    get_job_for_user,
    get_rule_for_user,
    get_rule_set_for_user,
    model_version_list,
    rule_set_list,
    settings_proposal_list,
)
from risk.serializers import (
    ConfigAuditEntryOutputSerializer,
    CriterionOutputSerializer,
    JobOutputSerializer,
    ModelVersionOutputSerializer,
    ReplayInputSerializer,
    RiskSettingsProposalInputSerializer,
    RiskSettingsProposalOutputSerializer,
    RiskSettingsSerializer,
    RuleInputSerializer,
    RuleOutputSerializer,
    RuleSetInputSerializer,
    RuleSetOutputSerializer,
)
from risk.services import (
    risk_settings_approve,
    risk_settings_propose,
    risk_settings_reject,
    rule_create,
    rule_delete,
    rule_set_approve,
    rule_set_draft_create,
    rule_set_send_back,
    rule_set_submit,
    rule_update,
)


class CriterionListApi(APIView):
    @extend_schema(
        summary="Criteria a rule can test", responses=CriterionOutputSerializer(many=True)
    )
    def get(self, request):
        ensure_analyst(request.user)
        data = [
            {
                "name": c.name,
                "label": c.label,
                "level": c.level,
                "type": c.type,
                "operators": list(c.operators),
                "choices": [code for code, _ in c.choices],
            }
            for c in sorted(REGISTRY.values(), key=lambda c: c.name)
        ]
        return Response(CriterionOutputSerializer(data, many=True).data)


class RuleSetListCreateApi(APIView):
    @extend_schema(summary="Rule set versions", responses=RuleSetOutputSerializer(many=True))
    def get(self, request):
        rule_sets = rule_set_list(user=request.user).prefetch_related("rules")
        return Response(RuleSetOutputSerializer(rule_sets, many=True).data)

    @extend_schema(
        summary="Create a draft version, a copy of the live rules (or of `based_on`)",
        request=RuleSetInputSerializer,
        responses={201: RuleSetOutputSerializer},
    )
    def post(self, request):
        ensure_analyst(request.user)
        serializer = RuleSetInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft = rule_set_draft_create(actor=request.user, **serializer.validated_data)
        return Response(RuleSetOutputSerializer(draft).data, status=status.HTTP_201_CREATED)


class RuleSetDetailApi(APIView):
    @extend_schema(summary="One rule set version with its rules", responses=RuleSetOutputSerializer)
    def get(self, request, pk: int):
        return Response(
            RuleSetOutputSerializer(get_rule_set_for_user(user=request.user, pk=pk)).data
        )


class RuleSetSubmitApi(APIView):
    @extend_schema(
        summary="Submit a draft for approval; its rules freeze until a second analyst acts",
        request=None,
        responses=RuleSetOutputSerializer,
    )
    def post(self, request, pk: int):
        rule_set = get_rule_set_for_user(user=request.user, pk=pk)
        return Response(
            RuleSetOutputSerializer(rule_set_submit(actor=request.user, rule_set=rule_set)).data
        )


class RuleSetApproveApi(APIView):
    @extend_schema(
        summary="Approve a submitted rule set: it goes live (never by its author or submitter)",
        request=None,
        responses=RuleSetOutputSerializer,
    )
    def post(self, request, pk: int):
        rule_set = get_rule_set_for_user(user=request.user, pk=pk)
        return Response(
            RuleSetOutputSerializer(rule_set_approve(actor=request.user, rule_set=rule_set)).data
        )


class RuleSetSendBackApi(APIView):
    @extend_schema(
        summary="Send a submitted rule set back to draft with a `reason`",
        request=ReasonInputSerializer,
        responses=RuleSetOutputSerializer,
    )
    def post(self, request, pk: int):
        rule_set = get_rule_set_for_user(user=request.user, pk=pk)
        serializer = ReasonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule_set = rule_set_send_back(
            actor=request.user, rule_set=rule_set, **serializer.validated_data
        )
        return Response(RuleSetOutputSerializer(rule_set).data)


class RuleCreateApi(APIView):
    @extend_schema(
        summary="Add a rule to a draft rule set",
        request=RuleInputSerializer,
        responses={201: RuleOutputSerializer},
    )
    def post(self, request, pk: int):
        rule_set = get_rule_set_for_user(user=request.user, pk=pk)
        serializer = RuleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = rule_create(actor=request.user, rule_set=rule_set, **serializer.validated_data)
        return Response(RuleOutputSerializer(rule).data, status=status.HTTP_201_CREATED)


class RuleDetailApi(APIView):
    @extend_schema(summary="One rule", responses=RuleOutputSerializer)
    def get(self, request, pk: int):
        return Response(RuleOutputSerializer(get_rule_for_user(user=request.user, pk=pk)).data)

    @extend_schema(
        summary="Change a rule of a draft rule set",
        request=RuleInputSerializer,
        responses=RuleOutputSerializer,
    )
    def patch(self, request, pk: int):
        rule = get_rule_for_user(user=request.user, pk=pk)
        serializer = RuleInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        rule = rule_update(actor=request.user, rule=rule, **serializer.validated_data)
        return Response(RuleOutputSerializer(rule).data)

    @extend_schema(summary="Remove a rule from a draft rule set", responses={204: None})
    def delete(self, request, pk: int):
        rule_delete(actor=request.user, rule=get_rule_for_user(user=request.user, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RiskSettingsApi(APIView):
    @extend_schema(
        summary="Thresholds, random rates and expected lane shares",
        responses=RiskSettingsSerializer,
    )
    def get(self, request):
        ensure_analyst(request.user)
        return Response(RiskSettingsSerializer(RiskSettings.current()).data)


class RiskSettingsProposalListApi(APIView):
    @extend_schema(
        summary="Proposed changes of the settings, the one waiting first",
        responses=RiskSettingsProposalOutputSerializer(many=True),
    )
    def get(self, request):
        proposals = settings_proposal_list(user=request.user).order_by("-proposed_at", "-pk")
        return Response(RiskSettingsProposalOutputSerializer(proposals[:50], many=True).data)

    @extend_schema(
        summary="Propose new thresholds or rates with a `reason`; a second analyst approves",
        request=RiskSettingsProposalInputSerializer,
        responses={201: RiskSettingsProposalOutputSerializer},
    )
    def post(self, request):
        ensure_analyst(request.user)
        serializer = RiskSettingsProposalInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        reason = values.pop("reason", "")
        proposal = risk_settings_propose(actor=request.user, reason=reason, **values)
        return Response(
            RiskSettingsProposalOutputSerializer(proposal).data, status=status.HTTP_201_CREATED
        )


class RiskSettingsApproveApi(APIView):
    @extend_schema(
        summary="Apply a proposed change (not by its author)",
        request=None,
        responses=RiskSettingsSerializer,
    )
    def post(self, request, pk: int):
        proposal = get_object_or_404(settings_proposal_list(user=request.user), pk=pk)
        current = risk_settings_approve(actor=request.user, proposal=proposal)
        return Response(RiskSettingsSerializer(current).data)


class RiskSettingsRejectApi(APIView):
    @extend_schema(
        summary="Reject (or, its author, withdraw) a proposed change, with a `reason`",
        request=ReasonInputSerializer,
        responses=RiskSettingsProposalOutputSerializer,
    )
    def post(self, request, pk: int):
        proposal = get_object_or_404(settings_proposal_list(user=request.user), pk=pk)
        serializer = ReasonInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = risk_settings_reject(
            actor=request.user, proposal=proposal, **serializer.validated_data
        )
        return Response(RiskSettingsProposalOutputSerializer(proposal).data)


class ConfigAuditListApi(APIView):
    @extend_schema(
        summary="The configuration audit log: who proposed and who approved each change",
        responses=ConfigAuditEntryOutputSerializer(many=True),
    )
    def get(self, request):
        entries = config_audit_list(user=request.user)[:200]
        return Response(ConfigAuditEntryOutputSerializer(entries, many=True).data)


class ModelVersionListApi(APIView):
    @extend_schema(
        summary="Model versions with their metrics",
        responses=ModelVersionOutputSerializer(many=True),
    )
    def get(self, request):
        return Response(
            ModelVersionOutputSerializer(model_version_list(user=request.user), many=True).data
        )


class ModelRetrainApi(APIView):
    @extend_schema(
        summary="Retrain now; poll the job", request=None, responses={202: JobOutputSerializer}
    )
    def post(self, request):
        ensure_analyst(request.user)
        job = risk_job_create(kind=RiskJob.Kind.RETRAIN, params={}, actor=request.user)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ReplayCreateApi(APIView):
    @extend_schema(
        summary="Replay a rule set and model over a past period; poll the job",
        request=ReplayInputSerializer,
        responses={202: JobOutputSerializer},
    )
    def post(self, request):
        ensure_analyst(request.user)
        serializer = ReplayInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = risk_job_create(kind=RiskJob.Kind.REPLAY, params=request.data, actor=request.user)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class JobDetailApi(APIView):
    @extend_schema(
        summary="A retraining or replay job: progress and result", responses=JobOutputSerializer
    )
    def get(self, request, pk: int):
        return Response(JobOutputSerializer(get_job_for_user(user=request.user, pk=pk)).data)


class HeldDeclarationRouteApi(APIView):
    class HeldRouteInputSerializer(serializers.Serializer):
        lane = serializers.ChoiceField(choices=Lane.choices)
        reason = serializers.CharField(max_length=1000)

    @extend_schema(
        summary="Route by hand a declaration held because scoring failed",
        description="Customs supervisors and risk analysts: sets the lane with a reason "
        "and opens the agency reviews.",
        request=HeldRouteInputSerializer,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request, pk: int):
        user = request.user
        if not (user.is_analyst or (user.role == "supervisor" and user.agency.is_customs)):
            raise Http404
        held = Declaration.objects.filter(status=Declaration.Status.HELD)
        if not user.is_analyst:
            # A supervisor routes the declarations of the offices they oversee: an
            # import's office of entry, another type's office of departure.
            held = held.filter(
                Q(type=Declaration.Type.IMPORT, office_of_entry__in=user.office_codes)
                | (~Q(type=Declaration.Type.IMPORT) & Q(office_of_departure__in=user.office_codes))
            )
        declaration = get_object_or_404(held, pk=pk)
        serializer = self.HeldRouteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decision = declaration_route_manually(
            declaration_id=declaration.pk, actor=user, **serializer.validated_data
        )
        return Response({"declaration": pk, "lane": decision.lane, "status": "under_review"})

from rest_framework import serializers

from reference.models import Office, OfficeClosure
from risk.models import Fallback, PlannedFallback, RiskJob, ScoringFault


class ClosureOutputSerializer(serializers.ModelSerializer):
    office = serializers.CharField(source="office_id")
    closed_by = serializers.CharField(source="closed_by.username")
    reopened_by = serializers.CharField(source="reopened_by.username", default=None)
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = OfficeClosure
        fields = [
            "id", "office", "reason", "closed_from", "closed_by", "recorded_at", "in_force",
            "reopened_at", "reopened_by", "reopen_reason",
        ]  # fmt: skip

    def get_in_force(self, closure) -> bool:
        return closure.in_force()


class OfficeRowSerializer(serializers.Serializer):
    code = serializers.CharField(source="office.code")
    name = serializers.CharField(source="office.name")
    kind = serializers.ChoiceField(source="office.kind", choices=Office.Kind.choices)
    closed = serializers.BooleanField(help_text="A closure is in force now.")
    closure = ClosureOutputSerializer(
        allow_null=True, help_text="The closure in force or announced; null when none."
    )
    waiting = serializers.IntegerField(
        help_text="Declarations lodged and not yet released whose control office it is."
    )


class WaitingDeclarationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    reference = serializers.CharField()
    type = serializers.CharField()
    status = serializers.CharField()
    lane = serializers.CharField()
    company = serializers.CharField(source="company.name")
    submitted_at = serializers.DateTimeField(allow_null=True)


class TargetSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Office.Kind.choices)


class OfficeDeskSerializer(serializers.Serializer):
    code = serializers.CharField(source="office.code")
    name = serializers.CharField(source="office.name")
    kind = serializers.ChoiceField(source="office.kind", choices=Office.Kind.choices)
    closed = serializers.BooleanField()
    closure = ClosureOutputSerializer(allow_null=True)
    history = ClosureOutputSerializer(many=True)
    waiting_count = serializers.IntegerField(help_text="Every declaration waiting while closed.")
    waiting = WaitingDeclarationSerializer(
        many=True, help_text="The oldest 200 waiting, while the office is closed."
    )
    targets = TargetSerializer(
        many=True, help_text="The open offices that may take its work, while it is closed."
    )
    may_divert = serializers.BooleanField()


class CloseInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)
    closed_from = serializers.DateTimeField(
        required=False, help_text="Default now; at most 30 days before or after it."
    )


class DivertInputSerializer(serializers.Serializer):
    to_office = serializers.CharField(max_length=8, help_text="UN/LOCODE of an open office")
    reason = serializers.CharField(max_length=1000)
    declarations = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        max_length=10_000,
        help_text="Ids of declarations waiting at the office; omitted: every one.",
    )


class DiversionOutputSerializer(serializers.Serializer):
    declaration = serializers.IntegerField(source="declaration_id")
    reference = serializers.CharField(source="declaration.reference")
    field = serializers.CharField()
    from_office = serializers.CharField()
    to_office = serializers.CharField()
    reviews = serializers.ListField(child=serializers.CharField(), help_text="Agencies moved.")


class DivertOutputSerializer(serializers.Serializer):
    diverted = serializers.IntegerField()
    declarations = DiversionOutputSerializer(many=True)


class PlannedFallbackOutputSerializer(serializers.ModelSerializer):
    proposed_by = serializers.CharField(source="proposed_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None)
    switched_off_by = serializers.CharField(source="switched_off_by.username", default=None)

    class Meta:
        model = PlannedFallback
        fields = [
            "id", "mode", "status", "reason", "proposed_by", "proposed_at", "decided_by",
            "decided_at", "decision_note", "switched_on_at", "switched_off_by", "switched_off_at",
            "switch_off_note",
        ]  # fmt: skip


class FaultOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScoringFault
        fields = ["id", "kind", "error", "opened_at", "fallbacks"]


class RescoreJobOutputSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", default=None)

    class Meta:
        model = RiskJob
        fields = [
            "id", "status", "progress", "message", "result", "requested_by", "created_at",
            "finished_at",
        ]  # fmt: skip


class ScoringStateSerializer(serializers.Serializer):
    planned = PlannedFallbackOutputSerializer(
        allow_null=True, help_text="The planned fallback waiting for approval or on; null: none"
    )
    planned_on = serializers.BooleanField()
    faults = FaultOutputSerializer(many=True, help_text="Systemic scoring faults still open")
    degraded = serializers.BooleanField(help_text="Lanes are decided by a fallback now.")
    to_rescore = serializers.IntegerField(
        help_text="Lane decisions a fallback took that were not re-scored"
    )
    jobs = RescoreJobOutputSerializer(many=True, help_text="The latest re-scoring jobs")


class PlannedFallbackInputSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=Fallback.choices,
        help_text="rules_only: the model left out (a second administrator approves); "
        "default_lane: every declaration to the fallback lane (applies at once)",
    )
    reason = serializers.CharField(max_length=1000)


class SwitchOffInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class WaitingReviewsSerializer(serializers.Serializer):
    agency = serializers.CharField()
    office = serializers.CharField()
    waiting = serializers.IntegerField()
    red = serializers.IntegerField()
    oldest_at = serializers.DateTimeField(allow_null=True)


class TotalSerializer(serializers.Serializer):
    name = serializers.CharField()
    waiting = serializers.IntegerField()
    red = serializers.IntegerField()
    oldest_at = serializers.DateTimeField(allow_null=True)


class HealthOutputSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    scope = serializers.CharField(help_text="Whose reviews are counted.")
    queue_depth = serializers.IntegerField(
        allow_null=True, help_text="Tasks waiting in the broker's queue; null: unreachable"
    )
    queue_error = serializers.CharField()
    unscored = serializers.IntegerField(help_text="Declarations lodged and not yet scored")
    oldest_unscored_at = serializers.DateTimeField(allow_null=True)
    oldest_unscored_seconds = serializers.FloatField(allow_null=True)
    decided_last_hour = serializers.IntegerField()
    lag_p50 = serializers.FloatField(
        allow_null=True, help_text="Seconds from lodgement to lane, median, last hour"
    )
    lag_p95 = serializers.FloatField(allow_null=True, help_text="95th percentile, last hour")
    reviews = WaitingReviewsSerializer(many=True, help_text="Waiting reviews by agency and office")
    by_agency = TotalSerializer(many=True)
    by_office = TotalSerializer(many=True)
    closed_offices = serializers.SerializerMethodField()
    scoring_degraded = serializers.SerializerMethodField()
    planned_fallback = serializers.SerializerMethodField()

    def get_closed_offices(self, health) -> list[str]:
        return [closure.office_id for closure in health.closures]

    def get_scoring_degraded(self, health) -> bool:
        return health.scoring.degraded

    def get_planned_fallback(self, health) -> str:
        """The planned fallback in force (rules_only, default_lane), "" when none."""
        return health.scoring.planned.mode if health.scoring.planned_on else ""

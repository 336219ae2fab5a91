"""Every write of the risk app: selectivity rules and rule sets, thresholds, and the
scoring of declarations (decisions computed here, applied by clearance.services)."""

import logging
import time
from decimal import Decimal
from functools import cached_property

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Avg, Count, Max
from django.utils import timezone

from core.exceptions import ApplicationError
from declarations.models import Declaration, Item, Lane
from risk import scoring
from risk.criteria import REGISTRY, clean_condition
from risk.model_store import live_model
from risk.models import (
    ConfigAuditEntry,
    LaneDecision,
    ReferencePrice,
    RiskSettings,
    RiskSettingsProposal,
    RuleSet,
    ScoringFailure,
    SelectivityRule,
    TrainingRecord,
    live_rule_set_id,
)

logger = logging.getLogger(__name__)

# After this many failed scoring attempts a declaration goes to manual review.
MAX_SCORING_ATTEMPTS = 3
# The model's reason names its strongest features from this fraud likelihood up.
MODEL_EXPLAIN_FROM = 0.1


def _ensure_analyst(actor) -> None:
    if actor is None or not (actor.is_analyst or actor.is_platform_admin):
        raise PermissionDenied


# ---- facts about one declaration -------------------------------------------------------------


def acceptance_rate(declaration) -> Decimal | None:
    """The rate the declaration's duties were computed with (lodgement stores it), else
    the one in force on its day of acceptance."""
    from reference.lookups import exchange_rate

    stored = getattr(declaration, "exchange_rate", None)
    return stored or exchange_rate(declaration.currency, declaration.acceptance_day)


class ScoringContext:
    """Facts about a declaration beyond its own fields, computed only when a rule asks."""

    def __init__(self, declaration: Declaration, items: list):
        self.declaration = declaration
        self.items = items
        self._prices: dict[tuple[str, str], float | None] = {}

    @property
    def item_count(self) -> int:
        return len(self.items)

    @cached_property
    def trader_age_days(self) -> int:
        return (timezone.now() - self.declaration.company.created_at).days

    @cached_property
    def trader_declarations(self) -> int:
        return (
            Declaration.objects.filter(
                company_id=self.declaration.company_id, submitted_at__isnull=False
            )
            .exclude(pk=self.declaration.pk)
            .count()
        )

    @cached_property
    def trader_offence_rate(self) -> float | None:
        inspected = TrainingRecord.objects.filter(
            declarant_id=self.declaration.company.tax_id, fraud__isnull=False
        ).aggregate(n=Count("id"), rate=Avg("fraud"))
        return None if not inspected["n"] else float(inspected["rate"]) * 100

    @cached_property
    def exchange_rate(self) -> Decimal | None:
        """National currency per unit of the invoice currency: the rate of the day of
        acceptance, which lodgement stored with the duties."""
        return acceptance_rate(self.declaration)

    def national(self, amount: Decimal | None) -> float | None:
        """An invoice amount in the national currency, as rules compare money."""
        if amount is None or self.exchange_rate is None:
            return None
        return float(amount * self.exchange_rate)

    def reference_value_per_kg(self, hs6: str, origin: str) -> float | None:
        key = (hs6, origin)
        if key not in self._prices:
            self._prices[key] = (
                ReferencePrice.objects.filter(hs6=hs6, origin_country=origin)
                .values_list("value_per_kg", flat=True)
                .first()
            )
        return self._prices[key]


def declaration_facts(declaration, items, rules) -> tuple[dict, list[dict]]:
    """Header and item facts, by criterion name, for the criteria the rules use."""
    context = ScoringContext(declaration, items)
    header_names = {c.name for rule in rules for c, _, _ in rule.header}
    item_names = {c.name for rule in rules for c, _, _ in rule.items}
    header = {name: REGISTRY[name].read(declaration, context) for name in header_names}
    item_facts = [
        {"line_no": item.line_no, **{n: REGISTRY[n].read(item, context) for n in item_names}}
        for item in items
    ]
    return header, item_facts


def _duty_rate(item) -> float:
    if getattr(item, "duty_rate", None) is not None:
        return float(item.duty_rate)
    from reference.lookups import duty_rate

    preference = getattr(item, "preference", "") or ""
    rate = (duty_rate(item.hs_code, preference) if preference else None) or duty_rate(item.hs_code)
    return float(rate or 0)


def declaration_item_records(declaration, items) -> list[dict]:
    """The declaration's items as canonical model records (risk.ml.records.ItemRecord).

    Values are converted to the national currency, as the KCS history the
    model learns from is declared in it; the duty rate is the tariff's when
    the declaration has not been assessed yet.
    """
    date = declaration.acceptance_day
    rate = acceptance_rate(declaration) or Decimal("1")
    return [
        {
            "declaration_id": str(declaration.pk),
            "date": date,
            "office": declaration.office_of_entry,
            "process_type": declaration.procedure,
            "import_type": declaration.type,
            "import_use": None,
            "payment_type": None,
            "transport_mode": declaration.transport_mode,
            "declarant_id": declaration.company.tax_id,
            "importer_id": getattr(declaration, "importer_tax_id", "")
            or declaration.company.tax_id,
            "seller_id": None,
            "courier_id": None,
            "hs6": item.hs_code[:6],
            "departure_country": declaration.country_of_export,
            "origin_country": item.origin_country,
            "tax_rate": _duty_rate(item),
            "tax_type": None,
            "origin_indicator": None,
            "net_mass_kg": float(item.net_mass_kg),
            "value": float(item.value * rate),
        }
        for item in items
    ]


def model_scores(declarations: list, items_of: dict, *, weight: int):
    """(label, {declaration id: (probability, reason)}) from the live model, in one batch.

    Features are computed once for every item of every declaration; the
    riskiest item of each declaration gives its probability and explanation.
    """
    label, model = live_model()
    if model is None or not declarations:
        return "", {}
    from risk.ml.model import describe
    from risk.ml.records import records_to_frame

    rows, owners = [], []
    for declaration in declarations:
        items = items_of[declaration.pk]
        rows.extend(declaration_item_records(declaration, items))
        owners.extend((declaration.pk, item.line_no, len(items)) for item in items)
    frame = records_to_frame(rows)
    features = model.features.transform(frame)
    probabilities = model.booster.predict(features, num_threads=model.n_jobs)
    riskiest: dict[int, int] = {}
    for index, (declaration_id, _, _) in enumerate(owners):
        best = riskiest.get(declaration_id)
        if best is None or probabilities[index] > probabilities[best]:
            riskiest[declaration_id] = index
    # SHAP contributions cost a few ms per row: only likelihoods worth an
    # officer's attention are explained.
    explained = [i for i in riskiest.values() if probabilities[i] >= MODEL_EXPLAIN_FROM]
    contributions = dict(
        zip(
            explained,
            model.booster.predict(
                features.iloc[explained], pred_contrib=True, num_threads=model.n_jobs
            )
            if explained
            else [],
            strict=True,
        )
    )
    names = list(features.columns)
    scores = {}
    for index in riskiest.values():
        declaration_id, line_no, item_count = owners[index]
        explanation = []
        if index in contributions:
            contribution = contributions[index][:-1]
            order = contribution.argsort()[::-1]
            explanation = [
                {
                    "feature": names[i],
                    "contribution": round(float(contribution[i]), 4),
                    "text": describe(names[i], features.iloc[index], frame.iloc[index]),
                }
                for i in order[:3]
                if contribution[i] > 0
            ]
        probability = float(probabilities[index])
        points = scoring.model_points(probability, weight)
        line = line_no if item_count > 1 else None
        scores[declaration_id] = (
            probability,
            scoring.model_reason(probability, points, label, explanation, line),
        )
    return label, scores


def _live_rules() -> tuple[str, list[scoring.CompiledRule]]:
    rule_set_id = live_rule_set_id()
    version = RuleSet.objects.values_list("version", flat=True).get(pk=rule_set_id)
    rules = SelectivityRule.objects.filter(rule_set_id=rule_set_id, active=True)
    return f"v{version}", [scoring.compile_rule(rule) for rule in rules]


# ---- scoring ---------------------------------------------------------------------------------


class ScoringBatch:
    """What scoring declarations needs beyond themselves, read once for a batch.

    Decides lanes and builds their decision records; stores nothing. Applying
    the lanes (reviews, status, notices) is the clearance process's
    (clearance.services.lanes_apply).
    """

    def __init__(self, declarations: list):
        started = time.perf_counter()
        self.items_of: dict[int, list] = {d.pk: [] for d in declarations}
        for item in Item.objects.filter(declaration_id__in=self.items_of).order_by("line_no"):
            self.items_of[item.declaration_id].append(item)
        self.thresholds = RiskSettings.current()
        self.version, self.rules = _live_rules()
        mark = time.perf_counter()
        self.model_label, self.scores = "", {}
        if self.thresholds.model_enabled:
            self.model_label, self.scores = model_scores(
                declarations, self.items_of, weight=self.thresholds.model_weight
            )
        self.model_ms = round((time.perf_counter() - mark) * 1000 / len(declarations), 1)
        self.shared_ms = (time.perf_counter() - started) * 1000 / len(declarations)

    def decide(self, declaration, floor: scoring.Floor | None = None) -> scoring.Decision:
        probability, reason = self.scores.get(declaration.pk, (None, None))
        header, item_facts = declaration_facts(
            declaration, self.items_of[declaration.pk], self.rules
        )
        assessment = scoring.apply_rules(self.rules, header, item_facts, at=timezone.now())
        return scoring.decide(
            rules=assessment,
            # An amended or refiled declaration keeps the draw of the one it
            # replaces: amending is not a way to draw again.
            random_draw=None if floor else scoring.new_draw(),
            probability=probability,
            model_reason_=reason,
            thresholds=self.thresholds,
            floor=floor,
        )

    def record(self, declaration, decision: scoring.Decision, timings: dict) -> LaneDecision:
        """The decision as stored; the caller completes `timings` and the duration once
        the lane is applied."""
        record = LaneDecision(
            declaration=declaration,
            lane=decision.lane,
            score=decision.score,
            reasons=decision.reasons,
            rule_set_version=self.version,
            model_version=self.model_label,
            model_probability=self.scores.get(declaration.pk, (None, None))[0],
            randomly_selected=decision.randomly_selected,
            timings=timings,
            decided_at=timezone.now(),
            duration_ms=0,
        )
        record.full_clean(
            exclude=["declaration"], validate_unique=False, validate_constraints=False
        )
        return record


def lane_decision_manual(*, declaration, lane: str, actor, reason: str) -> LaneDecision:
    """The decision a worker could not take, taken by hand (unsaved)."""
    if lane not in Lane.values:
        raise ValidationError({"lane": f"{lane} is not a lane."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why this lane was chosen."})
    return LaneDecision(
        declaration=declaration,
        lane=lane,
        score=0,
        reasons=[{"kind": "manual", "text": f"lane {lane} set by {actor.username}: {reason}"}],
        rule_set_version="manual",
        decided_by=actor,
        decided_at=timezone.now(),
        duration_ms=0,
    )


def scoring_failure_count(*, declaration_id: int, error: str) -> int:
    """Count a failed scoring attempt; returns the attempts so far.

    The count lives in the database, so attempts by redelivered messages, by
    the sweeper and by Celery's own retries all add up. The caller holds the
    declaration's lock.
    """
    failure, _ = ScoringFailure.objects.select_for_update().get_or_create(
        declaration_id=declaration_id
    )
    failure.attempts += 1
    failure.last_error = error[:2000]
    failure.save()
    return failure.attempts


def declaration_scoring_pending_retry(*, declaration_id: int) -> bool:
    """Whether a declaration failed to score and still waits for another attempt."""
    return ScoringFailure.objects.filter(
        declaration_id=declaration_id,
        declaration__status=Declaration.Status.SUBMITTED,
        declaration__lane_decision=None,
    ).exists()


# ---- settings --------------------------------------------------------------------------------

SETTINGS_FIELDS = (
    "yellow_from",
    "red_from",
    "random_yellow_rate",
    "random_red_rate",
    "expected_yellow_share",
    "expected_red_share",
    "model_enabled",
    "model_weight",
)


def _settings_values(settings_: RiskSettings) -> dict:
    """The settings as JSON: decimals as strings, so a stored proposal loses nothing."""
    return {
        name: str(value) if isinstance(value, Decimal) else value
        for name in SETTINGS_FIELDS
        for value in [getattr(settings_, name)]
    }


def _clean_settings(candidate: RiskSettings) -> None:
    candidate.full_clean(validate_unique=False, validate_constraints=False)
    if candidate.yellow_from >= candidate.red_from:
        raise ValidationError({"yellow_from": "Yellow must start below red."})
    if candidate.expected_yellow_share + candidate.expected_red_share > 100:
        raise ValidationError(
            {"expected_yellow_share": "Yellow and red shares add up to more than 100%."}
        )


def _config_audit(
    *, action: str, subject: str, proposed_by, decided_by=None, reason="", before=None, after=None
) -> ConfigAuditEntry:
    entry = ConfigAuditEntry(
        at=timezone.now(),
        action=action,
        subject=subject,
        proposed_by=proposed_by,
        decided_by=decided_by,
        reason=reason,
        before=before or {},
        after=after or {},
    )
    entry.full_clean()
    entry.save()
    return entry


def _ensure_second_person(actor, *, others, what: str) -> None:
    if actor.pk in {user.pk for user in others if user is not None}:
        raise ApplicationError(
            f"Four eyes: you proposed or wrote {what}; another analyst must approve it."
        )


@transaction.atomic
def risk_settings_propose(*, actor, reason: str, **values) -> RiskSettingsProposal:
    """Propose new thresholds or rates; the settings in force stay until a second
    analyst approves. One proposal waits at a time."""
    _ensure_analyst(actor)
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationError({name: "Not a risk setting." for name in sorted(unknown)})
    # The settings row is the lock every proposal and approval takes first.
    current = RiskSettings.objects.select_for_update().get(pk=RiskSettings.current().pk)
    waiting = (
        RiskSettingsProposal.objects.filter(status=RiskSettingsProposal.Status.PROPOSED)
        .select_related("proposed_by")
        .first()
    )
    if waiting is not None:
        raise ApplicationError(
            f"{waiting.proposed_by.username}'s proposal of "
            f"{waiting.proposed_at:%Y-%m-%d %H:%M} UTC waits for approval; "
            "approve or reject it first."
        )
    candidate = RiskSettings(pk=current.pk, **{**_settings_values(current), **values})
    _clean_settings(candidate)
    before, after = _settings_values(current), _settings_values(candidate)
    if before == after:
        raise ValidationError({"__all__": "The proposal changes nothing."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why the settings should change."})
    proposal = RiskSettingsProposal(
        values=after, reason=reason.strip(), proposed_by=actor, proposed_at=timezone.now()
    )
    proposal.full_clean()
    proposal.save()
    _config_audit(
        action=ConfigAuditEntry.Action.SETTINGS_PROPOSED,
        subject="risk settings",
        proposed_by=actor,
        reason=proposal.reason,
        before=before,
        after=after,
    )
    return proposal


def _settings_proposal_lock(proposal: RiskSettingsProposal, to_status: str):
    current = RiskSettings.objects.select_for_update().get(pk=RiskSettings.current().pk)
    locked = (
        RiskSettingsProposal.objects.select_for_update(of=("self",))
        .select_related("proposed_by")
        .get(pk=proposal.pk)
    )
    locked.ensure_may_become(to_status)
    return current, locked


def _settings_proposal_transition(*, proposal, to_status: str, actor, note: str = ""):
    """The only way a settings proposal changes status (the caller holds its lock)."""
    proposal.ensure_may_become(to_status)
    proposal.status = to_status
    proposal.decided_by, proposal.decided_at = actor, timezone.now()
    proposal.decision_note = note
    proposal.full_clean(validate_constraints=False)
    proposal.save()
    return proposal


@transaction.atomic
def risk_settings_approve(*, actor, proposal: RiskSettingsProposal) -> RiskSettings:
    """A second analyst applies the proposed settings."""
    _ensure_analyst(actor)
    current, proposal = _settings_proposal_lock(proposal, RiskSettingsProposal.Status.APPROVED)
    _ensure_second_person(actor, others=[proposal.proposed_by], what="this settings change")
    before = _settings_values(current)
    for name, value in proposal.values.items():
        setattr(current, name, value)
    _clean_settings(current)
    current.save()
    _settings_proposal_transition(
        proposal=proposal, to_status=RiskSettingsProposal.Status.APPROVED, actor=actor
    )
    _config_audit(
        action=ConfigAuditEntry.Action.SETTINGS_APPROVED,
        subject="risk settings",
        proposed_by=proposal.proposed_by,
        decided_by=actor,
        reason=proposal.reason,
        before=before,
        after=_settings_values(current),
    )
    return current


@transaction.atomic
def risk_settings_reject(
    *, actor, proposal: RiskSettingsProposal, reason: str
) -> RiskSettingsProposal:
    """Turn a proposal down (its author may withdraw it so); nothing changes."""
    _ensure_analyst(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the proposal is rejected."})
    current, proposal = _settings_proposal_lock(proposal, RiskSettingsProposal.Status.REJECTED)
    _settings_proposal_transition(
        proposal=proposal,
        to_status=RiskSettingsProposal.Status.REJECTED,
        actor=actor,
        note=reason.strip(),
    )
    _config_audit(
        action=ConfigAuditEntry.Action.SETTINGS_REJECTED,
        subject="risk settings",
        proposed_by=proposal.proposed_by,
        decided_by=actor,
        reason=reason.strip(),
        before=_settings_values(current),
        after=proposal.values,
    )
    return proposal


# ---- rule sets and rules ---------------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "hs_prefix",
    "origin_country",
    "min_item_value",
    "conditions",
    "score",
    "force_lane",
    "note",
    "valid_from",
    "valid_to",
    "active",
)


@transaction.atomic
def rule_set_draft_create(*, actor, based_on: RuleSet | None = None, note: str = "") -> RuleSet:
    """A new draft version, a copy of `based_on` (the live set by default)."""
    _ensure_analyst(actor)
    if based_on is None:
        based_on = RuleSet.objects.get(pk=live_rule_set_id())
    # Version numbers are handed out under a lock so two analysts never share one.
    last = RuleSet.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0
    draft = RuleSet(
        version=last + 1,
        status=RuleSet.Status.DRAFT,
        note=note,
        based_on=based_on,
        created_by=actor,
    )
    draft.full_clean()
    draft.save()
    copies = []
    for rule in based_on.rules.all():
        rule.pk = None
        rule.rule_set = draft
        copies.append(rule)
    SelectivityRule.objects.bulk_create(copies)
    return draft


def _editable(rule_set: RuleSet, *, editor=None) -> RuleSet:
    locked = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
    if not locked.is_editable:
        raise ValidationError(
            {
                "rule_set": f"Rule set v{locked.version} is "
                f"{locked.get_status_display().lower()}: "
                + (
                    "send it back to draft to change its rules."
                    if locked.may_become(RuleSet.Status.DRAFT)
                    else "create a new version to change its rules."
                )
            }
        )
    if editor is not None:
        locked.editors.add(editor)
    return locked


def _clean_rule(rule: SelectivityRule) -> None:
    errors = {}
    cleaned = []
    for index, condition in enumerate(rule.conditions or []):
        try:
            cleaned.append(clean_condition(condition, f"conditions[{index}]"))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if rule.origin_country:
        rule.origin_country = rule.origin_country.upper()
        try:
            clean_condition(
                {"field": "origin_country", "op": "eq", "value": rule.origin_country},
                "origin_country",
            )
        except ValidationError as exc:
            errors["origin_country"] = [m for ms in exc.message_dict.values() for m in ms]
    rule.conditions = cleaned
    try:
        # The table's constraints are checked below, each with a message naming its field.
        rule.full_clean(exclude=["rule_set"], validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if not set(errors) & {"hs_prefix", "origin_country", "min_item_value", "score"}:
        if not (rule.hs_prefix or rule.origin_country or rule.min_item_value is not None) and not (
            rule.conditions
        ):
            errors["conditions"] = ["A rule needs at least one criterion."]
        if rule.score == 0 and not rule.force_lane:
            errors["score"] = ["A rule needs an action: a score other than 0 or a forced lane."]
        if rule.valid_from and rule.valid_to and rule.valid_from >= rule.valid_to:
            errors["valid_to"] = ["The end of validity must come after its start."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def rule_create(*, actor, rule_set: RuleSet, **fields) -> SelectivityRule:
    _ensure_analyst(actor)
    rule_set = _editable(rule_set, editor=actor)
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError({name: "Not a rule field." for name in sorted(unknown)})
    rule = SelectivityRule(rule_set=rule_set, **fields)
    _clean_rule(rule)
    rule.save()
    return rule


@transaction.atomic
def rule_update(*, actor, rule: SelectivityRule, **fields) -> SelectivityRule:
    _ensure_analyst(actor)
    _editable(rule.rule_set, editor=actor)
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError({name: "Not a rule field." for name in sorted(unknown)})
    rule = SelectivityRule.objects.select_for_update().get(pk=rule.pk)
    for name, value in fields.items():
        setattr(rule, name, value)
    _clean_rule(rule)
    rule.save()
    return rule


@transaction.atomic
def rule_delete(*, actor, rule: SelectivityRule) -> None:
    _ensure_analyst(actor)
    _editable(rule.rule_set, editor=actor)
    rule.delete()


def _rules_summary(rule_set: RuleSet | None) -> dict:
    if rule_set is None:
        return {}
    return {
        "version": rule_set.version,
        "rules": [
            {"name": rule.name, "score": rule.score, "force_lane": rule.force_lane,
             "active": rule.active}
            for rule in rule_set.rules.all()
        ],
    }  # fmt: skip


@transaction.atomic
def rule_set_submit(*, actor, rule_set: RuleSet) -> RuleSet:
    """Submit a draft for approval: its rules are frozen until a second analyst
    approves it (then it is live) or sends it back to draft."""
    _ensure_analyst(actor)
    rule_set = _editable(rule_set)
    for rule in rule_set.rules.all():
        _clean_rule(rule)
    rule_set_transition(
        rule_set=rule_set,
        to_status=RuleSet.Status.PENDING,
        changes={"submitted_by": actor, "submitted_at": timezone.now(), "sent_back_reason": ""},
    )
    _config_audit(
        action=ConfigAuditEntry.Action.RULE_SET_SUBMITTED,
        subject=f"rule set v{rule_set.version}",
        proposed_by=actor,
        reason=rule_set.note,
        before=_rules_summary(rule_set.based_on),
        after=_rules_summary(rule_set),
    )
    return rule_set


@transaction.atomic
def rule_set_approve(*, actor, rule_set: RuleSet) -> RuleSet:
    """A second analyst makes a submitted rule set live; the previous live set is
    retired, unchanged. Whoever wrote, changed or submitted it may not approve it."""
    _ensure_analyst(actor)
    rule_set = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
    rule_set.ensure_may_become(RuleSet.Status.LIVE)
    _ensure_second_person(
        actor,
        others=[rule_set.created_by, rule_set.submitted_by, *rule_set.editors.all()],
        what=f"rule set v{rule_set.version}",
    )
    previous = None
    for live in RuleSet.objects.select_for_update().filter(status=RuleSet.Status.LIVE):
        previous = rule_set_transition(rule_set=live, to_status=RuleSet.Status.RETIRED)
    rule_set_transition(
        rule_set=rule_set,
        to_status=RuleSet.Status.LIVE,
        changes={"published_at": timezone.now(), "approved_by": actor},
    )
    _config_audit(
        action=ConfigAuditEntry.Action.RULE_SET_APPROVED,
        subject=f"rule set v{rule_set.version}",
        proposed_by=rule_set.submitted_by,
        decided_by=actor,
        reason=rule_set.note,
        before=_rules_summary(previous),
        after=_rules_summary(rule_set),
    )
    return rule_set


@transaction.atomic
def rule_set_send_back(*, actor, rule_set: RuleSet, reason: str) -> RuleSet:
    """Return a submitted rule set to draft with the reason (its submitter may take
    it back so too); it can be edited and submitted again."""
    _ensure_analyst(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the rule set goes back to draft."})
    rule_set = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
    submitted_by = rule_set.submitted_by
    rule_set_transition(
        rule_set=rule_set,
        to_status=RuleSet.Status.DRAFT,
        changes={"sent_back_reason": reason.strip()},
    )
    _config_audit(
        action=ConfigAuditEntry.Action.RULE_SET_SENT_BACK,
        subject=f"rule set v{rule_set.version}",
        proposed_by=submitted_by,
        decided_by=actor,
        reason=reason.strip(),
        after=_rules_summary(rule_set),
    )
    return rule_set


def rule_set_transition(*, rule_set: RuleSet, to_status: str, changes=None) -> RuleSet:
    """The only way a rule set changes status (the caller holds its row lock)."""
    rule_set.ensure_may_become(to_status)
    rule_set.status = to_status
    for name, value in (changes or {}).items():
        setattr(rule_set, name, value)
    rule_set.full_clean()
    rule_set.save()
    return rule_set

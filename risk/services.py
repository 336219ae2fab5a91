"""Every write of the risk app: selectivity rules and rule sets, thresholds, and the
scoring of declarations (decisions computed here, applied by clearance.services)."""

import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Avg, Count, F, Max
from django.urls import reverse
from django.utils import timezone

from core.exceptions import ApplicationError
from core.proposals import proposal_transition
from declarations.models import Declaration, Item, Lane
from declarations.reading.comparison import (
    InvoiceComparison,
    invoice_comparison,
    latest_invoices,
)
from emergencies.models import Emergency
from notifications.services import Message, notify_many, recipients_with_roles
from risk import scoring
from risk.criteria import REGISTRY, clean_condition
from risk.model_store import ModelUnavailable, live_model
from risk.models import (
    ConfigAuditEntry,
    Fallback,
    FallbackLane,
    LaneDecision,
    PlannedFallback,
    ReferencePrice,
    RiskSettings,
    RiskSettingsProposal,
    RuleSet,
    ScoringFailure,
    ScoringFault,
    SelectivityRule,
    TrainingRecord,
    live_rule_set_id,
)

logger = logging.getLogger(__name__)

# After this many failed scoring attempts a declaration goes to manual review.
MAX_SCORING_ATTEMPTS = 3
# The model's reason names its strongest features from this fraud likelihood up.
MODEL_EXPLAIN_FROM = 0.1


class RuleEvaluationError(Exception):
    """A live rule raised on one declaration, and not on others: the declaration's fault."""


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

    def __init__(self, declaration: Declaration, items: list, invoices: dict | None = None):
        self.declaration = declaration
        self.items = items
        self._prices: dict[tuple[str, str], float | None] = {}
        # The latest invoice of each declaration of the batch, read once for all of it.
        self._invoices = invoices

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

    @cached_property
    def invoice(self) -> InvoiceComparison:
        """The declaration against its latest invoice, as the machine read it."""
        invoices = self._invoices
        if invoices is None:
            invoices = latest_invoices([self.declaration.pk])
        document = invoices.get(self.declaration.pk)
        if document is None:
            return InvoiceComparison(status="none")
        return invoice_comparison(self.declaration, items=self.items, document=document)

    def reference_value_per_kg(self, hs6: str, origin: str) -> float | None:
        key = (hs6, origin)
        if key not in self._prices:
            self._prices[key] = (
                ReferencePrice.objects.filter(hs6=hs6, origin_country=origin)
                .values_list("value_per_kg", flat=True)
                .first()
            )
        return self._prices[key]


def _read(name: str, obj, context):
    try:
        return REGISTRY[name].read(obj, context)
    except DatabaseError:
        raise  # the transaction is lost: a passing outage, not the criterion's fault
    except Exception as exc:
        # The rules that test this fact fail; the others still count (apply_rules).
        return scoring.Unreadable(exc)


def declaration_facts(declaration, items, rules, invoices=None) -> tuple[dict, list[dict]]:
    """Header and item facts, by criterion name, for the criteria the rules use.
    `invoices`: the latest invoice of each declaration, when the caller read them."""
    context = ScoringContext(declaration, items, invoices)
    header_names = {c.name for rule in rules for c, _, _ in rule.header}
    item_names = {c.name for rule in rules for c, _, _ in rule.items}
    header = {name: _read(name, declaration, context) for name in header_names}
    item_facts = [
        {"line_no": item.line_no, **{n: _read(n, item, context) for n in item_names}}
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
            "office": declaration.control_office,
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


def model_scores(declarations: list, items_of: dict, *, weight: int, live=None):
    """(label, {declaration id: (probability, reason)}) from the live model, in one batch.

    Features are computed once for every item of every declaration; the
    riskiest item of each declaration gives its probability and explanation.
    `live` is the (label, model) already loaded, if the caller has it.
    """
    label, model = live or live_model()
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


def _live_rules() -> tuple[str, list[scoring.CompiledRule], dict[int, str]]:
    """The live rule set's version, its rules compiled, and the errors of those that
    will not compile (a criterion the code no longer has), by rule pk."""
    live = RuleSet.objects.filter(status=RuleSet.Status.LIVE).values_list("pk", "version").first()
    if live is None:
        rule_set_id = live_rule_set_id()
        live = (rule_set_id, RuleSet.objects.values_list("version", flat=True).get(pk=rule_set_id))
    rule_set_id, version = live
    compiled, broken = [], {}
    for rule in SelectivityRule.objects.filter(rule_set_id=rule_set_id, active=True):
        try:
            compiled.append(scoring.compile_rule(rule))
        except Exception as exc:
            broken[rule.pk] = scoring.error_text(exc)
    return f"v{version}", compiled, broken


# A rule or the model that fails on a declaration fails it alone, unless it also
# fails on every one of these others (the rest of the batch, else the latest
# lodged): then the fault is systemic, the rule's or the model's.
PROBE_DECLARATIONS = 3


def _probe_declarations(exclude: list[int]) -> tuple[list, dict[int, list]]:
    """The latest lodged declarations but `exclude`, with their items (two queries)."""
    others = list(
        Declaration.objects.filter(submitted_at__isnull=False)
        .exclude(pk__in=exclude)
        .select_related("company")
        .order_by("-pk")[:PROBE_DECLARATIONS]
    )
    items_of: dict[int, list] = {d.pk: [] for d in others}
    for item in Item.objects.filter(declaration_id__in=items_of).order_by("line_no"):
        items_of[item.declaration_id].append(item)
    return others, items_of


@dataclass
class FaultMet:
    """A systemic fault a batch met: what failed, and how many of its decisions fell back."""

    error: str
    detail: dict
    fallbacks: int = 0


# ---- scoring ---------------------------------------------------------------------------------


class ScoringBatch:
    """What scoring declarations needs beyond themselves, read once for a batch.

    Decides lanes and builds their decision records; stores nothing. Applying
    the lanes (reviews, status, notices) is the clearance process's
    (clearance.services.lanes_apply), and so is recording the systemic faults
    the batch met (`faults`, see scoring_faults_update).

    A failure is the declaration's own unless it is systemic: the model will
    not load, or fails on other declarations too; a rule will not compile, or
    raises on other declarations too. Then the batch falls back instead of
    failing: the rules alone without the model, and at least the configured
    fallback lane without the rules.
    """

    def __init__(self, declarations: list):
        started = time.perf_counter()
        self.declarations = declarations
        self.items_of: dict[int, list] = {d.pk: [] for d in declarations}
        for item in Item.objects.filter(declaration_id__in=self.items_of).order_by("line_no"):
            self.items_of[item.declaration_id].append(item)
        self.thresholds = RiskSettings.current()
        # An administrator's planned outage (PlannedFallback): the model, or the rules
        # and the model, are left out on purpose, as a fault would leave them out.
        self.planned = self.thresholds.planned_fallback
        # Every decision records what the invoice says (invoice_reason), and rules may
        # test it: one query for the batch.
        self.invoices = latest_invoices(list(self.items_of))
        # Relief consignments whose emergency lowers the lane: one query for the batch.
        lowering = {d.emergency_id for d in declarations if d.emergency_id}
        self.relief_of = (
            dict(
                Emergency.objects.filter(pk__in=lowering, lower_lane=True).values_list("pk", "name")
            )
            if lowering
            else {}
        )
        self.version, self.rules, self.broken_rules = _live_rules()
        self.open_faults = {f.kind: f for f in ScoringFault.objects.filter(closed_at__isnull=True)}
        self.faults: dict[str, FaultMet] = {}
        self._rule_verdicts: dict[int, bool] = {}
        self._rules_failed = False
        self._probes = None
        self._model_errors: dict[int, Exception] = {}
        self._detail_model: dict = {}
        mark = time.perf_counter()
        self.model_label, self.scores, self.model_fault = "", {}, ""
        if self.thresholds.model_enabled and not self.planned:
            self._score_with_model()
        self.model_ms = round((time.perf_counter() - mark) * 1000 / len(declarations), 1)
        self.shared_ms = (time.perf_counter() - started) * 1000 / len(declarations)

    # ---- the model

    def _score_with_model(self) -> None:
        weight = self.thresholds.model_weight
        try:
            live = live_model()
        except ModelUnavailable as exc:
            self.model_fault = str(exc)
            self._detail_model = {"model_version": exc.label}
            return
        try:
            self.model_label, self.scores = model_scores(
                self.declarations, self.items_of, weight=weight, live=live
            )
            return
        except DatabaseError:
            raise
        except Exception as exc:
            batch_error = exc
        # Which declarations does it fail on? Each alone, then others if it fails on all.
        failed = {}
        for declaration in self.declarations if len(self.declarations) > 1 else []:
            try:
                self.scores.update(
                    model_scores([declaration], self.items_of, weight=weight, live=live)[1]
                )
            except DatabaseError:
                raise
            except Exception as exc:
                failed[declaration.pk] = exc
        if len(self.declarations) == 1:
            failed = {self.declarations[0].pk: batch_error}
        self.model_label = live[0] if self.scores else ""
        if len(failed) == len(self.declarations) and (
            ScoringFault.Kind.MODEL in self.open_faults or self._model_fails_elsewhere(live)
        ):
            first = next(iter(failed.values()))
            self.model_fault = f"model {live[0]} cannot score: {scoring.error_text(first)}"
            self._detail_model = {"model_version": live[0]}
        else:
            self._model_errors = failed

    def _model_fails_elsewhere(self, live) -> bool:
        others, items_of = self._probe()
        if not others:
            return False
        try:
            model_scores(others, items_of, weight=self.thresholds.model_weight, live=live)
        except DatabaseError:
            raise
        except Exception:
            return True
        return False

    def _probe(self):
        if self._probes is None:
            self._probes = _probe_declarations([d.pk for d in self.declarations])
        return self._probes

    # ---- the rules

    def _rule_fails_elsewhere(self, rule_pk: int, declaration) -> bool:
        """Whether a rule that failed on `declaration` fails on the others as well:
        the rest of the batch, else the latest lodged declarations."""
        if rule_pk not in self._rule_verdicts:
            episode = self.open_faults.get(ScoringFault.Kind.RULES)
            if episode is not None and rule_pk in episode.detail.get("rules", ()):
                self._rule_verdicts[rule_pk] = True
            else:
                rule = next(r for r in self.rules if r.pk == rule_pk)
                others = [d for d in self.declarations if d.pk != declaration.pk]
                items_of = self.items_of
                if not others:
                    others, items_of = self._probe()
                self._rule_verdicts[rule_pk] = bool(others) and all(
                    self._rule_fails_on(rule, other, items_of[other.pk]) for other in others
                )
        return self._rule_verdicts[rule_pk]

    @staticmethod
    def _rule_fails_on(rule, declaration, items) -> bool:
        failures: dict[int, str] = {}
        header, item_facts = declaration_facts(declaration, items, [rule])
        scoring.apply_rules([rule], header, item_facts, failures=failures)
        return bool(failures)

    def rules_recovered(self) -> bool:
        """Whether the open rules fault is over: no rule failed in this batch, and the
        rules it named are no longer live or now evaluate on the latest declarations."""
        if self._rules_failed or self.broken_rules or self.planned == Fallback.DEFAULT_LANE:
            return False
        episode = self.open_faults[ScoringFault.Kind.RULES]
        named = set(episode.detail.get("rules", ()))
        still_live = [r for r in self.rules if r.pk in named]
        others, items_of = self._probe() if still_live else ([], {})
        return not any(
            self._rule_fails_on(rule, other, items_of[other.pk])
            for rule in still_live
            for other in others
        )

    def model_recovered(self) -> bool:
        """Whether the model, if switched on and live, scored this batch (not asked while
        a planned fallback leaves it out)."""
        if self.planned:
            return False
        return not self.model_fault and (not self._model_errors or bool(self.scores))

    # ---- deciding

    def _met(self, kind: str, error: str, detail: dict) -> None:
        met = self.faults.setdefault(kind, FaultMet(error=error, detail=detail))
        met.fallbacks += 1

    def decide(self, declaration, floor: scoring.Floor | None = None) -> scoring.Decision:
        if declaration.pk in self._model_errors:
            raise self._model_errors[declaration.pk]
        probability, reason = self.scores.get(declaration.pk, (None, None))
        items = self.items_of[declaration.pk]
        failures: dict[int, str] = {}
        if self.planned == Fallback.DEFAULT_LANE:
            assessment = scoring.Assessment()  # the rules are left out: the fallback lane
        else:
            header, item_facts = declaration_facts(declaration, items, self.rules, self.invoices)
            assessment = scoring.apply_rules(
                self.rules, header, item_facts, at=timezone.now(), failures=failures
            )
        self._rules_failed = self._rules_failed or bool(failures)
        own = [pk for pk in failures if not self._rule_fails_elsewhere(pk, declaration)]
        if own:
            # This declaration's data, not the rule: counted, retried, then held.
            raise RuleEvaluationError(f"rule {own[0]}: {failures[own[0]]}")
        decision = scoring.decide(
            rules=assessment,
            # An amended or refiled declaration keeps the draw of the one it
            # replaces: amending is not a way to draw again.
            random_draw=None if floor else scoring.new_draw(),
            probability=probability,
            model_reason_=reason,
            thresholds=self.thresholds,
            floor=floor,
            fallback=self._fallback({**self.broken_rules, **failures}),
            relief=self._relief(declaration),
        )
        invoice = invoice_reason(ScoringContext(declaration, items, self.invoices).invoice)
        if invoice is not None:
            # Before the closing "lane ..." line, which sums the decision up.
            decision.reasons.insert(len(decision.reasons) - 1, invoice)
        return decision

    def _fallback(self, broken: dict[int, str]) -> scoring.Fallback | None:
        reasons = []
        kind, lane = "", ""
        if self.planned == Fallback.RULES_ONLY:
            kind = Fallback.RULES_ONLY
            reasons.append(
                {"kind": "fallback", "planned": True,
                 "text": "planned outage: an administrator switched the model off; decided "
                 "by the rules alone"}
            )  # fmt: skip
        elif self.planned == Fallback.DEFAULT_LANE:
            kind, lane = Fallback.DEFAULT_LANE, self.thresholds.fallback_lane
            reasons.append(
                {"kind": "fallback", "planned": True, "force_lane": lane,
                 "text": f"planned outage: an administrator switched the risk engine off; "
                 f"the rules and the model are left out, lane at least {lane}, the "
                 "configured fallback"}
            )  # fmt: skip
            return scoring.Fallback(kind=kind, lane=lane, reasons=tuple(reasons))
        if self.model_fault:
            kind = Fallback.RULES_ONLY
            reasons.append(
                {"kind": "fallback", "text": f"{self.model_fault}; decided by the rules alone"}
            )
            self._met(ScoringFault.Kind.MODEL, self.model_fault, self._detail_model)
        if broken:
            kind, lane = Fallback.DEFAULT_LANE, self.thresholds.fallback_lane
            errors = "; ".join(f"rule {pk}: {error}" for pk, error in sorted(broken.items()))
            reasons.append(
                {
                    "kind": "fallback",
                    "rules": sorted(broken),
                    "force_lane": lane,
                    "text": f"rules of set {self.version} cannot be evaluated ({errors}); "
                    f"lane at least {lane}, the configured fallback",
                }
            )
            self._met(
                ScoringFault.Kind.RULES,
                f"rule set {self.version}: {errors}",
                {"rule_set_version": self.version, "rules": sorted(broken)},
            )
        return scoring.Fallback(kind=kind, lane=lane, reasons=tuple(reasons)) if kind else None

    def _relief(self, declaration) -> scoring.Relief | None:
        name = self.relief_of.get(declaration.emergency_id)
        return scoring.Relief(emergency=name) if name else None

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
            fallback=decision.fallback,
            timings=timings,
            decided_at=timezone.now(),
            duration_ms=0,
        )
        record.full_clean(
            exclude=["declaration"], validate_unique=False, validate_constraints=False
        )
        return record


def invoice_reason(check: InvoiceComparison) -> dict | None:
    """What the invoice said at scoring, kept in the decision's reasons for officers and
    analysts (it weighs nothing by itself: rules may test it, see risk.criteria).

    The learned model does not use it: its training data (the KCS history) has no
    invoices, so a feature would be missing on every training row and learn nothing.
    The facts are kept here, as they stood when the lane was decided, so that a
    retrain on the platform's own inspected declarations can join them to the
    outcomes (see risk.training.training_records_from_inspections).
    """
    if check.status == "none":
        return None
    texts = {
        "pending": "invoice still being read when the lane was decided",
        "not_readable": "invoice not readable by the machine (a scan or a picture): "
        "compare it by hand",
        "failed": "invoice could not be read by the machine: compare it by hand",
    }
    if check.status != "read":
        text = texts[check.status]
    elif check.material_kinds:
        text = f"invoice disagrees with the declaration on {', '.join(check.material_kinds)}"
    elif check.differences:
        text = f"invoice read; differs only on {check.summary}"
    else:
        text = "invoice read; agrees with the declaration"
    return {
        "kind": "invoice",
        "invoice_status": check.status,
        "disagrees_on": check.material_kinds,
        # Declaration-wide, for customs: the header facts it speaks of (the seller,
        # the total) are not another agency's slice.
        "items": [],
        "score": 0,
        "text": text,
    }


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
    """Whether a declaration its own message did not decide still waits for a lane.

    It failed to score, or another worker held it (SKIP LOCKED) and may yet fail on
    it: that worker counts the failure but the retry is this message's, or nobody
    would score it again before the sweeper. A retry that finds it decided does
    nothing; failures are bounded by the count that holds it.
    """
    return Declaration.objects.filter(
        pk=declaration_id, status=Declaration.Status.SUBMITTED, lane_decision=None
    ).exists()


# ---- systemic faults -------------------------------------------------------------------------

FAULT_WATCHERS = ["admin", "analyst"]


def scoring_faults_update(*, batch: ScoringBatch) -> None:
    """Record the systemic faults a batch met, in its transaction: open an episode for a
    fault met first (administrators and analysts are told once, whichever worker meets
    it first), count its fallbacks, and close the episodes the batch shows are over."""
    for kind, met in batch.faults.items():
        episode = batch.open_faults.get(kind) or _scoring_fault_open(kind=kind, met=met)
        ScoringFault.objects.filter(pk=episode.pk).update(fallbacks=F("fallbacks") + met.fallbacks)
    for kind, episode in batch.open_faults.items():
        if kind in batch.faults:
            continue
        over = (
            batch.model_recovered()
            if kind == ScoringFault.Kind.MODEL
            else (batch.rules_recovered())
        )
        if over:
            _scoring_fault_close(episode)


def _scoring_fault_open(*, kind: str, met: FaultMet) -> ScoringFault:
    episode = ScoringFault(
        kind=kind, error=met.error[:2000], detail=met.detail, opened_at=timezone.now()
    )
    episode.full_clean(validate_constraints=False)
    try:
        # Another worker may be opening the same episode: the partial unique index
        # makes this insert wait for it, then fail, and that worker tells.
        with transaction.atomic():
            episode.save()
    except IntegrityError:
        return ScoringFault.objects.get(kind=kind, closed_at__isnull=True)
    fallback = (
        "declarations are routed by the rules alone"
        if kind == ScoringFault.Kind.MODEL
        else f"declarations get at least the {RiskSettings.current().fallback_lane} lane"
    )
    _tell_fault_watchers(
        verb="scoring fault",
        text=f"Risk scoring fault ({kind}): {met.error}. Until it is fixed {fallback}; "
        "nothing is held for it.",
    )
    logger.error("systemic scoring fault opened: %s", met.error)
    return episode


def _scoring_fault_close(episode: ScoringFault) -> None:
    # A conditional update: of two workers that see it over, one closes and tells.
    closed = ScoringFault.objects.filter(pk=episode.pk, closed_at__isnull=True).update(
        closed_at=timezone.now()
    )
    if not closed:
        return
    fallbacks = ScoringFault.objects.values_list("fallbacks", flat=True).get(pk=episode.pk)
    _tell_fault_watchers(
        verb="scoring recovered",
        text=f"Risk scoring works again ({episode.kind}): {fallbacks} declarations were "
        f"decided by a fallback since {timezone.localtime(episode.opened_at):%Y-%m-%d %H:%M}.",
    )
    logger.warning("systemic scoring fault %s closed", episode.pk)


def _tell_fault_watchers(*, verb: str, text: str) -> None:
    notify_many(
        messages=[
            Message(
                recipient_ids=recipients_with_roles(roles=FAULT_WATCHERS),
                verb=verb,
                text=text,
                url=reverse("risk:home"),
            )
        ]
    )


# ---- planned outages -------------------------------------------------------------------------


def _ensure_admin(actor) -> None:
    if actor is None or not actor.is_platform_admin:
        raise PermissionDenied


PLANNED_TEXT = {
    Fallback.RULES_ONLY: "rules only (the model switched off)",
    Fallback.DEFAULT_LANE: "every declaration to the fallback lane (the rules and the model "
    "switched off)",
}


def _planned_locked(fallback_id: int | None = None):
    """Lock the settings row (every change of the planned fallback queues on it, as the
    settings' proposals do), then the planned fallback asked for, if any."""
    current = RiskSettings.objects.select_for_update().get(pk=RiskSettings.current().pk)
    if fallback_id is None:
        return current, None
    planned = (
        PlannedFallback.objects.select_for_update(of=("self",))
        .select_related("proposed_by")
        .filter(pk=fallback_id)
        .first()
    )
    if planned is None:
        raise ValidationError({"fallback": "No such planned fallback."})
    return current, planned


def planned_fallback_transition(
    *, planned: PlannedFallback, current: RiskSettings, to_status: str, actor, note: str = ""
) -> PlannedFallback:
    """The only way a planned fallback changes status (the caller holds the settings row
    and its row): the settings' `planned_fallback`, which scoring reads, follows, and
    the configuration audit log records the step."""
    planned.ensure_may_become(to_status)
    now = timezone.now()
    Status = PlannedFallback.Status
    action = {
        Status.ON: ConfigAuditEntry.Action.FALLBACK_ON,
        Status.REFUSED: ConfigAuditEntry.Action.FALLBACK_REFUSED,
        Status.OFF: ConfigAuditEntry.Action.FALLBACK_OFF,
    }[to_status]
    before = {"planned_fallback": current.planned_fallback}
    planned.status = to_status
    if to_status == Status.ON:
        planned.switched_on_at = now
        if actor != planned.proposed_by:
            planned.decided_by, planned.decided_at = actor, now
        current.planned_fallback = planned.mode
    elif to_status == Status.REFUSED:
        planned.decided_by, planned.decided_at, planned.decision_note = actor, now, note
    else:
        planned.switched_off_by, planned.switched_off_at = actor, now
        planned.switch_off_note = note
        current.planned_fallback = ""
    planned.full_clean(validate_constraints=False)
    planned.save()
    current.save(update_fields=["planned_fallback", "updated_at"])
    config_audit_record(
        action=action,
        subject=f"planned fallback {planned.pk}: {planned.mode}",
        proposed_by=planned.proposed_by,
        decided_by=actor,
        reason=note or planned.reason,
        before=before,
        after={"planned_fallback": current.planned_fallback},
    )
    if to_status != Status.REFUSED:
        verb = "fallback_on" if to_status == Status.ON else "fallback_off"
        text = (
            f"Planned scoring fallback on, by {actor.username}: {PLANNED_TEXT[planned.mode]}. "
            f"{planned.reason}. Every decision meanwhile is marked as a fallback's."
            if to_status == Status.ON
            else f"Planned scoring fallback off, by {actor.username}: the full engine scores "
            "again. The decisions taken meanwhile can be re-scored."
        )
        _tell_fault_watchers(verb=verb, text=text)
    return planned


@transaction.atomic
def planned_fallback_propose(*, mode: str, reason: str, actor) -> PlannedFallback:
    """An administrator plans an outage of the risk engine. Routing everything to the
    fallback lane only raises scrutiny and applies at once; scoring by the rules alone
    leaves the model out, which lowers it, so a second administrator approves it."""
    _ensure_admin(actor)
    if mode not in Fallback.values:
        raise ValidationError({"mode": f"{mode!r} is not a fallback: {', '.join(Fallback)}."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why scoring should fall back."})
    current, _ = _planned_locked()
    active = PlannedFallback.objects.filter(status__in=PlannedFallback.ACTIVE).first()
    if active is not None:
        raise ApplicationError(
            f"Planned fallback {active.pk} is {active.get_status_display().lower()}: "
            "switch it off or refuse it first."
        )
    planned = PlannedFallback(
        mode=mode, reason=reason.strip(), proposed_by=actor, proposed_at=timezone.now()
    )
    planned.full_clean(validate_constraints=False)
    planned.save()
    config_audit_record(
        action=ConfigAuditEntry.Action.FALLBACK_PROPOSED,
        subject=f"planned fallback {planned.pk}: {mode}",
        proposed_by=actor,
        reason=planned.reason,
        before={"planned_fallback": current.planned_fallback},
        after={"planned_fallback": mode},
    )
    if mode == Fallback.DEFAULT_LANE:
        return planned_fallback_transition(
            planned=planned, current=current, to_status=PlannedFallback.Status.ON, actor=actor
        )
    others = [pk for pk in recipients_with_roles(roles=["admin"]) if pk != actor.pk]
    notify_many(
        messages=[
            Message(
                recipient_ids=others,
                verb="fallback_proposed",
                text=f"{actor.username} proposes a planned scoring fallback, "
                f"{PLANNED_TEXT[mode]}: {planned.reason}. A second administrator approves it.",
                url=reverse("continuity:scoring"),
            )
        ]
    )
    return planned


@transaction.atomic
def planned_fallback_approve(*, fallback_id: int, actor) -> PlannedFallback:
    """A second administrator switches a proposed rules-only fallback on."""
    _ensure_admin(actor)
    current, planned = _planned_locked(fallback_id)
    planned.ensure_may_become(PlannedFallback.Status.ON)
    if planned.proposed_by_id == actor.pk:
        raise ApplicationError(
            "Four eyes: you proposed this fallback; another administrator must approve it."
        )
    return planned_fallback_transition(
        planned=planned, current=current, to_status=PlannedFallback.Status.ON, actor=actor
    )


@transaction.atomic
def planned_fallback_refuse(*, fallback_id: int, actor, reason: str) -> PlannedFallback:
    """Turn a proposed fallback down (its proposer withdraws it so)."""
    _ensure_admin(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the fallback is refused."})
    current, planned = _planned_locked(fallback_id)
    return planned_fallback_transition(
        planned=planned,
        current=current,
        to_status=PlannedFallback.Status.REFUSED,
        actor=actor,
        note=reason.strip(),
    )


@transaction.atomic
def planned_fallback_switch_off(*, actor, note: str = "") -> PlannedFallback:
    """End the planned outage: the full engine scores again from the next batch."""
    _ensure_admin(actor)
    current, _ = _planned_locked()
    on = PlannedFallback.objects.filter(status=PlannedFallback.Status.ON).first()
    if on is None:
        raise ApplicationError("No planned fallback is on.")
    _, planned = _planned_locked(on.pk)
    return planned_fallback_transition(
        planned=planned,
        current=current,
        to_status=PlannedFallback.Status.OFF,
        actor=actor,
        note=note.strip() or "outage over",
    )


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
    "fallback_lane",
)


def _settings_values(settings_: RiskSettings) -> dict:
    """The settings as JSON: decimals as strings, so a stored proposal loses nothing."""
    return {
        name: str(value) if isinstance(value, Decimal) else value
        for name in SETTINGS_FIELDS
        for value in [getattr(settings_, name)]
    }


def _clean_settings(candidate: RiskSettings) -> None:
    if candidate.fallback_lane not in FallbackLane.values:
        raise ValidationError(
            {"fallback_lane": "The fallback lane is yellow or red: a scoring fault never "
             "routes a declaration green."}
        )  # fmt: skip
    candidate.full_clean(validate_unique=False, validate_constraints=False)
    if candidate.yellow_from >= candidate.red_from:
        raise ValidationError({"yellow_from": "Yellow must start below red."})
    if candidate.expected_yellow_share + candidate.expected_red_share > 100:
        raise ValidationError(
            {"expected_yellow_share": "Yellow and red shares add up to more than 100%."}
        )


def config_audit_record(
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
    config_audit_record(
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
    proposal_transition(
        proposal=proposal, to_status=RiskSettingsProposal.Status.APPROVED, actor=actor
    )
    config_audit_record(
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
    proposal_transition(
        proposal=proposal,
        to_status=RiskSettingsProposal.Status.REJECTED,
        actor=actor,
        note=reason.strip(),
    )
    config_audit_record(
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
    config_audit_record(
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
    config_audit_record(
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
    config_audit_record(
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

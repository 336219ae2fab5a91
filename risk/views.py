"""Analyst pages: rules and rule sets, thresholds and random rates, replay, model versions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import capfirst
from django.views.decorators.http import require_POST

from core.exceptions import ApplicationError
from risk.charts import bar_chart, grouped_bars
from risk.criteria import OPERATORS, REGISTRY
from risk.forms import ReasonForm, ReplayForm, RiskSettingsForm, RuleForm
from risk.jobs import risk_job_create
from risk.models import ModelVersion, RiskJob, RiskSettings, RuleSet
from risk.selectors import (
    config_audit_list,
    ensure_analyst,
    get_job_for_user,
    get_rule_for_user,
    get_rule_set_for_user,
    job_list,
    model_version_list,
    rule_set_list,
    scoring_fault_list,
    settings_proposal_list,
)
from risk.services import (
    SETTINGS_FIELDS,
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


def _attach(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        target = field if field in form.fields else None
        if field.startswith("conditions") and "conditions_text" in form.fields:
            errors = [f"{field}: {e}" for e in errors]
            target = "conditions_text"
        for error in errors:
            form.add_error(target, error)


def _run(request, action, success: str) -> bool:
    """Carry out a service call; show its refusal as a message. Whether it went through."""
    try:
        action()
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
        return True
    return False


@login_required
def risk_home_page(request):
    ensure_analyst(request.user)
    return render(
        request,
        "risk/home.html",
        {
            "rule_sets": rule_set_list(user=request.user)[:10],
            "settings": RiskSettings.current(),
            "live_model": model_version_list(user=request.user)
            .filter(status=ModelVersion.Status.LIVE)
            .first(),
            "jobs": job_list(user=request.user)[:10],
            "faults": scoring_fault_list(user=request.user)[:5],
        },
    )


@login_required
def rule_set_detail_page(request, pk: int):
    rule_set = get_rule_set_for_user(user=request.user, pk=pk)
    return render(
        request,
        "risk/rule_set.html",
        {
            "rule_set": rule_set,
            "rules": rule_set.rules.all(),
            "replay_form": _replay_form(rule_set),
            "reason_form": ReasonForm(),
            "may_approve": rule_set.may_become(RuleSet.Status.LIVE)
            and request.user.pk
            not in {rule_set.created_by_id, rule_set.submitted_by_id}
            | set(rule_set.editors.values_list("pk", flat=True)),
        },
    )


def _replay_form(rule_set: RuleSet) -> ReplayForm:
    live = ModelVersion.objects.filter(status=ModelVersion.Status.LIVE).first()
    return ReplayForm(initial={"rule_set": rule_set.pk, "model_version": live, "seed": 0})


@login_required
@require_POST
def rule_set_create_page(request):
    ensure_analyst(request.user)
    draft = rule_set_draft_create(actor=request.user, note=request.POST.get("note", ""))
    messages.success(request, f"Draft rule set v{draft.version} created from the live rules.")
    return redirect("risk:rule-set", pk=draft.pk)


@login_required
@require_POST
def rule_set_submit_page(request, pk: int):
    rule_set = get_rule_set_for_user(user=request.user, pk=pk)
    _run(
        request,
        lambda: rule_set_submit(actor=request.user, rule_set=rule_set),
        f"Rule set v{rule_set.version} waits for a second analyst's approval.",
    )
    return redirect("risk:rule-set", pk=pk)


@login_required
@require_POST
def rule_set_approve_page(request, pk: int):
    rule_set = get_rule_set_for_user(user=request.user, pk=pk)
    _run(
        request,
        lambda: rule_set_approve(actor=request.user, rule_set=rule_set),
        f"Rule set v{rule_set.version} is live.",
    )
    return redirect("risk:rule-set", pk=pk)


@login_required
@require_POST
def rule_set_send_back_page(request, pk: int):
    rule_set = get_rule_set_for_user(user=request.user, pk=pk)
    form = ReasonForm(request.POST)
    _run(
        request,
        lambda: rule_set_send_back(
            actor=request.user, rule_set=rule_set, reason=form.data.get("reason", "")
        ),
        f"Rule set v{rule_set.version} is a draft again.",
    )
    return redirect("risk:rule-set", pk=pk)


def _criteria_table():
    return [
        {
            "name": c.name,
            "label": c.label,
            "level": c.level,
            "operators": ", ".join(f"{op} ({OPERATORS[op]})" for op in c.operators),
            "choices": ", ".join(code for code, _ in c.choices),
        }
        for c in sorted(REGISTRY.values(), key=lambda c: (c.level, c.name))
    ]


@login_required
def rule_create_page(request, pk: int):
    rule_set = get_rule_set_for_user(user=request.user, pk=pk)
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rule = rule_create(actor=request.user, rule_set=rule_set, **form.rule_fields())
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, f"Rule {rule.pk} added to v{rule_set.version}.")
            return redirect("risk:rule-set", pk=rule_set.pk)
    return render(
        request,
        "risk/rule_form.html",
        {"form": form, "rule_set": rule_set, "criteria": _criteria_table()},
    )


@login_required
def rule_edit_page(request, pk: int):
    rule = get_rule_for_user(user=request.user, pk=pk)
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST":
        if "delete" in request.POST:
            try:
                rule_delete(actor=request.user, rule=rule)
            except ValidationError as exc:
                messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
            return redirect("risk:rule-set", pk=rule.rule_set_id)
        if form.is_valid():
            try:
                rule_update(actor=request.user, rule=rule, **form.rule_fields())
            except ValidationError as exc:
                _attach(form, exc)
            else:
                messages.success(request, f"Rule {rule.pk} saved.")
                return redirect("risk:rule-set", pk=rule.rule_set_id)
    return render(
        request,
        "risk/rule_form.html",
        {"form": form, "rule_set": rule.rule_set, "rule": rule, "criteria": _criteria_table()},
    )


@login_required
def risk_settings_page(request):
    """The settings in force, the proposal waiting for a second analyst, or a form
    to propose one."""
    proposals = settings_proposal_list(user=request.user)
    waiting = proposals.filter(status="proposed").first()
    current = RiskSettings.current()
    form = RiskSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
        try:
            risk_settings_propose(actor=request.user, reason=form.cleaned_data["reason"], **values)
        except ValidationError as exc:
            _attach(form, exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Change proposed; it applies once another analyst approves.")
            return redirect("risk:settings")
    rows = [
        {
            "label": capfirst(RiskSettings._meta.get_field(name).verbose_name),
            "current": getattr(current, name),
            "proposed": waiting.values.get(name) if waiting else None,
        }
        for name in SETTINGS_FIELDS
    ]
    if waiting:
        for row, name in zip(rows, SETTINGS_FIELDS, strict=True):
            row["changed"] = str(row["current"]) != str(waiting.values.get(name))
    return render(
        request,
        "risk/settings.html",
        {
            "form": form,
            "rows": rows,
            "waiting": waiting,
            "may_approve": waiting is not None and waiting.proposed_by_id != request.user.pk,
            "reason_form": ReasonForm(),
            "recent": proposals.exclude(status="proposed")[:5],
        },
    )


@login_required
@require_POST
def settings_approve_page(request, pk: int):
    proposal = get_object_or_404(settings_proposal_list(user=request.user), pk=pk)
    _run(
        request,
        lambda: risk_settings_approve(actor=request.user, proposal=proposal),
        "The proposed settings are in force.",
    )
    return redirect("risk:settings")


@login_required
@require_POST
def settings_reject_page(request, pk: int):
    proposal = get_object_or_404(settings_proposal_list(user=request.user), pk=pk)
    _run(
        request,
        lambda: risk_settings_reject(
            actor=request.user, proposal=proposal, reason=request.POST.get("reason", "")
        ),
        "Proposal rejected; the settings stay as they are.",
    )
    return redirect("risk:settings")


@login_required
def config_audit_page(request):
    entries = config_audit_list(user=request.user)
    return render(request, "risk/audit.html", {"entries": entries[:200]})


@login_required
@require_POST
def replay_create_page(request):
    ensure_analyst(request.user)
    form = ReplayForm(request.POST)
    if form.is_valid():
        try:
            job = risk_job_create(
                kind=RiskJob.Kind.REPLAY, params=form.params(), actor=request.user
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            return redirect("risk:job", pk=job.pk)
    rule_set = form.cleaned_data.get("rule_set") or RuleSet.objects.first()
    if rule_set is None:
        return redirect("risk:home")
    return render(
        request,
        "risk/rule_set.html",
        {
            "rule_set": rule_set,
            "rules": rule_set.rules.all(),
            "replay_form": form,
            "reason_form": ReasonForm(),
        },
        status=400,
    )


@login_required
def model_list_page(request):
    versions = model_version_list(user=request.user)
    return render(
        request,
        "risk/models.html",
        {"versions": versions, "jobs": job_list(user=request.user, kind=RiskJob.Kind.RETRAIN)[:5]},
    )


@login_required
@require_POST
def model_retrain_page(request):
    ensure_analyst(request.user)
    job = risk_job_create(kind=RiskJob.Kind.RETRAIN, params={}, actor=request.user)
    return redirect("risk:job", pk=job.pk)


def _charts(job: RiskJob) -> dict:
    result = job.result or {}
    if job.kind != RiskJob.Kind.REPLAY or not result:
        return {}
    lanes = ["green", "yellow", "red"]
    series = [("replayed", result["lane_share"]), ("expected share", result["expected_share"])]
    actual = result["actual"].get("lanes") or {}
    if actual:
        total = sum(actual.values()) or 1
        series.append(("what happened", {k: round(100 * v / total, 2) for k, v in actual.items()}))
    workload = {
        agency: sum(counts.values()) for agency, counts in result.get("workload", {}).items()
    }
    return {
        "lane_chart": grouped_bars(lanes, series, unit="%", title="Lane mix"),
        "workload_chart": bar_chart(workload, title="Declarations to check, by agency"),
    }


@login_required
def job_page(request, pk: int):
    job = get_job_for_user(user=request.user, pk=pk)
    context = {"job": job, **_charts(job)}
    if request.htmx:
        return render(request, "risk/_job.html", context)
    return render(request, "risk/job.html", context)

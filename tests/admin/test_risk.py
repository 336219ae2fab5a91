"""Rules are edited in drafts only, through the risk services; published sets stay frozen."""

import pytest

from risk.models import RiskSettings, RuleSet, SelectivityRule
from risk.services import rule_create, rule_set_draft_create
from tests.admin.conftest import form_errors
from tests.factories import rule_set_publish

pytestmark = pytest.mark.django_db

RULES = "/admin/risk/selectivityrule"


def rule_data(**overrides) -> dict:
    data = {
        "name": "Telephones: undervaluation",
        "hs_prefix": "8517",
        "origin_country": "",
        "min_item_value": "",
        "conditions_text": "",
        "score": "35",
        "force_lane": "",
        "note": "",
        "valid_from": "",
        "valid_to": "",
        "active": "on",
    }
    data.update(overrides)
    return data


@pytest.fixture
def live_rule(cast):
    draft = rule_set_draft_create(actor=cast.analyst)
    rule = rule_create(
        actor=cast.analyst, rule_set=draft, name="Telephones", hs_prefix="8517", score=35
    )
    rule_set_publish(actor=cast.analyst, rule_set=draft)
    return rule


def test_a_rule_of_the_live_set_is_shown_but_not_changed_or_deleted(as_admin, live_rule):
    assert as_admin.get(f"{RULES}/{live_rule.pk}/change/").status_code == 200
    changed = as_admin.post(f"{RULES}/{live_rule.pk}/change/", rule_data(score="99"))
    deleted = as_admin.post(f"{RULES}/{live_rule.pk}/delete/", {"post": "yes"})
    assert changed.status_code == 403
    assert deleted.status_code == 403
    live_rule.refresh_from_db()
    assert (live_rule.name, live_rule.score) == ("Telephones", 35)


def test_selecting_live_rules_for_bulk_deletion_deletes_nothing(as_admin, live_rule):
    response = as_admin.post(
        f"{RULES}/",
        {"action": "delete_selected", "_selected_action": [live_rule.pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert SelectivityRule.objects.filter(pk=live_rule.pk).exists()


def test_a_rule_of_a_draft_is_changed_and_deleted_through_the_services(cast, as_admin, live_rule):
    draft = rule_set_draft_create(actor=cast.analyst)
    copy = draft.rules.get()
    response = as_admin.post(
        f"{RULES}/{copy.pk}/change/",
        rule_data(name="Telephones", score="50", origin_country="cn"),
    )
    assert response.status_code == 302, form_errors(response)
    copy.refresh_from_db()
    assert (copy.score, copy.origin_country) == (50, "CN")  # as the service stores it
    live_rule.refresh_from_db()
    assert live_rule.score == 35

    assert as_admin.post(f"{RULES}/{copy.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not draft.rules.exists()
    assert SelectivityRule.objects.filter(pk=live_rule.pk).exists()


def test_rules_are_added_to_drafts_only(cast, as_admin, live_rule):
    draft = rule_set_draft_create(actor=cast.analyst)
    form = as_admin.get(f"{RULES}/add/").context["adminform"].form
    assert list(form.fields["rule_set"].queryset) == [draft]

    refused = as_admin.post(f"{RULES}/add/", rule_data(rule_set=live_rule.rule_set_id))
    assert "rule_set" in form_errors(refused)
    added = as_admin.post(
        f"{RULES}/add/", rule_data(rule_set=draft.pk, name="Low price", conditions_text="")
    )
    assert added.status_code == 302, form_errors(added)
    assert draft.rules.filter(name="Low price").exists()
    assert not live_rule.rule_set.rules.filter(name="Low price").exists()


def test_a_rule_the_service_refuses_is_shown_again_with_the_errors(cast, as_admin):
    draft = rule_set_draft_create(actor=cast.analyst)
    response = as_admin.post(
        f"{RULES}/add/",
        rule_data(rule_set=draft.pk, hs_prefix="", score="0", conditions_text="no_such_field eq 1"),
    )
    errors = form_errors(response)
    assert "conditions_text" in errors
    assert "score" in errors
    assert not draft.rules.exists()


def test_thresholds_are_read_only_in_the_admin_as_they_need_a_second_analyst(as_admin):
    current = RiskSettings.current()
    data = {
        "yellow_from": "70",
        "red_from": "60",
        "random_yellow_rate": "1.00",
        "random_red_rate": "0.50",
        "expected_yellow_share": "15.00",
        "expected_red_share": "5.00",
        "model_enabled": "on",
        "model_weight": "100",
    }
    assert as_admin.get(f"/admin/risk/risksettings/{current.pk}/change/").status_code == 200
    response = as_admin.post(
        f"/admin/risk/risksettings/{current.pk}/change/", {**data, "yellow_from": "40"}
    )
    assert response.status_code == 403
    assert RiskSettings.current().yellow_from == current.yellow_from


def test_rule_sets_are_published_on_the_risk_pages_not_in_the_admin(as_admin, live_rule):
    live = live_rule.rule_set
    assert as_admin.get(f"/admin/risk/ruleset/{live.pk}/change/").status_code == 200
    changed = as_admin.post(
        f"/admin/risk/ruleset/{live.pk}/change/", {"version": live.version, "status": "retired"}
    )
    assert changed.status_code == 403
    assert as_admin.post(f"/admin/risk/ruleset/{live.pk}/delete/", {"post": "yes"}).status_code == (
        403
    )
    assert as_admin.get("/admin/risk/ruleset/add/").status_code == 403
    assert RuleSet.objects.get(pk=live.pk).status == RuleSet.Status.LIVE

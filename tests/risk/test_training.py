"""Training data, model versions, promotion, the live model in scoring, and replay."""

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from agencies.models import Inspection, Review
from clearance.services import declaration_assess_risk, inspection_record
from declarations.models import Item
from risk import model_store
from risk.models import ModelVersion, ReferencePrice, RuleSet, TrainingRecord
from risk.replay import replay
from risk.services import rule_create, rule_set_draft_create
from risk.training import kcs_import, model_train, reference_prices_refresh
from tests.factories import item_data, route
from tests.risk.conftest import submitted

pytestmark = pytest.mark.django_db

KCS = Path("/work/shared/data/kcs/train.csv")


@pytest.fixture
def kcs_sample(tmp_path) -> Path:
    """Every 40th row of the KCS training file: about 900 items over the whole year."""
    sample = tmp_path / "sample.csv"
    with KCS.open() as source, sample.open("w", newline="") as target:
        rows = csv.reader(source)
        out = csv.writer(target)
        out.writerow(next(rows))
        for index, row in enumerate(rows):
            if index % 40 == 0:
                out.writerow(row)
    return sample


def test_kcs_import_is_idempotent_and_derives_reference_prices(kcs_sample):
    created = kcs_import(paths=[kcs_sample])
    assert created > 800
    assert kcs_import(paths=[kcs_sample]) == 0
    assert TrainingRecord.objects.count() == created
    record = TrainingRecord.objects.order_by("id").first()
    assert len(record.hs6) == 6 and record.fraud in (0, 1)
    assert reference_prices_refresh() > 100
    price = ReferencePrice.objects.first()
    values = [
        r.value / r.net_mass_kg
        for r in TrainingRecord.objects.filter(
            hs6=price.hs6, origin_country=price.origin_country, net_mass_kg__gt=0
        )
    ]
    assert min(values) <= price.value_per_kg <= max(values)


def test_inspection_findings_label_the_items_they_name(cast):
    from risk.training import training_records_from_inspections

    clean = route(submitted(cast.trader_a), lane="red")
    cheat = route(
        submitted(cast.trader_a, items=[item_data(value="5000"), item_data(value="10000")]),
        lane="red",
    )
    for declaration, finding, revenue, items in (
        (clean, Inspection.Finding.NO_DISCREPANCY, Decimal("0"), []),
        (cheat, Inspection.Finding.MISDECLARED_VALUE, Decimal("1200.00"), [2]),
    ):
        review = Review.objects.get(declaration=declaration, agency=cast.customs)
        inspection_record(
            review_id=review.pk,
            actor=cast.customs_officer,
            kind=Inspection.Kind.PHYSICAL,
            finding=finding,
            revenue_difference=revenue,
            items=items,
        )
    # Recorded with the finding: one record per item inspected, the offence on the
    # item it names only, the other item an example of goods as declared.
    labels = dict(
        TrainingRecord.objects.filter(source="platform").values_list("source_ref", "fraud")
    )
    line = {str(i.pk): (i.declaration_id, i.line_no) for i in Item.objects.all()}
    assert {line[ref]: fraud for ref, fraud in labels.items()} == {
        (clean.pk, 1): 0,
        (cheat.pk, 1): 0,
        (cheat.pk, 2): 1,
    }
    offence = TrainingRecord.objects.get(fraud=1)
    assert (offence.revenue, offence.hs6, offence.declarant_id) == (
        1200.0,
        "851713",
        cast.company_a.tax_id,
    )
    # Labelling everything again (before retraining) finds the same.
    assert training_records_from_inspections() == 3
    assert TrainingRecord.objects.filter(source="platform", fraud=1).count() == 1


def test_a_model_is_promoted_only_when_it_beats_the_live_one(
    kcs_sample, cast, no_random_selection, forget_loaded_model
):
    kcs_import(paths=[kcs_sample])
    first = model_train(rounds=30)
    assert first.status == ModelVersion.Status.LIVE
    assert first.training["test_from"] > first.training["train_to"]
    assert set(first.metrics["at"]) == {"1%", "2%", "5%", "10%"}
    assert len(bytes(first.artifact)) == first.size_bytes

    # Same data, same seed: the same precision does not beat the live model.
    second = model_train(rounds=30)
    assert second.status == ModelVersion.Status.REJECTED
    assert second.live_metrics == first.metrics
    assert "does not beat" in second.note

    decision = declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk)
    assert decision.model_version == first.label
    assert 0 <= decision.model_probability <= 1
    model = next(r for r in decision.reasons if r["kind"] == "model")
    assert model["text"].startswith(f"model {first.label}: fraud likelihood")
    assert decision.timings["model_ms"] >= 0

    # Workers notice a newly promoted version on their next declaration.
    third = model_train(rounds=60)
    ModelVersion.objects.filter(pk=first.pk).update(status=ModelVersion.Status.RETIRED)
    ModelVersion.objects.filter(pk=third.pk).update(status=ModelVersion.Status.LIVE)
    decision = declaration_assess_risk(declaration_id=submitted(cast.trader_a).pk)
    assert decision.model_version == third.label


def test_a_tampered_artifact_is_refused(kcs_sample, forget_loaded_model):
    kcs_import(paths=[kcs_sample])
    version = model_train(rounds=10)
    ModelVersion.objects.filter(pk=version.pk).update(artifact=b"not the model")
    with pytest.raises(model_store.ModelUnavailable, match="SHA-256"):
        model_store.live_model()


def test_replay_reports_lanes_hits_and_workload(kcs_sample, cast, forget_loaded_model):
    kcs_import(paths=[kcs_sample])
    reference_prices_refresh()
    version = model_train(rounds=30)
    rule_set = rule_set_draft_create(actor=cast.analyst)
    rule_create(actor=cast.analyst, rule_set=rule_set, name="Chapter 02", hs_prefix="02", score=60)
    result = replay(
        rule_set=rule_set,
        model_version=version,
        date_from=date(2020, 1, 1),
        date_to=date(2020, 12, 31),
        seed=1,
    )
    assert result["declarations"] == sum(result["lanes"].values())
    assert result["declarations"] > 500
    assert result["rule_set"] == f"v{rule_set.version}"
    assert result["actual"]["frauds"] > 0
    selected = result["lanes"]["yellow"] + result["lanes"]["red"]
    assert sum(result["hits"].values()) <= selected
    assert result["workload"]["customs (physical)"]["red"] == result["lanes"]["red"]
    # Plant quarantine (HS 08) sees the declarations with fruit, in every lane.
    assert set(result["workload"]) >= {"customs (physical)"}
    without_model = replay(
        rule_set=rule_set,
        model_version=None,
        date_from=date(2020, 1, 1),
        date_to=date(2020, 12, 31),
        seed=1,
    )
    assert without_model["model_version"] == ""
    assert without_model["rules_fired"] == result["rules_fired"]
    assert RuleSet.objects.filter(status=RuleSet.Status.DRAFT).count() == 1

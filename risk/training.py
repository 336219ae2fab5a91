"""Training data and model versions: KCS imports, inspection outcomes, retraining, promotion."""

import hashlib
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from risk.ml.records import COLUMNS
from risk.models import ModelVersion, ReferencePrice, TrainingRecord

logger = logging.getLogger(__name__)

# TrainingRecord's columns: the canonical record's, the declaration's key renamed.
RECORD_FIELDS = ["declaration_key" if c == "declaration_id" else c for c in COLUMNS]
PRIMARY_RATE = "5%"
# The later window a candidate is judged on: the most recent share of labelled dates.
HOLDOUT_SHARE = 0.2
Progress = Callable[[int, str], None]


def _none_progress(percent: int, message: str) -> None:
    pass


def _text(value) -> str:
    return (
        ""
        if value is None or value is pd.NA or (isinstance(value, float) and value != value)
        else str(value)
    )


def _record_from_row(row: dict, *, source: str, source_ref: str, declaration_id=None):
    def number(key):
        value = row.get(key)
        return None if value is None or value is pd.NA or value != value else float(value)

    def label(key):
        value = row.get(key)
        return None if value is None or value is pd.NA else int(value)

    return TrainingRecord(
        source=source,
        source_ref=source_ref,
        declaration_id=declaration_id,
        declaration_key=_text(row["declaration_id"])[:32],
        date=pd.Timestamp(row["date"]).date(),
        office=_text(row.get("office"))[:16],
        process_type=_text(row.get("process_type"))[:8],
        import_type=_text(row.get("import_type"))[:8],
        import_use=_text(row.get("import_use"))[:8],
        payment_type=_text(row.get("payment_type"))[:8],
        transport_mode=_text(row.get("transport_mode"))[:8],
        declarant_id=_text(row.get("declarant_id"))[:32],
        importer_id=_text(row.get("importer_id"))[:32],
        seller_id=_text(row.get("seller_id"))[:32],
        courier_id=_text(row.get("courier_id"))[:32],
        hs6=_text(row.get("hs6"))[:6],
        departure_country=_text(row.get("departure_country"))[:2],
        origin_country=_text(row.get("origin_country"))[:2],
        tax_rate=number("tax_rate") or 0.0,
        tax_type=_text(row.get("tax_type"))[:8],
        origin_indicator=_text(row.get("origin_indicator"))[:4],
        net_mass_kg=number("net_mass_kg"),
        value=number("value") or 0.0,
        fraud=label("fraud"),
        critical=label("critical"),
        revenue=number("revenue"),
    )


def kcs_import(*, paths: Iterable[str | Path], batch_size: int = 5000) -> int:
    """Import KCS files as training records; importing a file twice adds nothing.

    A KCS row is one item; its reference is the file's declaration id plus the
    item's position within that declaration in the file.
    """
    from risk.ml.records import read_kcs

    created = 0
    for path in paths:
        frame = read_kcs(path)
        position = frame.groupby("declaration_id").cumcount()
        rows = frame.to_dict("records")
        for start in range(0, len(rows), batch_size):
            batch = [
                _record_from_row(
                    row, source="kcs", source_ref=f"{row['declaration_id']}/{int(position[i])}"
                )
                for i, row in enumerate(rows[start : start + batch_size], start=start)
            ]
            with transaction.atomic():
                before = TrainingRecord.objects.count()
                TrainingRecord.objects.bulk_create(batch, ignore_conflicts=True)
                created += TrainingRecord.objects.count() - before
    return created


# What the invoice said (declarations.reading) is not a feature of the model, on purpose.
# The KCS history the model learns from has no invoices: a column missing on every
# training row gives the trees nothing to split on, so the model would score it with
# no weight while seeming to use it. Rules use it now (risk.criteria); and every lane
# decision keeps it as it stood when the lane was decided (the reason of kind
# "invoice": `invoice_status`, `disagrees_on`). Once the platform has inspected enough
# declarations of its own, a retrain on them can learn from it: add `invoice_status`
# and one 0/1 column per kind in `disagrees_on` to ItemRecord and TrainingRecord,
# filled below from the declaration's lane decision (not compared again: the invoice
# may have been replaced since), left missing on KCS rows (LightGBM sends missing
# values down a branch of their own), add them to risk.ml.features, and let the
# promotion gate (a later window, the live model beaten on precision at 1-10 %)
# decide whether they earn their place.


def training_records_from_inspections(inspections=None) -> int:
    """Label the items of inspected platform declarations from the officers' findings
    (of every inspection done, or of those given).

    One record per inspected item: fraud when an inspection's finding names the
    item (inspections recorded before findings named items count for every
    item they covered); the recovered revenue goes to the items named. The
    other items inspected are examples of goods found as declared. Recording
    again updates the row.
    """
    from agencies.models import Inspection
    from declarations.models import Declaration
    from risk.services import declaration_item_records

    done = Inspection.objects.filter(status=Inspection.Status.DONE)
    if inspections is not None:
        # Every inspection of the same declarations: an item's label is what all
        # of them found, not only the latest.
        done = done.filter(
            review__declaration__in=Inspection.objects.filter(
                pk__in=[i.pk for i in inspections]
            ).values("review__declaration")
        )
    inspections = done
    inspections = inspections.select_related("review").prefetch_related("review__items", "items")
    outcomes: dict[int, dict] = {}
    for inspection in inspections:
        covered = list(inspection.review.items.all())
        found = inspection.finding != Inspection.Finding.NO_DISCREPANCY
        named = {item.pk for item in inspection.items.all()} or (
            {item.pk for item in covered} if found else set()
        )
        critical = int(found and inspection.finding in Inspection.DETAINING)
        share = float(inspection.revenue_difference) / max(len(named), 1)
        for item in covered:
            outcome = outcomes.setdefault(item.pk, {"fraud": 0, "critical": 0, "revenue": 0.0})
            if item.pk in named:
                outcome["fraud"] = 1
                outcome["critical"] = max(outcome["critical"], critical)
                outcome["revenue"] += share
    if not outcomes:
        return 0
    declarations = Declaration.objects.filter(items__pk__in=outcomes).select_related("company")
    count = 0
    for declaration in declarations.distinct():
        items = [i for i in declaration.items.all() if i.pk in outcomes]
        for item, row in zip(items, declaration_item_records(declaration, items), strict=True):
            row.update(outcomes[item.pk])
            record = _record_from_row(
                row, source="platform", source_ref=str(item.pk), declaration_id=declaration.pk
            )
            values = {f: getattr(record, f) for f in RECORD_FIELDS}
            TrainingRecord.objects.update_or_create(
                source="platform",
                source_ref=str(item.pk),
                defaults={**values, "declaration_id": declaration.pk},
            )
            count += 1
    return count


def reference_prices_refresh() -> int:
    """Median value per kg per HS6 and origin over every training record with a mass."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ReferencePrice._meta.db_table}")
        cursor.execute(
            f"""
            INSERT INTO {ReferencePrice._meta.db_table}
                (hs6, origin_country, value_per_kg, samples, computed_at)
            SELECT hs6, origin_country,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY value / net_mass_kg),
                   count(*), %s
            FROM {TrainingRecord._meta.db_table}
            WHERE net_mass_kg > 0 AND value > 0 AND origin_country <> ''
            GROUP BY hs6, origin_country
            """,
            [timezone.now()],
        )
        return cursor.rowcount


def records_frame(queryset) -> pd.DataFrame:
    """Training records as a canonical frame (risk.ml.records columns)."""
    from risk.ml.records import normalize

    rows = list(queryset.order_by("date", "id").values_list(*RECORD_FIELDS))
    frame = pd.DataFrame(rows, columns=RECORD_FIELDS).rename(
        columns={"declaration_key": "declaration_id"}
    )
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].replace("", None)
    return normalize(frame)


def _metrics(model, test: pd.DataFrame) -> dict:
    from risk.ml.metrics import fraud_revenue, selection_report

    scores = model.predict_proba(test.drop(columns=["fraud", "critical", "revenue"]))
    y = test["fraud"].astype(int).to_numpy()
    duty = fraud_revenue(y, test["value"].to_numpy(), test["tax_rate"].to_numpy())
    recorded = test["revenue"].to_numpy(dtype=float)
    revenue = np.where(np.isnan(recorded), duty, np.where(y > 0, recorded, 0.0))
    return selection_report(y, scores, revenue)


def primary(metrics: dict) -> float:
    return float(metrics.get("at", {}).get(PRIMARY_RATE, {}).get("precision", -1.0))


def model_train(*, progress: Progress = _none_progress, rounds: int | None = None) -> ModelVersion:
    """Train a candidate on older labelled records, judge it and the live model on newer ones.

    The candidate is promoted only if its precision at 5% on that later window
    beats the live model's on the same window. The artifact judged is the
    artifact stored, so what was measured is what runs.
    """
    from risk.ml.model import RiskModel
    from risk.model_store import load_version

    progress(2, "collecting inspection outcomes")
    training_records_from_inspections()
    reference_prices_refresh()
    progress(10, "reading labelled records")
    frame = records_frame(TrainingRecord.objects.filter(fraud__isnull=False))
    if len(frame) < 200 or frame["fraud"].nunique() < 2:
        raise ValueError(
            f"Not enough labelled records to train: {len(frame)} with "
            f"{int(frame['fraud'].sum()) if len(frame) else 0} findings."
        )
    dates = frame["date"].sort_values()
    cutoff = dates.iloc[int(len(dates) * (1 - HOLDOUT_SHARE))]
    train, later = frame[frame["date"] < cutoff], frame[frame["date"] >= cutoff]
    if len(train) < 100 or later["fraud"].nunique() < 2:
        train, later = frame.iloc[: int(len(frame) * 0.8)], frame.iloc[int(len(frame) * 0.8) :]
    progress(20, f"training on {len(train)} records up to {cutoff:%Y-%m-%d}")
    kwargs = {"rounds": rounds} if rounds else {}
    model = RiskModel(seed=0, **kwargs).train(train)
    progress(75, f"judging on {len(later)} later records")
    metrics = _metrics(model, later)
    live = ModelVersion.objects.filter(status=ModelVersion.Status.LIVE).first()
    live_metrics = _metrics(load_version(live.pk), later) if live else {}
    blob = model.to_bytes()
    progress(90, "storing the model")
    window = {
        "train_rows": len(train),
        "train_from": str(train["date"].min().date()),
        "train_to": str(train["date"].max().date()),
        "test_rows": len(later),
        "test_from": str(later["date"].min().date()),
        "test_to": str(later["date"].max().date()),
    }
    with transaction.atomic():
        last = ModelVersion.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0
        version = ModelVersion(
            version=last + 1,
            artifact=blob,
            sha256=hashlib.sha256(blob).hexdigest(),
            size_bytes=len(blob),
            training=window,
            metrics=metrics,
            live_metrics=live_metrics,
        )
        version.full_clean()
        version.save()
        model_version_judge(version=version)
    return version


@transaction.atomic
def model_version_judge(*, version: ModelVersion) -> ModelVersion:
    """Promote a candidate that beats the live model on the same later window; else reject it."""
    live = ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.LIVE).first()
    if live is not None and primary(version.metrics) <= primary(version.live_metrics):
        note = (
            f"precision at 5% {primary(version.metrics):.3f} does not beat the live "
            f"{live.label}'s {primary(version.live_metrics):.3f} on the same window"
        )
        return model_version_transition(
            version=version, to_status=ModelVersion.Status.REJECTED, changes={"note": note}
        )
    if live is not None:
        model_version_transition(version=live, to_status=ModelVersion.Status.RETIRED)
    note = f"precision at 5% {primary(version.metrics):.3f}" + (
        f", live {live.label} had {primary(version.live_metrics):.3f}" if live else ""
    )
    return model_version_transition(
        version=version,
        to_status=ModelVersion.Status.LIVE,
        changes={"promoted_at": timezone.now(), "note": note},
    )


def model_version_transition(*, version: ModelVersion, to_status: str, changes=None):
    """The only way a model version changes status (the caller holds the live row's lock)."""
    version.ensure_may_become(to_status)
    version.status = to_status
    for name, value in (changes or {}).items():
        setattr(version, name, value)
    version.save(update_fields=["status", *(changes or {})])
    return version

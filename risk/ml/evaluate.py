"""Train the risk model on some files and report selection metrics on another (no database)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from risk.ml.metrics import fraud_revenue, selection_report
from risk.ml.model import RiskModel
from risk.ml.records import read_kcs


def evaluate_frames(train: pd.DataFrame, test: pd.DataFrame, seed: int = 0, **kw: Any) -> dict:
    """Train on `train`, score `test` (its labels are read only to compute the metrics)."""
    start = time.perf_counter()
    model = RiskModel(seed=seed, **kw).train(train)
    scores = model.predict_proba(test.drop(columns=["fraud", "critical", "revenue"]))
    y = test["fraud"].astype(int).to_numpy()
    revenue = fraud_revenue(y, test["value"].to_numpy(), test["tax_rate"].to_numpy())
    report = selection_report(y, scores, revenue)
    return {
        "train_rows": len(train),
        "test_rows": len(test),
        **report,
        "seconds": round(time.perf_counter() - start, 2),
    }


def evaluate_kcs(
    train_paths: Sequence[str | Path], test_path: str | Path, seed: int = 0
) -> dict[str, Any]:
    """Metrics JSON for the risk model trained on KCS `train_paths`, tested on `test_path`."""
    start = time.perf_counter()
    train = pd.concat([read_kcs(p) for p in train_paths], ignore_index=True)
    test = read_kcs(test_path)
    result = evaluate_frames(train, test, seed=seed)
    result["seconds"] = round(time.perf_counter() - start, 2)
    return result

"""Benchmark of the learned risk model on the KCS data set.

Trains on train.csv, evaluates on valid.csv, and reports the selection metrics, training time,
batch scoring throughput, single-record latency (p50/p95, one ItemRecord at a time, as the
platform scores a new declaration) and the peak resident memory of the process.

    .venv/bin/python bench/risk_model.py [--data DIR] [--seed N] [--single N]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from risk.ml.metrics import fraud_revenue, selection_report
from risk.ml.model import RiskModel
from risk.ml.records import frame_to_records, read_kcs

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "kcs"


def max_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--single", type=int, default=300, help="records timed one at a time")
    args = parser.parse_args()

    train = read_kcs(args.data / "train.csv")
    test = read_kcs(args.data / "valid.csv")
    unlabelled = test.drop(columns=["fraud", "critical", "revenue"])

    start = time.perf_counter()
    model = RiskModel(seed=args.seed).train(train)
    train_seconds = time.perf_counter() - start
    blob = model.to_bytes()

    start = time.perf_counter()
    scores = model.predict_proba(unlabelled)
    batch_seconds = time.perf_counter() - start

    y = test["fraud"].astype(int).to_numpy()
    revenue = fraud_revenue(y, test["value"].to_numpy(), test["tax_rate"].to_numpy())
    report = selection_report(y, scores, revenue)

    records = frame_to_records(unlabelled.head(args.single))
    model.predict_proba(records[0])  # warm-up
    latencies = []
    for record in records:
        t0 = time.perf_counter()
        model.predict_proba(record)
        latencies.append((time.perf_counter() - t0) * 1000.0)
    t0 = time.perf_counter()
    model.explain(records[0])
    explain_ms = (time.perf_counter() - t0) * 1000.0

    result = {
        "train_rows": len(train),
        "test_rows": len(test),
        **report,
        "train_seconds": round(train_seconds, 2),
        "model_bytes": len(blob),
        "batch_rows_per_second": round(len(test) / batch_seconds, 1),
        "single_latency_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 2),
            "p95": round(float(np.percentile(latencies, 95)), 2),
        },
        "explain_ms": round(explain_ms, 2),
        "max_rss_mb": round(max_rss_mb(), 1),
    }
    print(json.dumps(result, indent=2))
    print("example explanation:", json.dumps(model.explain(records[0], top=3), indent=2))


if __name__ == "__main__":
    main()

"""Selection metrics for the risk model: what inspecting the top-scored items would catch.

Revenue: the KCS data has no recovered-revenue column, so the revenue of a fraud row is taken as
the duty at stake, ``Item Price * Tax Rate / 100`` (canonical ``value * tax_rate / 100``); a
non-fraud row recovers nothing. When the platform records real recovered revenue it can pass it
instead. ``revenue`` at a rate is the absolute sum caught in the top k, ``revenue_share`` that sum
over the revenue of all fraud rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

INSPECTION_RATES: tuple[float, ...] = (0.01, 0.02, 0.05, 0.10)


def top_k(rate: float, n: int) -> int:
    """Number of items inspected at `rate` of `n` items (at least one)."""
    return max(1, math.ceil(rate * n - 1e-9))


def _ranked(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    # Stable sort keeps ties in input order, so results are deterministic.
    return np.argsort(-np.asarray(scores, dtype=float), kind="stable")


def precision_at(y_true: np.ndarray, scores: np.ndarray, rate: float) -> float:
    y = np.asarray(y_true, dtype=float)
    k = top_k(rate, len(y))
    return float(y[_ranked(scores)[:k]].mean())


def recall_at(y_true: np.ndarray, scores: np.ndarray, rate: float) -> float:
    y = np.asarray(y_true, dtype=float)
    total = y.sum()
    if total == 0:
        return 0.0
    k = top_k(rate, len(y))
    return float(y[_ranked(scores)[:k]].sum() / total)


def fraud_revenue(y_true: np.ndarray, value: np.ndarray, tax_rate: np.ndarray) -> np.ndarray:
    """Revenue per row: duty at stake (value * tax_rate / 100) for fraud rows, 0 otherwise."""
    duty = np.nan_to_num(np.asarray(value, float) * np.asarray(tax_rate, float) / 100.0)
    return np.where(np.asarray(y_true) > 0, duty, 0.0)


def revenue_at(revenue: np.ndarray, scores: np.ndarray, rate: float) -> tuple[float, float]:
    """(absolute revenue caught in the top k, share of all revenue caught)."""
    rev = np.asarray(revenue, dtype=float)
    k = top_k(rate, len(rev))
    caught = float(rev[_ranked(scores)[:k]].sum())
    total = float(rev.sum())
    return caught, (caught / total if total > 0 else 0.0)


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(scores, dtype=float)
    n_pos = int((y > 0).sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=float)
    sorted_s = s[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y > 0].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def selection_report(
    y_true: np.ndarray,
    scores: np.ndarray,
    revenue: np.ndarray,
    rates: Sequence[float] = INSPECTION_RATES,
) -> dict:
    """ROC AUC plus precision, recall and revenue at each inspection rate."""
    at = {}
    for rate in rates:
        caught, share = revenue_at(revenue, scores, rate)
        at[f"{rate * 100:g}%"] = {
            "precision": round(precision_at(y_true, scores, rate), 4),
            "recall": round(recall_at(y_true, scores, rate), 4),
            "revenue": round(caught, 2),
            "revenue_share": round(share, 4),
        }
    return {"roc_auc": round(roc_auc(y_true, scores), 4), "at": at}

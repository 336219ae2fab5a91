"""LightGBM risk model over the `RiskFeatures` pipeline, with per-record explanations."""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from risk.ml.features import CATEGORICAL, ENCODED_KEYS, KEY_LABELS, PRICE_LEVELS, RiskFeatures
from risk.ml.records import ItemRecord, records_to_frame

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 31,
    "min_child_samples": 40,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "cat_smooth": 20.0,
    "min_data_per_group": 50,
    "verbosity": -1,
}
DEFAULT_ROUNDS = 600


@dataclass
class RiskModel:
    """Feature pipeline plus gradient-boosted trees; pickles as one object."""

    seed: int = 0
    n_jobs: int = 2
    rounds: int = DEFAULT_ROUNDS
    params: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    features: RiskFeatures = field(default_factory=RiskFeatures)
    booster: lgb.Booster | None = None

    def _lgb_params(self) -> dict[str, Any]:
        return {
            **self.params,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_jobs,
        }

    def train(self, frame: pd.DataFrame) -> RiskModel:
        """Fit features and trees on labelled canonical rows."""
        self.features.seed = self.seed
        x = self.features.fit_transform(frame)
        y = frame["fraud"].astype(int).to_numpy()
        cats = [f"cat_{c}" for c in CATEGORICAL]
        data = lgb.Dataset(x, label=y, categorical_feature=cats, free_raw_data=True)
        self.booster = lgb.train(self._lgb_params(), data, num_boost_round=self.rounds)
        return self

    def _frame(self, rows: pd.DataFrame | ItemRecord | Mapping[str, Any]) -> pd.DataFrame:
        if isinstance(rows, pd.DataFrame):
            return rows
        return records_to_frame([rows])

    def predict_proba(self, rows: pd.DataFrame | ItemRecord | Mapping[str, Any]) -> np.ndarray:
        """Fraud probability for each row (a frame, one ItemRecord or one dict)."""
        if self.booster is None:
            raise RuntimeError("model is not trained")
        x = self.features.transform(self._frame(rows))
        return self.booster.predict(x, num_threads=self.n_jobs)

    def explain(
        self, record: pd.DataFrame | ItemRecord | Mapping[str, Any], top: int = 5
    ) -> list[dict[str, Any]]:
        """Top features pushing one record's risk up (SHAP values from LightGBM pred_contrib).

        Each entry has the feature name, its contribution in log-odds and a sentence an officer
        can read. Features that lower the risk are returned only when nothing raises it.
        """
        if self.booster is None:
            raise RuntimeError("model is not trained")
        frame = self._frame(record).iloc[:1]
        x = self.features.transform(frame)
        contrib = self.booster.predict(x, pred_contrib=True, num_threads=self.n_jobs)[0][:-1]
        names = list(x.columns)
        order = np.argsort(-contrib, kind="stable")
        chosen = [i for i in order if contrib[i] > 0][:top] or list(order[::-1][:top])
        row = frame.iloc[0]
        feats = x.iloc[0]
        return [
            {
                "feature": names[i],
                "contribution": round(float(contrib[i]), 4),
                "text": describe(names[i], feats, row),
            }
            for i in chosen
        ]

    def to_bytes(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_bytes(blob: bytes) -> RiskModel:
        # Only load blobs this platform wrote itself: unpickling runs code.
        model = pickle.loads(blob)
        if not isinstance(model, RiskModel):
            raise TypeError("not a RiskModel")
        return model


def train(frame: pd.DataFrame, seed: int = 0, **kwargs: Any) -> RiskModel:
    return RiskModel(seed=seed, **kwargs).train(frame)


def predict_proba(model: RiskModel, rows: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(rows)


def save(model: RiskModel) -> bytes:
    return model.to_bytes()


def load(blob: bytes) -> RiskModel:
    return RiskModel.from_bytes(blob)


# ---- explanations in plain words -----------------------------------------------------------

_CATEGORY_LABELS = {
    "office": "customs office",
    "process_type": "process type",
    "import_type": "import type",
    "import_use": "import use",
    "payment_type": "payment type",
    "transport_mode": "transport mode",
    "tax_type": "tax type",
    "origin_indicator": "origin indicator",
    "origin_country": "origin country",
    "departure_country": "departure country",
}
_PRICE_LEVEL_TEXT = ["HS {hs6} from {origin}", "HS {hs6}", "HS {hs4}", "HS chapter {hs2}"]


def _fmt(v: Any) -> str:
    return "unknown" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _times(log_ratio: float) -> str:
    factor = math.exp(abs(log_ratio))
    direction = "below" if log_ratio < 0 else "above"
    return f"{factor:.1f}x {direction}"


def describe(name: str, feats: pd.Series, row: pd.Series) -> str:
    """One plain sentence for one feature of one record."""
    hs6 = _fmt(row.get("hs6"))
    ctx = {"hs6": hs6, "hs4": hs6[:4], "hs2": hs6[:2], "origin": _fmt(row.get("origin_country"))}
    value = feats.get(name)
    if name in ("log_price_ratio", "price_z", "log_unit_price", "price_ref_level"):
        level = int(feats.get("price_ref_level", len(PRICE_LEVELS)))
        ref = (
            _PRICE_LEVEL_TEXT[level].format(**ctx)
            if level < len(_PRICE_LEVEL_TEXT)
            else "all goods"
        )
        return f"unit price {_times(float(feats['log_price_ratio']))} reference for {ref}"
    if name.startswith("te_"):
        key = name[3:]
        n = int(feats.get(f"cnt_{key}", 0))
        label = KEY_LABELS.get(key, key)
        if n == 0:
            return f"{label} has no inspection history"
        return f"past fraud rate of {label}: {value:.0%} over {n} past items"
    if name.startswith("cnt_"):
        key = name[4:]
        label = KEY_LABELS.get(key, key)
        return f"{label} seen in {int(value)} past items" if value else f"new {label}"
    if name.startswith("cat_"):
        col = name[4:]
        return f"{_CATEGORY_LABELS.get(col, col)} is {_fmt(row.get(col))}"
    texts = {
        "tax_rate": lambda: f"tax rate {_fmt(row.get('tax_rate'))}%",
        "log_duty": lambda: f"duty at stake {float(np.expm1(value)):,.0f}",
        "log_value": lambda: f"declared value {_fmt(row.get('value'))}",
        "log_mass": lambda: f"net mass {_fmt(row.get('net_mass_kg'))} kg",
        "origin_ne_departure": lambda: (
            "shipped from a country other than the origin"
            if value
            else "shipped directly from the origin country"
        ),
        "has_seller": lambda: "seller given" if value else "no seller declared",
        "has_courier": lambda: "sent by courier" if value else "not sent by courier",
        "weekday": lambda: f"declared on weekday {int(value) + 1 if value == value else '?'}",
        "day_of_month": lambda: f"declared on day {_fmt(value)} of the month",
        "value_vs_importer_mean": lambda: (
            f"value {_times(float(value))} this importer's usual value"
            if value == value
            else "importer has no value history"
        ),
    }
    if name in texts:
        return texts[name]()
    if name in ENCODED_KEYS:
        return f"{KEY_LABELS.get(name, name)}"
    return f"{name.replace('_', ' ')} = {_fmt(value)}"

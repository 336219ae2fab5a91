"""Feature pipeline for the learned risk model.

`RiskFeatures.fit(train)` learns every statistic from training rows only (reference unit prices,
frequencies, smoothed fraud rates of traders, goods and routes); `transform(frame)` then needs
nothing but that fitted state, so one new declaration can be scored on its own.

Target encodings of the training rows themselves must not see their own label, otherwise the
model learns to trust them far more than it can at prediction time: `fit_transform` therefore
returns out-of-fold encodings for the training rows (folds are calendar months by default, so a
row is encoded only from other months, as a future declaration will be).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from risk.ml.records import COLUMNS

MISSING = "<NA>"
_SEP = "\x1f"

# Entities and combinations whose frequency and fraud rate are learned from training rows.
ENCODED_KEYS: dict[str, tuple[str, ...]] = {
    "importer": ("importer_id",),
    "declarant": ("declarant_id",),
    "seller": ("seller_id",),
    "courier": ("courier_id",),
    "hs6": ("hs6",),
    "hs4": ("hs4",),
    "hs2": ("hs2",),
    "origin": ("origin_country",),
    "departure": ("departure_country",),
    "route": ("departure_country", "origin_country"),
    "office": ("office",),
    "tax_type": ("tax_type",),
    "importer_hs6": ("importer_id", "hs6"),
    "importer_seller": ("importer_id", "seller_id"),
    "importer_declarant": ("importer_id", "declarant_id"),
    "importer_origin": ("importer_id", "origin_country"),
    "declarant_hs6": ("declarant_id", "hs6"),
    "declarant_office": ("declarant_id", "office"),
    "seller_hs6": ("seller_id", "hs6"),
    "hs6_origin": ("hs6", "origin_country"),
    "office_hs6": ("office", "hs6"),
    # Commodity x route x tax profiles carry most of the signal on the KCS data.
    "hs4_origin": ("hs4", "origin_country"),
    "hs4_route": ("hs4", "departure_country", "origin_country"),
    "hs6_departure": ("hs6", "departure_country"),
    "hs6_route": ("hs6", "departure_country", "origin_country"),
    "hs6_tax_type": ("hs6", "tax_type"),
    "hs6_tax_rate": ("hs6", "tax_rate"),
    "hs6_origin_tax_rate": ("hs6", "origin_country", "tax_rate"),
    "hs6_route_tax": ("hs6", "departure_country", "origin_country", "tax_type"),
    "route_tax_type": ("departure_country", "origin_country", "tax_type"),
    "hs6_origin_indicator": ("hs6", "origin_indicator"),
    "hs6_origin_office": ("hs6", "origin_country", "office"),
    "hs6_import_type": ("hs6", "import_type"),
    "declarant_hs6_origin": ("declarant_id", "hs6", "origin_country"),
}

# Exact declared amounts seen before. Off by default: on the synthetic KCS data an item price
# repeats across unrelated declarations with the same label (a generator artifact), which would
# not carry over to real declarations.
VALUE_MEMORY_KEYS: dict[str, tuple[str, ...]] = {
    "exact_value": ("value",),
    "exact_mass": ("net_mass_kg",),
    "hs6_exact_value": ("hs6", "value"),
    "hs6_exact_mass": ("hs6", "net_mass_kg"),
}

# Low-cardinality codes given to LightGBM as categorical features.
CATEGORICAL: tuple[str, ...] = (
    "office",
    "process_type",
    "import_type",
    "import_use",
    "payment_type",
    "transport_mode",
    "tax_type",
    "origin_indicator",
    "origin_country",
    "departure_country",
)

# Reference unit price levels, most specific first, with the least number of rows to trust one.
PRICE_LEVELS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("hs6_origin", ("hs6", "origin_country"), 5),
    ("hs6", ("hs6",), 5),
    ("hs4", ("hs4",), 5),
    ("hs2", ("hs2",), 1),
)

# Label-free per-trader profile statistics: (feature, entity column, aggregated column, how).
PROFILES: tuple[tuple[str, str, str, str], ...] = (
    ("importer_n_hs6", "importer_id", "hs6", "nunique"),
    ("importer_n_sellers", "importer_id", "seller_id", "nunique"),
    ("importer_n_declarants", "importer_id", "declarant_id", "nunique"),
    ("importer_mean_log_value", "importer_id", "log_value", "mean"),
    ("declarant_n_importers", "declarant_id", "importer_id", "nunique"),
    ("seller_n_importers", "seller_id", "importer_id", "nunique"),
)

# Human names for the entities, used in explanations.
KEY_LABELS: dict[str, str] = {
    "importer": "importer",
    "declarant": "declarant (broker)",
    "seller": "seller",
    "courier": "courier",
    "hs6": "HS6 code",
    "hs4": "HS4 heading",
    "hs2": "HS chapter",
    "origin": "origin country",
    "departure": "departure country",
    "route": "departure/origin route",
    "office": "customs office",
    "tax_type": "tax type",
    "importer_hs6": "importer with this HS6 code",
    "importer_seller": "importer with this seller",
    "importer_declarant": "importer with this declarant",
    "importer_origin": "importer with this origin",
    "declarant_hs6": "declarant with this HS6 code",
    "declarant_office": "declarant at this office",
    "seller_hs6": "seller with this HS6 code",
    "hs6_origin": "HS6 code from this origin",
    "office_hs6": "HS6 code at this office",
    "hs4_origin": "HS4 heading from this origin",
    "hs4_route": "HS4 heading on this route",
    "hs6_departure": "HS6 code from this departure country",
    "hs6_route": "HS6 code on this departure/origin route",
    "hs6_tax_type": "HS6 code with this tax type",
    "hs6_tax_rate": "HS6 code at this tax rate",
    "hs6_origin_tax_rate": "HS6 code from this origin at this tax rate",
    "hs6_route_tax": "HS6 code on this route with this tax type",
    "route_tax_type": "route with this tax type",
    "hs6_origin_indicator": "HS6 code with this origin indicator",
    "hs6_origin_office": "HS6 code from this origin at this office",
    "hs6_import_type": "HS6 code with this import type",
    "declarant_hs6_origin": "declarant with this HS6 code and origin",
    "exact_value": "this exact declared value",
    "exact_mass": "this exact net mass",
    "hs6_exact_value": "this exact value for this HS6 code",
    "hs6_exact_mass": "this exact net mass for this HS6 code",
}


def _derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical columns plus derived raw columns (HS4/HS2, logs, unit price, duty)."""
    df = frame.copy()
    for col in COLUMNS:
        if col not in df.columns:
            df[col] = None
    hs6 = df["hs6"].astype(object).where(df["hs6"].notna(), MISSING).astype(str)
    df["hs4"] = hs6.str[:4]
    df["hs2"] = hs6.str[:2]
    value = pd.to_numeric(df["value"], errors="coerce").astype(float)
    mass = pd.to_numeric(df["net_mass_kg"], errors="coerce").astype(float)
    tax = pd.to_numeric(df["tax_rate"], errors="coerce").astype(float)
    df["log_value"] = np.log1p(value.clip(lower=0))
    df["log_mass"] = np.log1p(mass.clip(lower=0))
    # 1 g floor keeps unit prices finite for near-weightless items.
    df["log_unit_price"] = np.log(value.clip(lower=1e-3)) - np.log(mass.clip(lower=1e-3))
    df["duty"] = value * tax / 100.0
    return df


def _strings(column: pd.Series) -> list[str]:
    return [MISSING if v is None or v != v else str(v) for v in column.tolist()]


def _key(df: pd.DataFrame, cols: tuple[str, ...]) -> pd.Series:
    """One string key per row joining the given columns (missing values become <NA>)."""
    parts = [_strings(df[c]) for c in cols]
    joined = parts[0] if len(parts) == 1 else [_SEP.join(t) for t in zip(*parts, strict=True)]
    return pd.Series(joined, index=df.index, dtype=object)


def _lookup(keys: pd.Series, table: pd.Series, default: float) -> np.ndarray:
    """table[key] for each key as floats, `default` where the key is unknown."""
    pos = table.index.get_indexer(keys.to_numpy())
    values = table.to_numpy(dtype=float)
    return np.where(pos >= 0, values[np.maximum(pos, 0)] if len(values) else default, default)


@dataclass
class _KeyStats:
    count: pd.Series  # rows per key value
    positives: pd.Series  # fraud rows per key value


@dataclass
class RiskFeatures:
    """Sklearn-style feature pipeline: fit on training rows, transform any canonical frame."""

    smoothing: float = 5.0
    n_folds: int = 5
    fold_by: str = "month"  # "month" (grouped, time-aware) or "random"
    seed: int = 0
    value_memory: bool = False
    keys: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(ENCODED_KEYS))
    prior_: float = 0.0
    key_stats_: dict[str, _KeyStats] = field(default_factory=dict)
    price_ref_: dict[str, pd.DataFrame] = field(default_factory=dict)
    global_price_: tuple[float, float] = (0.0, 1.0)
    profiles_: dict[str, pd.Series] = field(default_factory=dict)
    categories_: dict[str, dict[str, int]] = field(default_factory=dict)
    feature_names_: list[str] = field(default_factory=list)

    # ---- fitting ---------------------------------------------------------------------------

    def fit(self, train: pd.DataFrame) -> RiskFeatures:
        if self.value_memory:
            self.keys = {**self.keys, **VALUE_MEMORY_KEYS}
        df = _derive(train)
        y = self._labels(df)
        self.prior_ = float(y.mean())
        self.key_stats_ = {
            name: self._key_stats(_key(df, cols), y) for name, cols in self.keys.items()
        }
        self._fit_prices(df)
        self._fit_profiles(df)
        self.categories_ = {}
        for col in CATEGORICAL:
            counts = df[col].astype(object).where(df[col].notna(), MISSING).value_counts()
            kept = sorted(str(v) for v in counts.index[counts >= 5])
            self.categories_[col] = {v: i for i, v in enumerate(kept)}
        self.feature_names_ = list(self._features(df, self.key_stats_, self.prior_).columns)
        return self

    def fit_transform(self, train: pd.DataFrame) -> pd.DataFrame:
        """Fit, and return training features whose fraud rates are computed out of fold."""
        self.fit(train)
        df = _derive(train)
        y = self._labels(df)
        folds = self._folds(df)
        parts = []
        for fold in np.unique(folds):
            inside = folds == fold
            stats = {
                name: self._key_stats(_key(df.loc[~inside], cols), y[~inside])
                for name, cols in self.keys.items()
            }
            feats = self._features(df.loc[inside], stats, float(y[~inside].mean()))
            parts.append(feats)
        # Counts stay out of fold too: they tell how many rows stand behind each fraud rate.
        return pd.concat(parts).loc[df.index, self.feature_names_]

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Features of new rows from the fitted state only (labels of `frame` are never read)."""
        df = _derive(frame)
        return self._features(df, self.key_stats_, self.prior_)[self.feature_names_]

    @staticmethod
    def _labels(df: pd.DataFrame) -> pd.Series:
        if "fraud" not in df.columns or df["fraud"].isna().any():
            raise ValueError("training rows need a 0/1 fraud label")
        return df["fraud"].astype(float)

    def _folds(self, df: pd.DataFrame) -> np.ndarray:
        dates = pd.to_datetime(df["date"], errors="coerce")
        if self.fold_by == "month" and dates.notna().all():
            months = dates.dt.year * 12 + dates.dt.month
            if months.nunique() >= 2:
                return months.to_numpy()
        rng = np.random.default_rng(self.seed)
        return rng.integers(0, self.n_folds, len(df))

    @staticmethod
    def _key_stats(keys: pd.Series, y: pd.Series) -> _KeyStats:
        grouped = y.groupby(keys.to_numpy())
        return _KeyStats(count=grouped.size().astype(float), positives=grouped.sum())

    def _fit_prices(self, df: pd.DataFrame) -> None:
        # Reference prices use every training row, fraud or not: they need no label at all.
        lup = df["log_unit_price"]
        self.global_price_ = (float(lup.median()), float(lup.std()))
        self.price_ref_ = {}
        for name, cols, min_rows in PRICE_LEVELS:
            g = lup.groupby(_key(df, cols).to_numpy())
            ref = pd.DataFrame({"median": g.median(), "std": g.std(), "n": g.size()})
            self.price_ref_[name] = ref[ref["n"] >= min_rows]

    def _fit_profiles(self, df: pd.DataFrame) -> None:
        self.profiles_ = {}
        for name, entity, col, how in PROFILES:
            keys = _key(df, (entity,))
            values = df[col] if how == "mean" else _key(df, (col,))
            self.profiles_[name] = values.groupby(keys.to_numpy()).agg(how).astype(float)

    # ---- transforming ----------------------------------------------------------------------

    def _features(
        self, df: pd.DataFrame, stats: dict[str, _KeyStats], prior: float
    ) -> pd.DataFrame:
        out: dict[str, pd.Series] = {}
        for col in CATEGORICAL:
            codes = df[col].astype(object).where(df[col].notna(), MISSING).astype(str)
            out[f"cat_{col}"] = codes.map(self.categories_.get(col, {})).astype(float)
        tax = pd.to_numeric(df["tax_rate"], errors="coerce").astype(float)
        out["tax_rate"] = tax
        out["log_value"] = df["log_value"]
        out["log_mass"] = df["log_mass"]
        out["log_unit_price"] = df["log_unit_price"]
        out["log_duty"] = np.log1p(df["duty"].clip(lower=0))
        out["origin_ne_departure"] = (
            df["origin_country"].astype(object) != df["departure_country"].astype(object)
        ).astype(float)
        out["has_seller"] = df["seller_id"].notna().astype(float)
        out["has_courier"] = df["courier_id"].notna().astype(float)
        dates = pd.to_datetime(df["date"], errors="coerce")
        out["weekday"] = dates.dt.day_of_week.astype(float)
        out["day_of_month"] = dates.dt.day.astype(float)
        self._price_features(df, out)
        for name, cols in self.keys.items():
            keys = _key(df, cols)
            n = _lookup(keys, stats[name].count, 0.0)
            pos = _lookup(keys, stats[name].positives, 0.0)
            out[f"cnt_{name}"] = pd.Series(n, index=df.index)
            out[f"te_{name}"] = pd.Series(
                (pos + prior * self.smoothing) / (n + self.smoothing), index=df.index
            )
        for name, entity, _col, _how in PROFILES:
            profile = _lookup(_key(df, (entity,)), self.profiles_[name], np.nan)
            out[name] = pd.Series(profile, index=df.index)
        out["value_vs_importer_mean"] = out["log_value"] - out["importer_mean_log_value"]
        return pd.DataFrame(out, index=df.index)

    def _price_features(self, df: pd.DataFrame, out: dict[str, pd.Series]) -> None:
        """Unit price against the most specific trusted reference (HS6+origin, HS6, HS4, HS2)."""
        n = len(df)
        ref_median = np.full(n, np.nan)
        ref_std = np.full(n, np.nan)
        level = np.full(n, float(len(PRICE_LEVELS)))
        for i, (name, cols, _min_rows) in enumerate(PRICE_LEVELS):
            todo = np.isnan(ref_median)
            if not todo.any():
                break
            keys = _key(df.loc[todo], cols)
            table = self.price_ref_[name]
            med = _lookup(keys, table["median"], np.nan)
            std = _lookup(keys, table["std"], np.nan)
            found = ~np.isnan(med)
            idx = np.flatnonzero(todo)[found]
            ref_median[idx] = med[found]
            ref_std[idx] = std[found]
            level[idx] = float(i)
        missing = np.isnan(ref_median)
        ref_median[missing] = self.global_price_[0]
        ref_std[np.isnan(ref_std)] = self.global_price_[1]
        level = pd.Series(level, index=df.index)
        out["price_ref_level"] = level
        out["log_price_ratio"] = df["log_unit_price"] - ref_median
        out["price_z"] = out["log_price_ratio"] / np.clip(ref_std, 0.1, None)

"""Canonical goods-item record used by the learned risk model.

The platform produces the same columns from its own declarations (one row per goods item),
and `read_kcs` maps the public KCS synthetic data set onto them, so the feature pipeline and the
model never see a source-specific column name.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """One goods item of one import declaration, in canonical form.

    Categorical codes are kept as strings (e.g. office "30", hs6 "040210"). `fraud` is 0/1 and
    `critical` 0/1/2 when the item was inspected, None otherwise. `revenue` is the revenue
    recovered by the inspection when the platform knows it (KCS data has none).
    """

    declaration_id: str
    date: dt.date
    office: str
    process_type: str
    import_type: str
    import_use: str
    payment_type: str
    transport_mode: str
    declarant_id: str
    importer_id: str
    seller_id: str | None
    courier_id: str | None
    hs6: str
    departure_country: str
    origin_country: str
    tax_rate: float  # percent, e.g. 8.0 for 8 %
    tax_type: str
    origin_indicator: str
    net_mass_kg: float
    value: float  # assessed customs value in the declaration currency (KRW for KCS)
    fraud: int | None = None
    critical: int | None = None
    revenue: float | None = None


COLUMNS: list[str] = [f.name for f in fields(ItemRecord)]
CATEGORICAL_COLUMNS: list[str] = [
    "declaration_id",
    "office",
    "process_type",
    "import_type",
    "import_use",
    "payment_type",
    "transport_mode",
    "declarant_id",
    "importer_id",
    "seller_id",
    "courier_id",
    "hs6",
    "departure_country",
    "origin_country",
    "tax_type",
    "origin_indicator",
]
NUMERIC_COLUMNS: list[str] = ["tax_rate", "net_mass_kg", "value", "revenue"]
LABEL_COLUMNS: list[str] = ["fraud", "critical"]

KCS_COLUMNS: dict[str, str] = {
    "Declaration ID": "declaration_id",
    "Date": "date",
    "Office ID": "office",
    "Process Type": "process_type",
    "Import Type": "import_type",
    "Import Use": "import_use",
    "Payment Type": "payment_type",
    "Mode of Transport": "transport_mode",
    "Declarant ID": "declarant_id",
    "Importer ID": "importer_id",
    "Seller ID": "seller_id",
    "Courier ID": "courier_id",
    "HS6 Code": "hs6",
    "Country of Departure": "departure_country",
    "Country of Origin": "origin_country",
    "Tax Rate": "tax_rate",
    "Tax Type": "tax_type",
    "Country of Origin Indicator": "origin_indicator",
    "Net Mass": "net_mass_kg",
    "Item Price": "value",
    "Fraud": "fraud",
    "Critical Fraud": "critical",
}


def _code(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].lstrip("-").isdigit():
        text = text[:-2]
    return text or None


def _clean_code(series: pd.Series) -> pd.Series:
    """Codes as plain strings; integer-looking floats lose their '.0'; blanks become None."""
    # A plain loop: cheaper than vectorised string ops for the one-row frames of live scoring.
    return pd.Series([_code(v) for v in series.tolist()], index=series.index, dtype=object)


def normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a frame with canonical column names to canonical dtypes; add missing columns."""
    out = pd.DataFrame(index=frame.index)
    for col in COLUMNS:
        src = frame[col] if col in frame.columns else pd.Series(None, index=frame.index)
        if col == "date":
            out[col] = pd.to_datetime(src, errors="coerce")
        elif col in NUMERIC_COLUMNS:
            out[col] = pd.to_numeric(src, errors="coerce").astype(float)
        elif col in LABEL_COLUMNS:
            out[col] = pd.to_numeric(src, errors="coerce").astype("Int64")
        else:
            out[col] = _clean_code(src)
    # HS codes lose their leading zero when a CSV reader parses them as integers.
    out["hs6"] = pd.Series(
        [v.zfill(6) if isinstance(v, str) else v for v in out["hs6"].tolist()],
        index=out.index,
        dtype=object,
    )
    return out.reset_index(drop=True)


def read_kcs(path: str | Path) -> pd.DataFrame:
    """Read a KCS customs-declaration CSV (train.csv / valid.csv layout) as a canonical frame."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=True)
    missing = [
        c for c in KCS_COLUMNS if c not in raw.columns and c not in ("Fraud", "Critical Fraud")
    ]
    if missing:
        raise ValueError(f"{path}: not a KCS file, missing columns {missing}")
    return normalize(raw.rename(columns=KCS_COLUMNS))


def records_to_frame(records: Iterable[ItemRecord | Mapping[str, Any]]) -> pd.DataFrame:
    """Canonical frame from ItemRecord objects or dicts keyed by canonical column names."""
    rows = [asdict(r) if isinstance(r, ItemRecord) else dict(r) for r in records]
    return normalize(pd.DataFrame(rows, columns=COLUMNS))


def frame_to_records(frame: pd.DataFrame) -> list[ItemRecord]:
    """Inverse of `records_to_frame` (missing values and absent label columns become None)."""

    def clean(value: Any) -> Any:
        if value is None or value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, pd.Timestamp):
            return value.date()
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return float(value)
        return value

    present = [c for c in COLUMNS if c in frame.columns]
    return [
        ItemRecord(**{c: clean(v) for c, v in zip(present, row, strict=True)})
        for row in frame[present].itertuples(index=False, name=None)
    ]

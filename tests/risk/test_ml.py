"""Tests of the learned risk model pipeline on small synthetic data (no database)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk.ml import metrics
from risk.ml.features import RiskFeatures
from risk.ml.model import RiskModel
from risk.ml.records import COLUMNS, ItemRecord, frame_to_records, read_kcs, records_to_frame

PRICE_FEATURES = {"log_price_ratio", "price_z", "log_unit_price"}


def synthetic(n: int, seed: int, start: str = "2020-01-01") -> pd.DataFrame:
    """Declarations where fraud is planted as undervaluation: unit price ~7x below normal."""
    rng = np.random.default_rng(seed)
    hs6 = rng.choice(["851712", "620822", "940350", "071080", "390110"], n)
    base_price = pd.Series(hs6).map(
        {"851712": 500.0, "620822": 40.0, "940350": 8.0, "071080": 1.5, "390110": 3.0}
    )
    fraud = rng.random(n) < 0.2
    mass = np.round(rng.lognormal(4, 1.5, n), 1) + 0.1
    factor = np.where(fraud, rng.uniform(0.1, 0.18, n), rng.uniform(0.7, 1.4, n))
    value = np.round(base_price.to_numpy() * mass * factor, 2)
    dates = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, 180, n), unit="D")
    frame = pd.DataFrame(
        {
            "declaration_id": [f"D{seed}-{i}" for i in range(n)],
            "date": dates,
            "office": rng.choice(["10", "20", "30"], n),
            "process_type": "B",
            "import_type": "11",
            "import_use": "21",
            "payment_type": rng.choice(["11", "43"], n),
            "transport_mode": rng.choice(["10", "40"], n),
            "declarant_id": rng.choice([f"DC{i}" for i in range(20)], n),
            "importer_id": rng.choice([f"IM{i}" for i in range(200)], n),
            "seller_id": rng.choice([f"SE{i}" for i in range(150)], n),
            "courier_id": None,
            "hs6": hs6,
            "departure_country": rng.choice(["CN", "VN", "US"], n),
            "origin_country": rng.choice(["CN", "VN", "US"], n),
            "tax_rate": rng.choice([0.0, 8.0], n),
            "tax_type": "A",
            "origin_indicator": "Y",
            "net_mass_kg": mass,
            "value": value,
            "fraud": fraud.astype(int),
            "critical": fraud.astype(int),
        }
    )
    return records_to_frame(frame.to_dict("records"))


@pytest.fixture(scope="module")
def trained() -> tuple[RiskModel, pd.DataFrame]:
    train = synthetic(2000, seed=1)
    test = synthetic(800, seed=2, start="2020-07-01")
    return RiskModel(seed=0, rounds=100).train(train), test


# ---- metrics ---------------------------------------------------------------------------------


def test_top_k_uses_ceiling() -> None:
    assert metrics.top_k(0.05, 100) == 5
    assert metrics.top_k(0.01, 150) == 2
    assert metrics.top_k(0.01, 10) == 1


def test_precision_recall_revenue_at_rate() -> None:
    y = np.zeros(100)
    y[[0, 1, 2, 3, 50, 60]] = 1
    scores = np.linspace(1, 0, 100)  # row 0 ranked first
    assert metrics.precision_at(y, scores, 0.05) == pytest.approx(0.8)
    assert metrics.recall_at(y, scores, 0.05) == pytest.approx(4 / 6)
    assert metrics.precision_at(y, scores, 0.01) == 1.0
    assert metrics.recall_at(y, scores, 0.10) == pytest.approx(4 / 6)
    value = np.full(100, 1000.0)
    tax = np.full(100, 10.0)
    revenue = metrics.fraud_revenue(y, value, tax)
    assert revenue.sum() == pytest.approx(600.0)
    caught, share = metrics.revenue_at(revenue, scores, 0.05)
    assert caught == pytest.approx(400.0)
    assert share == pytest.approx(4 / 6)


def test_roc_auc_known_values() -> None:
    y = np.array([0, 0, 1, 1])
    assert metrics.roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert metrics.roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert metrics.roc_auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert metrics.roc_auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == 0.75


def test_selection_report_shape() -> None:
    y = np.array([1, 0] * 50)
    report = metrics.selection_report(y, np.arange(100)[::-1], np.ones(100))
    assert set(report["at"]) == {"1%", "2%", "5%", "10%"}
    assert set(report["at"]["5%"]) == {"precision", "recall", "revenue", "revenue_share"}


# ---- records ---------------------------------------------------------------------------------


def test_read_kcs(tmp_path: Path) -> None:
    path = tmp_path / "kcs.csv"
    path.write_text(
        "Declaration ID,Date,Office ID,Process Type,Import Type,Import Use,Payment Type,"
        "Mode of Transport,Declarant ID,Importer ID,Seller ID,Courier ID,HS6 Code,"
        "Country of Departure,Country of Origin,Tax Rate,Tax Type,"
        "Country of Origin Indicator,Net Mass,Item Price,Fraud,Critical Fraud\n"
        "97061800,2020-01-01,30,B,11,21,11,10,ZZR1LT6,QLRUBN9,0VKY2BR,,440890,BE,BE,0.0,FEU1,"
        "G,108.0,372254.4,0,0\n"
        "38459034,2020-01-02,40,B,11,21,11,10,OZB7KED,2EIESGV,,W6UCD9,71080,SG,CN,8.0,C,"
        "S,2.0,29078.8,1,2\n"
    )
    frame = read_kcs(path)
    assert list(frame.columns) == COLUMNS
    assert frame["hs6"].tolist() == ["440890", "071080"]
    assert frame["office"].tolist() == ["30", "40"]
    assert frame["seller_id"].tolist()[1] is None
    assert frame["courier_id"].tolist() == [None, "W6UCD9"]
    assert frame["fraud"].tolist() == [0, 1]
    assert frame["critical"].tolist() == [0, 2]
    assert frame["value"].iloc[0] == pytest.approx(372254.4)
    assert frame["date"].iloc[1] == pd.Timestamp("2020-01-02")
    record = frame_to_records(frame)[1]
    assert isinstance(record, ItemRecord)
    assert record.hs6 == "071080" and record.tax_rate == 8.0 and record.critical == 2


# ---- features --------------------------------------------------------------------------------


def _tiny_train() -> pd.DataFrame:
    rows = []
    for i in range(12):
        rows.append(
            {
                "declaration_id": f"T{i}",
                "date": f"2020-0{1 + i % 3}-1{i % 9}",
                "office": "10",
                "process_type": "B",
                "import_type": "11",
                "import_use": "21",
                "payment_type": "11",
                "transport_mode": "40",
                "declarant_id": "DC1",
                "importer_id": "BAD" if i < 6 else f"GOOD{i}",
                "seller_id": "S1",
                "courier_id": None,
                "hs6": "851712",
                "departure_country": "CN",
                "origin_country": "CN",
                "tax_rate": 8.0,
                "tax_type": "A",
                "origin_indicator": "Y",
                "net_mass_kg": 2.0,
                "value": 20.0,  # unit price 10 per kg
                "fraud": 1 if i < 6 else 0,
                "critical": 0,
            }
        )
    return records_to_frame(rows)


def _new_row(**changes: object) -> pd.DataFrame:
    row = _tiny_train().iloc[0].to_dict() | {"declaration_id": "NEW", "date": "2020-04-01"}
    row.update(changes)
    return records_to_frame([row])


def test_unit_price_ratio_against_hs6_origin_reference() -> None:
    pipe = RiskFeatures().fit(_tiny_train())
    feats = pipe.transform(_new_row(value=4.0, net_mass_kg=2.0))  # unit price 2 vs 10
    assert feats["log_price_ratio"].iloc[0] == pytest.approx(math.log(0.2))
    assert feats["price_ref_level"].iloc[0] == 0  # HS6 + origin reference was used


def test_price_reference_falls_back_to_hs4() -> None:
    pipe = RiskFeatures().fit(_tiny_train())
    feats = pipe.transform(_new_row(hs6="851799", origin_country="VN", value=200.0))
    assert feats["price_ref_level"].iloc[0] == 2  # HS4 8517
    assert feats["log_price_ratio"].iloc[0] == pytest.approx(math.log(10.0))


def test_unseen_trader_gets_prior_and_zero_count() -> None:
    train = _tiny_train()
    pipe = RiskFeatures(smoothing=5.0).fit(train)
    feats = pipe.transform(_new_row(importer_id="NEVER_SEEN", seller_id=None))
    assert feats["cnt_importer"].iloc[0] == 0
    assert feats["te_importer"].iloc[0] == pytest.approx(0.5)  # the training fraud rate
    bad = pipe.transform(_new_row(importer_id="BAD"))
    assert bad["cnt_importer"].iloc[0] == 6
    assert bad["te_importer"].iloc[0] == pytest.approx((6 + 0.5 * 5) / (6 + 5))
    assert list(feats.columns) == pipe.feature_names_


def test_transform_never_reads_labels() -> None:
    pipe = RiskFeatures().fit(_tiny_train())
    frame = _new_row()
    flipped = frame.assign(fraud=1 - frame["fraud"], critical=2)
    unlabelled = frame.drop(columns=["fraud", "critical", "revenue"])
    a, b, c = (pipe.transform(f) for f in (frame, flipped, unlabelled))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_training_encodings_are_out_of_fold() -> None:
    train = _tiny_train()
    train.loc[0, "importer_id"] = "ONCE"  # a fraud row whose importer appears nowhere else
    feats = RiskFeatures(smoothing=5.0).fit_transform(train)
    assert feats.loc[0, "cnt_importer"] == 0  # counts the other rows only
    # Its own fraud label must not raise its importer's rate above the out-of-fold prior.
    others = train.loc[pd.to_datetime(train["date"]).dt.month != 1, "fraud"].astype(float)
    assert feats.loc[0, "te_importer"] == pytest.approx(others.mean())


# ---- model -----------------------------------------------------------------------------------


def test_model_learns_planted_pattern(trained: tuple[RiskModel, pd.DataFrame]) -> None:
    model, test = trained
    scores = model.predict_proba(test.drop(columns=["fraud", "critical"]))
    y = test["fraud"].to_numpy(dtype=int)
    assert metrics.roc_auc(y, scores) > 0.9
    random_auc = metrics.roc_auc(y, np.random.default_rng(0).random(len(y)))
    assert metrics.roc_auc(y, scores) > random_auc + 0.3
    assert metrics.precision_at(y, scores, 0.05) > 2 * y.mean()


def test_explain_names_planted_feature(trained: tuple[RiskModel, pd.DataFrame]) -> None:
    model, test = trained
    fraud_row = test[test["fraud"] == 1].iloc[[0]]
    reasons = model.explain(frame_to_records(fraud_row)[0], top=3)
    assert 1 <= len(reasons) <= 3
    assert reasons[0]["feature"] in PRICE_FEATURES
    assert "unit price" in reasons[0]["text"] and "below reference" in reasons[0]["text"]
    assert all(r["contribution"] > 0 for r in reasons)


def test_save_load_round_trip_and_single_record(trained: tuple[RiskModel, pd.DataFrame]) -> None:
    model, test = trained
    blob = model.to_bytes()
    loaded = RiskModel.from_bytes(blob)
    batch = model.predict_proba(test)
    np.testing.assert_array_equal(batch, loaded.predict_proba(test))
    single = loaded.predict_proba(frame_to_records(test.iloc[[7]])[0])
    assert single[0] == pytest.approx(batch[7], rel=1e-9)
    as_dict = loaded.predict_proba(test.iloc[7].to_dict())
    assert as_dict[0] == pytest.approx(batch[7], rel=1e-9)

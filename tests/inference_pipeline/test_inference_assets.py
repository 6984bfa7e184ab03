"""Batch inference and monitoring assets on a temporary warehouse with a real champion.

The feature store is a stand-in table ``features.passenger_features`` filled with synthetic
passengers from the project's generator (learned from the real titanic3 list), put through the
real ``build_features``; the champion is a small XGBoost model trained on the historical list
and registered through the real registry. The helpers at the top are reused by the sensor,
predict and CLI tests.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from titanic_assets import names
from titanic_assets.core.drift import feature_profile
from titanic_assets.core.features import FEATURE_COLUMNS, build_features
from titanic_assets.core.generator import DriftSpec, PassengerGenerator
from titanic_assets.core.metrics import classification_metrics
from titanic_assets.core.model import (
    TrainingParams,
    holdout_mask,
    model_to_bytes,
    predict_proba,
    train_model,
)
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.resources import warehouse_resources
from titanic_assets.data_layer.warehouse import connect, ensure_schemas
from titanic_assets.inference_pipeline import checks
from titanic_assets.inference_pipeline.assets import model_performance, predictions

DAY = "2026-11-05"
NEXT_DAY = "2026-11-06"
EMPTY_DAY = "2026-11-09"
DRIFT_DAY = "2026-11-07"
PER_HOUR = 12
FAST_PARAMS = TrainingParams(n_estimators=60)


# --- helpers (shared with the other inference tests) -------------------------------------------


def seed_champion(path: str, historical: pd.DataFrame, run_id: str | None = "test-run") -> int:
    """Train a small model on the historical passengers, register and promote it."""
    features = build_features(historical)
    in_holdout = holdout_mask(features["passenger_id"])
    train, holdout = features[~in_holdout], features[in_holdout]
    model = train_model(train, FAST_PARAMS)
    metrics = classification_metrics(
        holdout["survived"].to_numpy(), predict_proba(model, holdout, list(FEATURE_COLUMNS))
    )
    with connect(path) as conn:
        version = registry.register_version(
            conn,
            model_bytes=model_to_bytes(model),
            params=FAST_PARAMS.to_dict(),
            features=list(FEATURE_COLUMNS),
            metrics=metrics,
            training_rows=len(train),
            training_cutoff=train["event_time"].max(),
            training_data_hash="test",
            training_profile=feature_profile(train, FEATURE_COLUMNS),
            run_id=run_id,
        )
        registry.promote(conn, version, "test champion", run_id=run_id)
    return version


def generate_day(
    historical: pd.DataFrame, day: str, hours: int = 24, drift: DriftSpec | None = None
) -> pd.DataFrame:
    """Synthetic passengers for ``hours`` hours of ``day`` (normalised passenger rows)."""
    generator = _generator(historical)
    start = datetime.strptime(day, "%Y-%m-%d")
    frames = [
        generator.generate(start + timedelta(hours=h), PER_HOUR, drift=drift) for h in range(hours)
    ]
    return pd.concat(frames, ignore_index=True)


def replay_day(
    historical: pd.DataFrame, day: str, n: int | None = None, prefix: str = "replay"
) -> pd.DataFrame:
    """Holdout passengers of the real list, re-timestamped across ``day`` with new ids.

    Real passengers the champion never trained on: no drift by construction, and accuracy
    comparable to the model's holdout accuracy.
    """
    holdout = historical[holdout_mask(historical["passenger_id"])].reset_index(drop=True)
    if n is not None:
        holdout = holdout.head(n)
    start = pd.Timestamp(day)
    step = pd.Timedelta(days=1) / max(len(holdout), 1)
    out = holdout.copy()
    out["event_time"] = [start + i * step for i in range(len(out))]
    out["event_time"] = out["event_time"].astype("datetime64[us]")
    out["passenger_id"] = [f"{prefix}-{day}-{i:05d}" for i in range(len(out))]
    out["source"] = "synthetic"
    out["batch_id"] = out["event_time"].dt.strftime("%Y-%m-%d-%H:00")
    return out


_GENERATORS: dict[int, PassengerGenerator] = {}


def _generator(historical: pd.DataFrame) -> PassengerGenerator:
    key = id(historical)
    if key not in _GENERATORS:
        _GENERATORS[key] = PassengerGenerator.fit(historical)
    return _GENERATORS[key]


def add_to_feature_store(path: str, passengers: pd.DataFrame) -> pd.DataFrame:
    """Append passengers' features to a stand-in ``features.passenger_features`` table."""
    features = build_features(passengers)
    with connect(path) as conn:
        ensure_schemas(conn)
        conn.register("new_rows", features)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS features.passenger_features AS "
            "SELECT * FROM new_rows LIMIT 0"
        )
        conn.execute("INSERT INTO features.passenger_features BY NAME SELECT * FROM new_rows")
        conn.unregister("new_rows")
    return features


def run_inference(path: str, day: str, instance=None, raise_on_error: bool = True):
    return dg.materialize(
        [predictions, model_performance],
        partition_key=day,
        resources=warehouse_resources(path),
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )


def read_table(path: str, sql: str, params: list | None = None) -> pd.DataFrame:
    with connect(path, read_only=True) as conn:
        return conn.execute(sql, params or []).df()


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def seeded(warehouse, historical_passengers):
    """A warehouse with a champion, a full DAY and a few passengers of NEXT_DAY."""
    version = seed_champion(warehouse, historical_passengers)
    day = replay_day(historical_passengers, DAY)
    next_day = replay_day(historical_passengers, NEXT_DAY, n=30)
    add_to_feature_store(warehouse, pd.concat([day, next_day], ignore_index=True))
    return {"path": warehouse, "version": version, "day": day, "next_day": next_day}


# --- tests -----------------------------------------------------------------------------------


def test_scores_only_the_partition_day_with_the_champion(seeded) -> None:
    result = run_inference(seeded["path"], DAY)
    assert result.success
    rows = read_table(seeded["path"], "SELECT * FROM inference.predictions")
    assert len(rows) == len(seeded["day"]) > 200
    assert set(rows["passenger_id"]) == set(seeded["day"]["passenger_id"])
    assert rows["event_time"].min() >= pd.Timestamp(DAY)
    assert rows["event_time"].max() < pd.Timestamp(NEXT_DAY)
    assert set(rows["model_version"]) == {seeded["version"]}
    assert set(rows["predicted_survived"]) <= {0, 1}
    metadata = result.asset_materializations_for_node(names.PREDICTIONS_OP)[0].metadata
    assert metadata["model_version"].value == seeded["version"]
    assert "dagster/column_lineage" in metadata
    # Written by batch scoring, not the I/O manager: row count and schema still on the asset.
    assert metadata["dagster/partition_row_count"].value == len(rows)
    schema = metadata["dagster/column_schema"].value
    assert [c.name for c in schema.columns] == list(rows.columns)
    assert "latest_passenger" in metadata and "recent_predictions" in metadata


def test_rerun_replaces_the_day_without_duplicates(seeded) -> None:
    run_inference(seeded["path"], DAY)
    run_inference(seeded["path"], NEXT_DAY)
    run_inference(seeded["path"], DAY)
    rows = read_table(seeded["path"], "SELECT * FROM inference.predictions")
    assert len(rows) == len(seeded["day"]) + len(seeded["next_day"])
    assert rows["passenger_id"].is_unique
    perf = read_table(seeded["path"], "SELECT * FROM monitoring.model_performance")
    assert len(perf) == 2 and perf["day"].is_unique


def test_predictions_equal_training_feature_function(seeded) -> None:
    """Skew-free: batch scores equal predict_proba on build_features of the raw passengers."""
    run_inference(seeded["path"], DAY)
    with connect(seeded["path"], read_only=True) as conn:
        _, model = registry.load_champion(conn)
    expected = pd.DataFrame(
        {
            "passenger_id": seeded["day"]["passenger_id"],
            "expected": predict_proba(model, build_features(seeded["day"]), list(FEATURE_COLUMNS)),
        }
    )
    rows = read_table(seeded["path"], "SELECT * FROM inference.predictions").merge(
        expected, on="passenger_id"
    )
    assert len(rows) == len(seeded["day"])
    np.testing.assert_allclose(rows["survival_probability"], rows["expected"], rtol=0, atol=1e-7)


def test_monitoring_accuracy_on_unseen_passengers(seeded) -> None:
    result = run_inference(seeded["path"], DAY)
    perf = read_table(seeded["path"], "SELECT * FROM monitoring.model_performance")
    row = perf.iloc[0]
    assert row["n_predictions"] == row["n_labelled"] == len(seeded["day"])
    assert row["model_version"] == seeded["version"]
    assert row["tn"] + row["fp"] + row["fn"] + row["tp"] == row["n_labelled"]
    # Holdout passengers: accuracy near the model's holdout figure, far above the 0.62 baseline.
    assert 0.70 <= row["accuracy"] <= 0.95, row["accuracy"]
    assert row["max_psi"] < 0.25, row["psi_by_feature"]
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} == {
        checks.ACCURACY_CHECK,
        checks.DRIFT_CHECK,
        checks.CALIBRATION_CHECK,
        checks.SEGMENT_CHECK,
    }
    # Real holdout passengers: accurate, undrifted and calibrated (segments may warn: first-class
    # men are hard to call on any day).
    assert all(e.passed for e in evaluations if e.check_name != checks.SEGMENT_CHECK)
    assert all(e.severity == dg.AssetCheckSeverity.WARN for e in evaluations)
    metadata = result.asset_materializations_for_node(names.PERFORMANCE_OP)[0].metadata
    for key in ("accuracy", "max_psi", "confusion_matrix", "psi_by_feature", "rolling_accuracy",
                "brier", "ece", "reliability_diagram", "segments"):  # fmt: skip
        assert key in metadata
    print(f"replayed-holdout-day accuracy {row['accuracy']:.3f}, max PSI {row['max_psi']:.3f}")
    segment = next(e for e in evaluations if e.check_name == checks.SEGMENT_CHECK)
    print(f"replayed-holdout-day segments: {segment.description}")


def test_drifted_day_is_reported_by_the_drift_check(warehouse, historical_passengers) -> None:
    seed_champion(warehouse, historical_passengers)
    drift = DriftSpec(pclass_weights={1: 6.0}, age_shift_years=15.0)
    add_to_feature_store(warehouse, generate_day(historical_passengers, DRIFT_DAY, drift=drift))
    result = run_inference(warehouse, DRIFT_DAY)
    assert result.success  # WARN checks never fail the run
    row = read_table(warehouse, "SELECT * FROM monitoring.model_performance").iloc[0]
    assert row["max_psi"] > 0.25, row["psi_by_feature"]
    drift_eval = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == checks.DRIFT_CHECK
    )
    assert not drift_eval.passed
    assert drift_eval.severity == dg.AssetCheckSeverity.WARN
    print(f"drifted-day max PSI {row['max_psi']:.3f} on {row['max_psi_feature']}")


def test_day_without_passengers_is_an_empty_partition_with_a_reason(seeded) -> None:
    result = run_inference(seeded["path"], EMPTY_DAY)
    assert result.success
    metadata = result.asset_materializations_for_node(names.PREDICTIONS_OP)[0].metadata
    assert "no certified passengers" in metadata["reason"].value
    rows = read_table(seeded["path"], "SELECT count(*) AS n FROM inference.predictions")
    assert rows["n"].iloc[0] == 0
    # The empty first write created typed tables: a real day can follow.
    assert run_inference(seeded["path"], DAY).success
    rows = read_table(seeded["path"], "SELECT count(*) AS n FROM inference.predictions")
    assert rows["n"].iloc[0] == len(seeded["day"])


def test_no_champion_fails_with_a_clear_message(warehouse, historical_passengers) -> None:
    add_to_feature_store(warehouse, generate_day(historical_passengers, DAY, hours=1))
    result = run_inference(warehouse, DAY, raise_on_error=False)
    assert not result.success
    failure = _failure_message(result)
    assert "training_pipeline" in failure


def test_corrupted_champion_is_refused(seeded) -> None:
    with connect(seeded["path"]) as conn:
        conn.execute("UPDATE models.model_versions SET artifact = ?", [b"not a model"])
    result = run_inference(seeded["path"], DAY, raise_on_error=False)
    assert not result.success
    assert "SHA-256" in _failure_message(result)
    assert (
        read_table(
            seeded["path"],
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'predictions'",
        )["n"].iloc[0]
        == 0
    )


def _failure_message(result) -> str:
    events = [e for e in result.all_events if e.is_step_failure]
    assert events
    return events[0].step_failure_data.error.message


def test_feature_store_missing_a_model_input_fails_naming_it(seeded) -> None:
    with connect(seeded["path"]) as conn:
        conn.execute("ALTER TABLE features.passenger_features DROP COLUMN fare")
    result = run_inference(seeded["path"], DAY, raise_on_error=False)
    assert not result.success
    message = _failure_message(result)
    assert "fare" in message and f"model version {seeded['version']}" in message

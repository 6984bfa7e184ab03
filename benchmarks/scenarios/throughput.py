"""Scenario 3: throughput of the pipelines against what DuckDB and XGBoost do on their own.

* Feature pipeline: passengers/s of the Dagster ``feature_pipeline`` run (generate, validate,
  features, both writes, both GX suites, ledger, view) against DuckDB inserting the same two
  frames (passengers and features) into fresh tables (connect, insert, close).
* Batch scoring: passengers/s of the ``predictions`` step (read the day's features, score,
  write predictions) against XGBoost's bare ``predict_proba`` on the same rows.

The pipeline timings come from the 1M-passenger repetitions of the overhead scenario (same
runs, so no extra minutes); the limits are measured here, each the median of ``reps`` runs.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from benchmarks.common import DAY, HOUR, SEED, median
from titanic_assets.core.features import build_features
from titanic_assets.core.generator import PassengerGenerator
from titanic_assets.core.predict import score_features
from titanic_assets.core.schema import PASSENGER_COLUMNS, validate_passengers
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.warehouse import connect


def bare_insert_seconds(scratch: Path, frames: list, reps: int) -> float:
    times = []
    for rep in range(reps):
        path = scratch / f"bare_insert_{rep}.duckdb"
        for suffix in ("", ".wal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        started = time.perf_counter()
        with connect(str(path)) as conn:
            for i, frame in enumerate(frames):
                conn.register("_bare", frame)
                conn.execute(f"CREATE TABLE t{i} AS SELECT * FROM _bare LIMIT 0")
                conn.execute(f"INSERT INTO t{i} SELECT * FROM _bare")
                conn.unregister("_bare")
        times.append(time.perf_counter() - started)
        path.unlink(missing_ok=True)
    return median(times)


def bare_predict_seconds(warehouse: str, reps: int) -> tuple[float, int]:
    with connect(warehouse, read_only=True) as conn:
        features = conn.execute(
            "SELECT * FROM features.passenger_features WHERE event_time >= ? AND event_time < ?",
            [DAY, DAY + timedelta(days=1)],
        ).df()
        version, model = registry.load_champion(conn)
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        score_features(model, features, version.features)
        times.append(time.perf_counter() - started)
    return median(times), len(features)


def run(scratch: Path, template: Path, dagster_warehouse: str, n: int, overhead: dict, reps: int):
    runs = overhead["runs"][str(n)]
    feature_s = runs["dagster_stages_s"]["feature_pipeline"]
    predictions_s = runs["dagster_stages_s"]["predictions_step"]
    with connect(str(template), read_only=True) as conn:
        historical = conn.execute("SELECT * FROM features.historical_passengers").df()
    generator = PassengerGenerator.fit(historical[list(PASSENGER_COLUMNS)])
    passengers, _ = validate_passengers(generator.generate(HOUR, n, seed=SEED))
    features = build_features(passengers)
    insert_s = bare_insert_seconds(scratch, [passengers, features], reps)
    predict_s, scored_rows = bare_predict_seconds(dagster_warehouse, reps)
    return {
        "feature_throughput_vs_limit": insert_s / feature_s,
        "scoring_throughput_vs_limit": predict_s / predictions_s,
        "feature_pipeline_passengers_per_s": n / feature_s,
        "bare_insert_passengers_per_s": n / insert_s,
        "scoring_passengers_per_s": scored_rows / predictions_s,
        "bare_predict_passengers_per_s": scored_rows / predict_s,
        "feature_pipeline_s": feature_s,
        "bare_insert_s": insert_s,
        "predictions_step_s": predictions_s,
        "bare_predict_s": predict_s,
        "rows": n,
        "reps": reps,
    }

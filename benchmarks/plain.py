"""The plain baseline: the full cycle with pandas, DuckDB and XGBoost, and no Dagster.

It does the same work as the three Dagster jobs, with the same library code (generator,
``build_features``, the GX suites, the model functions, the registry, batch scoring, the
monitoring step's :func:`~titanic_assets.data_layer.day_monitoring.monitor_scored_day`) and
writes the same warehouse tables, written to be as fast as it fairly can: every frame stays in
memory between steps (no re-reading what was just written), one connection per stage, no UI
metadata other than the charts the assets draw, drawn through the same
:mod:`titanic_assets.core.figures` functions (equal work by construction).

Run on its own::

    python -m benchmarks.plain --warehouse /tmp/w.duckdb --passengers 100000

(the warehouse must already hold the historical backfill; ``benchmarks.run`` prepares one).
:func:`cycle_as_process` runs exactly that command and times it from outside, interpreter start
and imports included: the plain script as a user runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta

import pandas as pd

from benchmarks.common import CUTOFF, DAY, HOUR, MODEL, ROOT, SEED, Stopwatch
from titanic_assets import names, settings
from titanic_assets.core import figures, monitoring, quality, segments
from titanic_assets.core.backfill import synthetic_hour
from titanic_assets.core.features import build_features
from titanic_assets.core.model import TrainingParams
from titanic_assets.core.training import fit_and_evaluate
from titanic_assets.core.training_set import (
    assign_splits,
    content_hash,
    parse_cutoff,
    validate_training_rows,
    widen_window,
)
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.batch_scoring import score_day
from titanic_assets.data_layer.day_monitoring import MonitoredDay, monitor_scored_day
from titanic_assets.data_layer.feature_store import (
    SYNTHETIC_FEATURES,
    batch_rows_sql,
    ensure_feature_store,
    record_suite_results,
    withdraw_certificates,
)
from titanic_assets.data_layer.training_store import champion_window_start, read_training_rows
from titanic_assets.data_layer.validation import validate_batch_in_warehouse
from titanic_assets.data_layer.warehouse import connect, transaction


def write_slice(conn, table: str, frame: pd.DataFrame, where: str | None, params=()) -> None:
    """Replace the rows of ``table`` matching ``where`` (all rows if None) by ``frame``, atomically."""
    conn.register("_plain_frame", frame)
    try:
        with transaction(conn):
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM _plain_frame LIMIT 0"
            )
            conn.execute(
                f"DELETE FROM {table}" + (f" WHERE {where}" if where else ""), list(params)
            )
            conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _plain_frame")
    finally:
        conn.unregister("_plain_frame")


def _schemas(conn) -> None:
    for schema in names.SCHEMAS:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")


# --- feature pipeline: one hour ---------------------------------------------------------------


def feature_run(db: str, n: int, hour: datetime = HOUR, sw: Stopwatch | None = None) -> dict:
    sw = sw or Stopwatch()
    run_id = f"plain-{uuid.uuid4().hex[:12]}"
    batch = hour.strftime(names.HOUR_BATCH_FORMAT)
    start, end = hour, hour + timedelta(hours=1)
    with sw.lap("generate"):
        with connect(db) as conn:
            historical = conn.execute(f"SELECT * FROM {names.HISTORICAL_PASSENGERS_TABLE}").df()
        accepted, _ = synthetic_hour(historical, hour, n, seed=SEED)
    with sw.lap("features"):
        features = build_features(accepted)
    with sw.lap("write"):
        window = "event_time >= ? AND event_time < ?"
        with connect(db) as conn:
            _schemas(conn)
            withdraw_certificates(conn, [batch])
            write_slice(conn, names.SYNTHETIC_PASSENGERS_TABLE, accepted, window, (start, end))
            write_slice(conn, SYNTHETIC_FEATURES, features, window, (start, end))
            ensure_feature_store(conn)
    with sw.lap("checks"), connect(db) as conn:  # judged where it was written, as the checks do
        results = validate_batch_in_warehouse(conn, batch_rows_sql(SYNTHETIC_FEATURES, batch))
        record_suite_results(
            conn, {batch: results}, asset="/".join(names.SYNTHETIC_FEATURES), run_id=run_id
        )
    if not results[quality.INTEGRITY].success:
        raise RuntimeError(f"integrity suite failed for {batch}")
    return {"rows": len(accepted), "passengers": accepted, "features": features}


# --- training pipeline --------------------------------------------------------------------------


def training_run(db: str, cutoff: str = CUTOFF, model: dict | None = None, sw=None) -> dict:
    sw = sw or Stopwatch()
    settings = dict(MODEL if model is None else model)
    folds_wanted = settings.pop("cv_folds", 5)
    params = TrainingParams(**settings)
    run_id = f"plain-{uuid.uuid4().hex[:12]}"
    with sw.lap("read"):
        with connect(db) as conn:
            frame = read_training_rows(conn, parse_cutoff(cutoff))
            start = champion_window_start(conn)
        frame = assign_splits(frame, widen_window(frame["event_time"], start))
        validate_training_rows(frame, min_rows=2)
        frame.attrs.update(content_sha256=content_hash(frame), reason="plain benchmark")
    with sw.lap("train"):
        trained = fit_and_evaluate(frame, params, folds_wanted)
        registration = trained.registration(run_id)  # includes the drift profile
    with sw.lap("write"), connect(db) as conn:
        _schemas(conn)
        write_slice(conn, names.TRAINING_DATA_TABLE, frame, None)
        version = registry.register_version(conn, **registration)
        registry.decide_champion(conn, version, trained.judge(version), run_id=run_id)
        registry.champion_problems(conn)  # the champion check's rule
    with sw.lap("charts"):
        figures.training_figures(trained, version)
    return {"rows": len(frame), "version": version, "accuracy": trained.metrics["accuracy"]}


# --- inference pipeline: one day ----------------------------------------------------------------


def inference_run(db: str, day: datetime = DAY, sw: Stopwatch | None = None) -> dict:
    sw = sw or Stopwatch()
    run_id = f"plain-{uuid.uuid4().hex[:12]}"
    start, end = day, day + timedelta(days=1)
    # The same batch scoring as the predictions asset (numbers into XGBoost, ids joined back
    # in DuckDB, the day replaced in one transaction), timed as the asset's step is.
    with sw.lap("score"), connect(db) as conn:
        version, model = registry.load_champion(conn)
        scored = score_day(
            conn,
            start,
            end,
            model=model,
            version=version,
            run_id=run_id,
        )
    with sw.lap("monitoring"), connect(db) as conn:
        monitored = monitor_scored_day(conn, scored, start, end)
        check_rules(monitored)
        write_slice(
            conn, names.PERFORMANCE_TABLE, monitored.performance, "day >= ? AND day < ?",
            (start, end),
        )  # fmt: skip
    with sw.lap("charts"):
        live = figures.live_calibration(scored.scored)
        figures.day_figures(monitored.performance, monitored.history, monitored.other_days, live)
    return {"rows": scored.rows, "scored": scored}


def check_rules(monitored: MonitoredDay) -> None:
    """The rules of the monitoring asset's four WARN checks, applied to the day (equal work)."""
    config = settings.load()
    thresholds, model = config.thresholds(), config.model_thresholds()
    for row in monitored.performance.to_dict("records"):
        monitoring.accuracy_reasons(row, thresholds)
        monitoring.drift_reasons(row, thresholds)
        monitoring.calibration_reasons(row, model)
    segments.served_segment_reasons(
        monitored.performance, monitored.cells, model.segment_min_labelled, model.segment_margin
    )


def cycle(db: str, n: int, model: dict | None = None) -> dict[str, float]:
    """The full cycle; returns seconds per stage and ``total``."""
    times = {}
    for name, step in (
        ("feature_pipeline", lambda: feature_run(db, n)),
        ("training_pipeline", lambda: training_run(db, CUTOFF, model)),
        ("inference_pipeline", lambda: inference_run(db, DAY)),
    ):
        started = time.perf_counter()
        step()
        times[name] = time.perf_counter() - started
    times["total"] = sum(times.values())
    return times


def cycle_as_process(db: str, n: int) -> dict[str, float]:
    """The cycle as ``python -m benchmarks.plain`` in a new interpreter.

    ``total`` is the wall time the parent measures around the process (interpreter start, every
    import, the three stages, exit); the stage times the child reports are kept beside it, and
    ``process_s`` is what the process cost besides its stages (start, imports before the first
    stage, exit). Model settings: the benchmark's ``MODEL``, as in :func:`cycle`.
    """
    command = [sys.executable, "-m", "benchmarks.plain", "--warehouse", db, "--passengers", str(n)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"plain script exited {done.returncode}:\n{done.stderr[-2000:]}")
    stages = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        **{name: float(seconds) for name, seconds in stages.items() if name != "total"},
        "stages_total": float(stages["total"]),
        "process_s": wall - float(stages["total"]),
        "total": wall,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--passengers", type=int, default=10_000)
    args = parser.parse_args(argv)
    print(json.dumps(cycle(args.warehouse, args.passengers)))  # one line: the stage seconds
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

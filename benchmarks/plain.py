"""The plain baseline: the full cycle with pandas, DuckDB and XGBoost, and no Dagster.

It does the same work as the three Dagster jobs, with the same library code (generator,
``build_features``, the GX suites, the model functions, the registry, monitoring) and writes the
same warehouse tables, written to be as fast as it fairly can: every frame stays in memory
between steps (no re-reading what was just written), one connection per stage, no UI metadata
other than the charts the assets draw (drawn here too: equal work).

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
from titanic_assets.core import monitoring, plots, quality
from titanic_assets.core.backfill import synthetic_hour
from titanic_assets.core.features import build_features
from titanic_assets.core.model import TrainingParams, feature_importance
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
    with sw.lap("charts"):
        training_charts(trained, version)
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
    with sw.lap("monitoring"):
        profiles = {int(version.version): version.training_profile}
        performance = monitoring.monitor_scored(scored.scored, profiles)
        thresholds = settings.load().thresholds()
        for row in performance.to_dict("records"):  # the two WARN checks
            monitoring.accuracy_reasons(row, thresholds)
            monitoring.drift_reasons(row, thresholds)
        with connect(db) as conn:
            write_slice(
                conn,
                names.PERFORMANCE_TABLE,
                performance,
                "day >= ? AND day < ?",
                (start, end),
            )
    with sw.lap("charts"):
        charts(performance)
    return {"rows": scored.rows, "scored": scored}


def training_charts(trained, version: int) -> list[str]:
    """The two figures the registry asset draws for a new version (equal work in both arms):
    the holdout confusion matrix and the feature importance."""
    m = trained.metrics
    importance = feature_importance(trained.model)
    return [
        plots.confusion_matrix_md(
            m["tn"], m["fp"], m["fn"], m["tp"], f"v{version} holdout (n={m['n']})"
        ),
        plots.bar_chart_md(
            list(importance), list(importance.values()), "Feature importance", "gain share"
        ),
    ]


def charts(performance: pd.DataFrame) -> list[str]:
    """The four figures the monitoring asset draws for a day (equal work in both arms): the
    day's confusion matrix, drift per feature, the rolling accuracy line, and the confusion
    matrix of all labelled history (here: this day only, as on a fresh warehouse)."""
    if performance.empty:
        return []
    main = performance.sort_values("n_predictions").iloc[-1]
    counts = [int(main[k]) for k in ("tn", "fp", "fn", "tp")]
    psi = json.loads(main["psi_by_feature"]) if main["psi_by_feature"] else {}
    figures = [plots.confusion_matrix_md(*counts, title=f"Model v{int(main['model_version'])}")]
    if psi:
        figures.append(
            plots.bar_chart_md(list(psi), list(psi.values()), "Drift per feature", "PSI")
        )
    figures.append(
        plots.line_chart_md(
            [f"{pd.Timestamp(main['day']):%m-%d}"],
            {"accuracy": [float(main["accuracy"])], "max PSI": [float(main["max_psi"])]},
            title="Last 1 days",
            ylabel="accuracy / PSI",
        )
    )
    totals = [int(performance[k].sum()) for k in ("tn", "fp", "fn", "tp")]
    figures.append(plots.confusion_matrix_md(*totals, title="All labelled history, 1 days"))
    return figures


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

"""Scenario 2: does an hourly run cost the same on day 300 as on day 1?

Two warehouses that differ only in history: ``small`` holds one hour of ``per_hour`` synthetic
passengers, ``large`` holds ``hours`` such hours (5M passengers at 500 x 10k), all certified,
plus the same champion model (trained on the historical list). The history is built in
seconds: one generated hour, replicated hour by hour in DuckDB SQL (new ids, times and batch
ids), with its quality-ledger rows. Then, on each warehouse, the Dagster ``feature_pipeline``
run for one new hour of ``per_hour`` passengers and the ``inference_pipeline`` run for its day,
alternating warehouses, ``reps`` times. The ratio large/small should be ~1.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from benchmarks import plain
from benchmarks.common import copy_warehouse, median, spread
from benchmarks.dagster_arm import DagsterArm, hour_key
from titanic_assets import names
from titanic_assets.data_layer.warehouse import connect

HISTORY_START = datetime(2026, 11, 1, 0, 0)
#: The new hour: after the longest history (500 h from Nov 1 ends Nov 21 19:00), on its own day.
NEW_HOUR = datetime(2026, 11, 25, 12, 0)


def build_history(template: Path, target: Path, per_hour: int, hours: int) -> int:
    """``hours`` certified hours of ``per_hour`` passengers, and a champion; returns rows."""
    copy_warehouse(template, target)
    db = str(target)
    plain.training_run(db, cutoff="2026-10-31T00:00:00")  # champion from the historical list
    plain.feature_run(db, per_hour, HISTORY_START)  # hour 0, certified by the GX suites
    stamp = HISTORY_START.strftime("%Y%m%d%H")
    with connect(db) as conn:
        if hours > 1:
            conn.execute(f"CREATE TEMP TABLE hours AS SELECT range AS k FROM range(1, {hours})")
            for table in (names.SYNTHETIC_PASSENGERS_TABLE, names.SYNTHETIC_FEATURES_TABLE):
                conn.execute(
                    f"""INSERT INTO {table} BY NAME
                    SELECT t.* REPLACE (
                        replace(passenger_id, '{stamp}',
                                strftime(event_time + to_hours(k), '%Y%m%d%H')) AS passenger_id,
                        event_time + to_hours(k) AS event_time,
                        strftime(date_trunc('hour', event_time + to_hours(k)),
                                 '%Y-%m-%d-%H:00') AS batch_id)
                    FROM {table} AS t, hours
                    WHERE batch_id = '{HISTORY_START:%Y-%m-%d-%H:00}'"""
                )
            conn.execute(
                f"""INSERT INTO features.quality_results BY NAME
                SELECT q.* REPLACE (
                    strftime(TIMESTAMP '{HISTORY_START}' + to_hours(k), '%Y-%m-%d-%H:00')
                    AS batch_id)
                FROM features.quality_results AS q, hours
                WHERE batch_id = '{HISTORY_START:%Y-%m-%d-%H:00}'"""
            )
        rows = conn.execute("SELECT count(*) FROM features.passenger_features").fetchall()[0][0]
        conn.execute("CHECKPOINT")
    return int(rows)


def run(scratch: Path, template: Path, per_hour: int, hours: int, reps: int, log=print) -> dict:
    warehouses = {
        "small": scratch / "history_small.duckdb",
        "large": scratch / "history_large.duckdb",
    }
    sizes = {
        "small": build_history(template, warehouses["small"], per_hour, 1),
        "large": build_history(template, warehouses["large"], per_hour, hours),
    }
    arms = {name: DagsterArm(str(path)) for name, path in warehouses.items()}
    samples: dict[str, dict[str, list[float]]] = {
        name: {"features": [], "inference": []} for name in arms
    }
    for rep in range(reps):
        order = ("small", "large") if rep % 2 == 0 else ("large", "small")
        for name in order:
            f = arms[name].feature_run(per_hour, hour_key(NEW_HOUR))
            i, _ = arms[name].inference_run(NEW_HOUR.strftime("%Y-%m-%d"))
            samples[name]["features"].append(f)
            samples[name]["inference"].append(i)
            log(
                f"  incremental {name:<5} ({sizes[name]:>9} rows) rep {rep + 1}/{reps}: "
                f"features {f:5.2f} s, inference {i:5.2f} s"
            )
    med = {n: {k: median(v) for k, v in s.items()} for n, s in samples.items()}
    return {
        "incremental_ratio_features": med["large"]["features"] / med["small"]["features"],
        "incremental_ratio_inference": med["large"]["inference"] / med["small"]["inference"],
        "history_rows": sizes,
        "new_hour_passengers": per_hour,
        "median_s": med,
        "spread": {n: {k: spread(v) for k, v in s.items()} for n, s in samples.items()},
        "reps": reps,
        "new_hour": NEW_HOUR.isoformat(),
    }

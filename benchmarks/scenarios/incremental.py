"""Scenario 2: does an hourly run cost the same on day 300 as on day 1?

Two warehouses that differ only in history: ``small`` holds one hour of ``per_hour`` synthetic
passengers, ``large`` holds ``hours`` such hours (5M passengers at 500 x 10k), all certified,
plus the same champion model (trained on the historical list). The history is built in
seconds: one generated hour, replicated hour by hour in DuckDB SQL (new ids, times and batch
ids), with its quality-ledger rows. Both warehouses also hold a shadow challenger (a second
model version, not promoted), and every history hour is scored already: the champion's
predictions and the shadow's rows, as the daily runs would have left them. Then, on each
warehouse, the Dagster ``feature_pipeline`` run for one new hour of ``per_hour`` passengers and
the ``inference_pipeline`` run for its day (champion and shadow scoring, monitoring), alternating
warehouses, ``reps`` times. The ratio large/small should be ~1: the day's writes and deletes of
predictions and shadow rows must not grow with the history's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from benchmarks import plain
from benchmarks.common import copy_warehouse, median, spread
from benchmarks.dagster_arm import DagsterArm, hour_key
from titanic_assets import names
from titanic_assets.core.model import model_to_bytes
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.batch_scoring import ensure_predictions_table
from titanic_assets.data_layer.shadow_scoring import ensure_shadow_table
from titanic_assets.data_layer.warehouse import connect

HISTORY_START = datetime(2026, 11, 1, 0, 0)
#: The new hour: after the longest history (500 h from Nov 1 ends Nov 21 19:00), on its own day.
NEW_HOUR = datetime(2026, 11, 25, 12, 0)


def build_history(template: Path, target: Path, per_hour: int, hours: int) -> int:
    """``hours`` certified hours of ``per_hour`` passengers, scored by a champion and a shadow
    challenger; returns the feature rows."""
    copy_warehouse(template, target)
    db = str(target)
    plain.training_run(db, cutoff="2026-10-31T00:00:00")  # champion from the historical list
    add_shadow(db)
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
        score_history(conn)
        rows = conn.execute("SELECT count(*) FROM features.passenger_features").fetchall()[0][0]
        conn.execute("CHECKPOINT")
    return int(rows)


def add_shadow(db: str) -> int:
    """A second model version, never promoted: the champion's own trees registered again (as
    the throughput scenario's shadow), so the daily run scores a shadow challenger too."""
    with connect(db) as conn:
        meta, model = registry.load_champion(conn)
        return registry.register_version(
            conn,
            model_bytes=model_to_bytes(model),
            params=meta.params,
            features=list(meta.features),
            metrics=meta.metrics,
            training_rows=meta.training_rows,
            training_cutoff=meta.training_cutoff,
            training_data_hash=meta.training_data_hash,
            training_profile=meta.training_profile,
            run_id="bench-shadow",
            training_window=meta.training_window,
        )


def score_history(conn) -> None:
    """Every synthetic history passenger with a champion prediction and a shadow row, in
    event-time order (as day-by-day runs write them); the scores are placeholders."""
    champion = registry.champion(conn)
    shadow = max(registry.list_versions(conn)["version"].astype(int))
    if champion is None or shadow == champion.version:
        raise RuntimeError("the history needs a champion and a newer, unpromoted version")
    ensure_predictions_table(conn)
    ensure_shadow_table(conn)
    history = "FROM features.passenger_features WHERE source = 'synthetic' ORDER BY event_time"
    conn.execute(
        f"""INSERT INTO {names.PREDICTIONS_TABLE} BY NAME
        SELECT passenger_id, event_time, source, batch_id, {int(champion.version)} AS model_version,
               0 AS predicted_survived, 0.25 AS survival_probability, event_time AS predicted_at,
               'bench-history' AS run_id {history}"""
    )
    conn.execute(
        f"""INSERT INTO {names.SHADOW_PREDICTIONS_TABLE} BY NAME
        SELECT passenger_id, event_time, {shadow} AS model_version, 0.25 AS survival_probability,
               0 AS predicted_survived, event_time AS scored_at {history}"""
    )


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
        "new_day_rows": {name: scored_rows(str(path)) for name, path in warehouses.items()},
    }


def scored_rows(db: str) -> dict[str, int]:
    """The new day's champion and shadow rows after the runs: the figure covers shadow scoring
    only if the shadow scored every passenger the champion did (else this raises)."""
    day = [NEW_HOUR.replace(hour=0), NEW_HOUR.replace(hour=0) + timedelta(days=1)]
    where = "WHERE event_time >= ? AND event_time < ?"
    with connect(db, read_only=True) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {name} {where}", day).fetchall()[0][0]
            for table, name in (
                ("predictions", names.PREDICTIONS_TABLE),
                ("shadow", names.SHADOW_PREDICTIONS_TABLE),
            )
        }
    if not counts["predictions"] or counts["shadow"] != counts["predictions"]:
        raise RuntimeError(f"{db}: the shadow did not score the new day ({counts})")
    return counts

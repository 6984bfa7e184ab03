"""Scenario 1: the full cycle through Dagster vs the plain script, at several N.

Each repetition starts both arms from a fresh copy of the template warehouse (historical
backfill only) and runs them back to back, alternating which goes first, so machine noise hits
both alike. After the first repetition at each N the two warehouses are compared: same row
counts in every table the cycle writes, and the same predictions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks import plain
from benchmarks.common import copy_warehouse, median, spread
from benchmarks.dagster_arm import DagsterArm
from titanic_assets import names
from titanic_assets.data_layer.warehouse import connect

COMPARED_TABLES = (
    names.SYNTHETIC_PASSENGERS_TABLE,
    names.SYNTHETIC_FEATURES_TABLE,
    names.FEATURE_VIEW,
    names.TRAINING_DATA_TABLE,
    names.MODEL_VERSIONS_TABLE,
    names.PREDICTIONS_TABLE,
    names.PERFORMANCE_TABLE,
    names.SEGMENT_PERFORMANCE_TABLE,
    names.SHADOW_COMPARISON_TABLE,
)


def compare_outputs(dagster_db: str, plain_db: str) -> dict:
    """Row counts per table and the predictions of both warehouses; raises if they differ."""
    counts = {}
    with connect(dagster_db, read_only=True) as d, connect(plain_db, read_only=True) as p:
        for table in COMPARED_TABLES:
            sql = f"SELECT count(*) FROM {table}"
            counts[table] = (d.execute(sql).fetchall()[0][0], p.execute(sql).fetchall()[0][0])
        sql = (
            "SELECT passenger_id, model_version, predicted_survived, survival_probability "
            "FROM inference.predictions ORDER BY passenger_id"
        )
        dp, pp = d.execute(sql).df(), p.execute(sql).df()
        metrics_sql = "SELECT version, accuracy, f1, roc_auc FROM models.model_versions ORDER BY 1"
        dm, pm = d.execute(metrics_sql).fetchall(), p.execute(metrics_sql).fetchall()
    mismatched = {t: c for t, c in counts.items() if c[0] != c[1]}
    if mismatched:
        raise AssertionError(f"row counts differ (dagster, plain): {mismatched}")
    if not dp["passenger_id"].equals(pp["passenger_id"]):
        raise AssertionError("the arms scored different passengers")
    if not dp["predicted_survived"].equals(pp["predicted_survived"]):
        raise AssertionError("the arms predicted different outcomes")
    max_diff = float(np.max(np.abs(dp["survival_probability"] - pp["survival_probability"])))
    if max_diff > 1e-6:
        raise AssertionError(f"probabilities differ by up to {max_diff}")
    if dm != pm:
        raise AssertionError(f"model metrics differ: {dm} vs {pm}")
    return {
        "rows": {t: c[0] for t, c in counts.items()},
        "predictions_equal": True,
        "max_probability_diff": max_diff,
    }


def run_sizes(scratch: Path, template: Path, sizes: list[int], reps: dict, log=print) -> dict:
    dagster_db, plain_db = scratch / "overhead_dagster.duckdb", scratch / "overhead_plain.duckdb"
    copy_warehouse(template, dagster_db)
    arm = DagsterArm(str(dagster_db))
    out: dict = {"ratio": {}, "runs": {}, "comparison": {}}
    for n in sizes:
        reps_n = reps[n]
        samples: dict[str, list[dict]] = {"dagster": [], "plain": []}
        for rep in range(reps_n):
            copy_warehouse(template, dagster_db)
            copy_warehouse(template, plain_db)
            order = ("plain", "dagster") if rep % 2 == 0 else ("dagster", "plain")
            for name in order:
                times = arm.cycle(n) if name == "dagster" else plain.cycle(str(plain_db), n)
                samples[name].append(times)
                log(f"  overhead N={n:>8} rep {rep + 1}/{reps_n} {name:<7} {times['total']:7.2f} s")
            if rep == 0:
                out["comparison"][str(n)] = compare_outputs(str(dagster_db), str(plain_db))
        d = [s["total"] for s in samples["dagster"]]
        p = [s["total"] for s in samples["plain"]]
        # Ratio of medians, and the median of the per-repetition (paired) ratios as a check.
        out["ratio"][str(n)] = median(d) / median(p)
        out["runs"][str(n)] = {
            "dagster_s": median(d),
            "plain_s": median(p),
            "paired_ratio_median": median([a / b for a, b in zip(d, p, strict=True)]),
            "dagster_spread": spread(d),
            "plain_spread": spread(p),
            "reps": reps_n,
            "dagster_stages_s": {
                k: median([s[k] for s in samples["dagster"]]) for k in samples["dagster"][0]
            },
            "plain_stages_s": {
                k: median([s[k] for s in samples["plain"]]) for k in samples["plain"][0]
            },
        }
    return out

"""The monitoring step's stored work on one day: its rows replace the day's, and the figures'
history is what was stored before it."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from titanic_assets.data_layer import monitoring_store
from titanic_assets.data_layer.batch_scoring import ScoredDay
from titanic_assets.data_layer.day_monitoring import monitor_scored_day
from titanic_assets.data_layer.registry import ensure_registry
from titanic_assets.data_layer.warehouse import connect, ensure_schemas

DAY = datetime(2026, 11, 3)


def _day(start: datetime, n: int, shadows: tuple[int, ...] = (), seed: int = 0) -> ScoredDay:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, n)
    scored = pd.DataFrame(
        {
            "event_time": pd.Timestamp(start) + pd.to_timedelta(rng.uniform(0, 86_000, n), "s"),
            "model_version": 2,
            "survival_probability": p,
            "predicted_survived": (p >= 0.5).astype(int),
            "survived": np.where(rng.uniform(0, 1, n) < 0.8, (rng.uniform(0, 1, n) < p), np.nan),
            "is_female": rng.integers(0, 2, n).astype(float),
            "pclass": rng.integers(1, 4, n).astype(float),
        }
    )
    return ScoredDay(scored, latest=scored.head(1), shadows={v: 1 - p for v in shadows})


def _monitor(conn, start: datetime, day: ScoredDay):
    monitored = monitor_scored_day(conn, day, start, start + timedelta(days=1))
    # What the asset's I/O manager does with the returned rows.
    conn.register("_perf", monitored.performance)
    conn.execute(
        "DELETE FROM monitoring.model_performance WHERE day >= ? AND day < ?",
        [start, start + timedelta(days=1)],
    )
    conn.execute("INSERT INTO monitoring.model_performance BY NAME SELECT * FROM _perf")
    conn.unregister("_perf")
    return monitored


def test_a_rerun_replaces_the_days_segments_and_comparison_and_history_is_the_days_before(
    tmp_path,
) -> None:
    with connect(str(tmp_path / "w.duckdb")) as conn:
        ensure_schemas(conn)
        ensure_registry(conn)  # no version 2 in it: no profile, so no drift (not a failure)
        first = monitor_scored_day(
            conn, _day(DAY - timedelta(days=1), 200), DAY - timedelta(days=1), DAY
        )
        conn.register("_perf", first.performance)
        conn.execute("CREATE TABLE monitoring.model_performance AS SELECT * FROM _perf")
        conn.unregister("_perf")

        once = _monitor(conn, DAY, _day(DAY, 300, shadows=(3,)))
        again = _monitor(conn, DAY, _day(DAY, 300, shadows=(3,), seed=1))

        segments = monitoring_store.read_segments(conn, days=5)
        assert (
            len(segments) == 6 + 2 * 6
        )  # the champion on the first day; it and the shadow on the second
        assert segments.groupby(["day", "model_version"]).size().eq(6).all()
        comparison = monitoring_store.read_shadow_comparison(conn, shadow_version=3)
        assert (
            len(comparison) == 1
            and comparison["n_labelled"].iloc[0] == again.performance["n_labelled"].iloc[0]
        )
        # The figures' history: the stored day before, never the day itself.
        for monitored in (once, again):
            assert list(pd.to_datetime(monitored.history["day"])) == [
                pd.Timestamp(DAY) - pd.Timedelta(days=1)
            ]
            assert list(pd.to_datetime(monitored.other_days["day"])) == [
                pd.Timestamp(DAY) - pd.Timedelta(days=1)
            ]
        assert once.performance["n_predictions"].tolist() == [300]
        assert np.isnan(once.performance["max_psi"].iloc[0])


def test_a_day_without_predictions_stores_no_rows(tmp_path) -> None:
    with connect(str(tmp_path / "w.duckdb")) as conn:
        ensure_schemas(conn)
        ensure_registry(conn)
        monitored = monitor_scored_day(conn, _day(DAY, 0), DAY, DAY + timedelta(days=1))
        assert monitored.performance.empty and monitored.cells.empty
        assert monitored.comparison.empty
        assert monitoring_store.read_segments(conn, days=5).empty

"""The monitoring step's work on one scored day, stored: performance, segments and the
champion-vs-shadow comparison (no Dagster here).

One home for the ``monitoring/model_performance`` asset and the plain benchmark: both call
:func:`monitor_scored_day`, so the benchmark's baseline does the asset's work by construction.
The performance rows are returned, not written: the asset writes them through its I/O manager.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from titanic_assets.core import monitoring, segments, shadow
from titanic_assets.core.figures import CROSS_DAY_COLUMNS, ROLLING_DAYS
from titanic_assets.data_layer.batch_scoring import ScoredDay
from titanic_assets.data_layer.monitoring_store import (
    ensure_performance_columns,
    performance_before,
    performance_outside,
    write_segments,
    write_shadow_comparison,
)
from titanic_assets.data_layer.serving import training_profiles


@dataclass(frozen=True)
class MonitoredDay:
    """One day's monitoring, and the stored days its figures need beside it."""

    #: The day's ``monitoring.model_performance`` rows (one per scoring version).
    performance: pd.DataFrame
    #: Segment rows of the champion and each shadow (stored).
    cells: pd.DataFrame
    #: The champion against each shadow on the same labelled passengers (stored).
    comparison: pd.DataFrame
    #: Earlier days' performance rows, for the rolling chart.
    history: pd.DataFrame
    #: Every other day's :data:`~titanic_assets.core.figures.CROSS_DAY_COLUMNS`.
    other_days: pd.DataFrame


def monitor_scored_day(
    conn: duckdb.DuckDBPyConnection, day: ScoredDay, start: datetime, end: datetime
) -> MonitoredDay:
    """Monitor the day ``[start, end)`` that ``day`` scored; store its segments and shadow
    comparison (each replacing the day's previous rows)."""
    profiles = training_profiles(conn, day.scored["model_version"].unique())
    # Read before this day's rows change: the figures put the day beside what came before.
    history = performance_before(conn, start, ROLLING_DAYS * 3)
    other_days = performance_outside(conn, start, end, CROSS_DAY_COLUMNS)
    performance = monitoring.monitor_scored(day.scored, profiles)
    cells, comparison = segments_and_shadows(day)
    ensure_performance_columns(conn)
    write_segments(conn, cells, start, end)
    write_shadow_comparison(conn, comparison, start, end)
    return MonitoredDay(performance, cells, comparison, history, other_days)


def segments_and_shadows(day: ScoredDay) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The day's segment rows (champion and shadows) and its champion-vs-shadow comparison."""
    scored = day.scored
    if scored.empty:
        return segments.empty_segments(), shadow.empty_comparison()
    frames = [scored] + [
        shadow.shadow_scored(scored, version, p) for version, p in sorted(day.shadows.items())
    ]
    cells = pd.concat([segments.segment_performance(f) for f in frames], ignore_index=True)
    return cells, shadow.shadow_comparison(scored, day.shadows)

"""Reads of what batch scoring and monitoring wrote: daily performance rows and recent predictions.

One home for these queries: the monitoring asset (rolling chart, cross-day history), the
retraining sensor (the monitored day's rows), the apps (the monitoring tab, the latest
passengers) and the demo's summary all read the warehouse through these functions, so a
column or table rename is one edit. Every read answers an empty frame (with the asked
columns) when the table does not exist yet, so callers need no existence test of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from titanic_assets import names
from titanic_assets.core.clock import naive_utc
from titanic_assets.core.monitoring import PERFORMANCE_COLUMNS
from titanic_assets.data_layer.warehouse import table_exists

PERFORMANCE_TABLE = names.PERFORMANCE_TABLE
PREDICTIONS_TABLE = names.PREDICTIONS_TABLE
FEATURE_VIEW = names.FEATURE_VIEW


def _select(columns: Sequence[str] | None) -> str:
    return ", ".join(f'"{c}"' for c in columns) if columns else "*"  # constants only


def _empty(columns: Sequence[str] | None) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns or PERFORMANCE_COLUMNS))


def performance(
    conn: duckdb.DuckDBPyConnection, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Every row of ``monitoring.model_performance``, oldest day first (then by version)."""
    if not table_exists(conn, PERFORMANCE_TABLE):
        return _empty(columns)
    return conn.execute(
        f"SELECT {_select(columns)} FROM {PERFORMANCE_TABLE} ORDER BY day, model_version"
    ).df()


def performance_outside(
    conn: duckdb.DuckDBPyConnection,
    start: datetime,
    end: datetime,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The rows of every day outside ``[start, end)``: with the day being written, all history."""
    if not table_exists(conn, PERFORMANCE_TABLE):
        return _empty(columns)
    return conn.execute(
        f"SELECT {_select(columns)} FROM {PERFORMANCE_TABLE} WHERE day < ? OR day >= ?",
        [naive_utc(start), naive_utc(end)],
    ).df()


def performance_before(
    conn: duckdb.DuckDBPyConnection, before: datetime, limit: int
) -> pd.DataFrame:
    """The ``limit`` latest rows of days before ``before``, newest first (a rolling chart)."""
    if not table_exists(conn, PERFORMANCE_TABLE):
        return _empty(None)
    return conn.execute(
        f"SELECT * FROM {PERFORMANCE_TABLE} WHERE day < ? ORDER BY day DESC LIMIT ?",
        [naive_utc(before), limit],
    ).df()


def performance_of_day(conn: duckdb.DuckDBPyConnection, day: datetime | None) -> pd.DataFrame:
    """The rows (one per model version) of ``day``, or of the latest monitored day if None."""
    if not table_exists(conn, PERFORMANCE_TABLE):
        return _empty(None)
    if day is not None:
        return conn.execute(
            f"SELECT * FROM {PERFORMANCE_TABLE} WHERE day = ?", [naive_utc(day)]
        ).df()
    return conn.execute(
        f"SELECT * FROM {PERFORMANCE_TABLE} WHERE day = (SELECT max(day) FROM {PERFORMANCE_TABLE})"
    ).df()


#: How far back from the newest prediction :func:`latest_predictions` looks, narrowest first:
#: an hour holds the newest passengers at any rate the dashboards are for; a quiet warehouse
#: may need a day, or all of history.
LATEST_WINDOWS = (timedelta(hours=1), timedelta(days=1), None)


def latest_predictions(
    conn: duckdb.DuckDBPyConnection, limit: int, passenger_columns: Sequence[str]
) -> pd.DataFrame:
    """The newest scoring of the ``limit`` newest scored passengers, newest first, with their
    ``passenger_columns`` from the feature store (NULL while it does not exist).

    Flat with history: the newest prediction's time comes from the table's statistics, and
    both the predictions and the feature rows are read from a window before it
    (:data:`LATEST_WINDOWS`; rows are stored in time order, so DuckDB skips every older row
    group by its min/max). A prediction's event time is its passenger's, so the feature rows of
    the newest passengers are in the same window. A wider window is read only when the
    narrower one holds fewer than ``limit`` passengers.
    """
    if not table_exists(conn, PREDICTIONS_TABLE):
        return pd.DataFrame()
    newest = conn.execute(f"SELECT max(event_time) FROM {PREDICTIONS_TABLE}").fetchall()[0][0]
    for window in LATEST_WINDOWS:
        since = None if newest is None or window is None else newest - window
        latest = _latest_predictions(conn, limit, passenger_columns, since)
        if since is None or len(latest) >= limit:
            return latest
    raise AssertionError("unreachable: the last window is all of history")


def _latest_predictions(
    conn: duckdb.DuckDBPyConnection,
    limit: int,
    passenger_columns: Sequence[str],
    since: datetime | None,
) -> pd.DataFrame:
    """:func:`latest_predictions` among rows with ``event_time >= since`` (None: all)."""
    window = "" if since is None else "WHERE event_time >= ?"
    bounds = [] if since is None else [since]
    if table_exists(conn, FEATURE_VIEW):
        extra = ", ".join(f'f."{c}"' for c in passenger_columns)
        join = f"LEFT JOIN (SELECT * FROM {FEATURE_VIEW} {window}) f USING (passenger_id)"
        join_bounds = bounds
    else:
        extra = ", ".join(f'NULL AS "{c}"' for c in passenger_columns)
        join, join_bounds = "", []
    return conn.execute(
        f"""
        WITH recent AS (
            SELECT * FROM {PREDICTIONS_TABLE} {window}
            ORDER BY event_time DESC, passenger_id DESC, predicted_at DESC LIMIT ?
        ), newest AS (
            SELECT * FROM recent
            QUALIFY row_number() OVER (PARTITION BY passenger_id ORDER BY predicted_at DESC) = 1
        )
        SELECT n.passenger_id, n.event_time, n.source, n.model_version, n.predicted_survived,
               n.survival_probability, n.predicted_at, {extra}
        FROM newest n {join}
        ORDER BY n.event_time DESC, n.passenger_id DESC
        LIMIT ?
        """,
        [*bounds, limit * 5, *join_bounds, limit],
    ).df()

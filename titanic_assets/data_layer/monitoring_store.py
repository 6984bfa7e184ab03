"""Reads of what batch scoring and monitoring wrote: daily performance rows and recent predictions.

One home for these queries: the monitoring asset (rolling chart, cross-day history), the
retraining sensor (the monitored day's rows), the apps (the monitoring tab, the latest
passengers) and the demo's summary all read the warehouse through these functions, so a
column or table rename is one edit. Every read answers an empty frame (with the asked
columns) when the table does not exist yet, so callers need no existence test of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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


def latest_predictions(
    conn: duckdb.DuckDBPyConnection, limit: int, passenger_columns: Sequence[str]
) -> pd.DataFrame:
    """The newest scoring of the ``limit`` newest scored passengers, newest first, with their
    ``passenger_columns`` from the feature store (NULL while it does not exist).

    Only the top rows by event_time are deduplicated (a top-N, not a window over all
    history), so the read stays short however long the history is.
    """
    if not table_exists(conn, PREDICTIONS_TABLE):
        return pd.DataFrame()
    if table_exists(conn, FEATURE_VIEW):
        extra = ", ".join(f'f."{c}"' for c in passenger_columns)
        join = f"LEFT JOIN {FEATURE_VIEW} f USING (passenger_id)"
    else:
        extra = ", ".join(f'NULL AS "{c}"' for c in passenger_columns)
        join = ""
    return conn.execute(
        f"""
        WITH recent AS (
            SELECT * FROM {PREDICTIONS_TABLE}
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
        [limit * 5, limit],
    ).df()

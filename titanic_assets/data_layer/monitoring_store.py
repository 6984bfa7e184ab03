"""Reads of what batch scoring and monitoring wrote: daily performance rows and recent predictions;
the segment and champion-vs-shadow tables the monitoring step writes, and their reads.

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
from titanic_assets.core.segments import SEGMENT_COLUMNS
from titanic_assets.core.shadow import COMPARISON_COLUMNS
from titanic_assets.data_layer.warehouse import ensure_schemas, table_exists, transaction

PERFORMANCE_TABLE = names.PERFORMANCE_TABLE
PREDICTIONS_TABLE = names.PREDICTIONS_TABLE
FEATURE_VIEW = names.FEATURE_VIEW
SEGMENT_PERFORMANCE_TABLE = names.SEGMENT_PERFORMANCE_TABLE
SHADOW_COMPARISON_TABLE = names.SHADOW_COMPARISON_TABLE


def _select(columns: Sequence[str] | None, present: set[str] | None = None) -> str:
    """The select list; a column the table lacks (a warehouse from before it was added,
    not monitored since) reads as NULL."""
    if not columns:
        return "*"
    return ", ".join(  # constants only
        f'"{c}"' if present is None or c in present else f'NULL AS "{c}"' for c in columns
    )


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {row[0] for row in conn.execute(f"DESCRIBE {table}").fetchall()}


def _empty(columns: Sequence[str] | None) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns or PERFORMANCE_COLUMNS))


def performance(
    conn: duckdb.DuckDBPyConnection, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Every row of ``monitoring.model_performance``, oldest day first (then by version)."""
    if not table_exists(conn, PERFORMANCE_TABLE):
        return _empty(columns)
    present = _columns(conn, PERFORMANCE_TABLE)
    return conn.execute(
        f"SELECT {_select(columns, present)} FROM {PERFORMANCE_TABLE} ORDER BY day, model_version"
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


# --- calibration columns, segments and the shadow comparison ---------------------------------
#
# ``monitoring.segment_performance`` (core.segments.SEGMENT_COLUMNS) and
# ``monitoring.shadow_comparison`` (core.shadow.COMPARISON_COLUMNS) are written by the
# monitoring step for its day, in one transaction with a delete of that day: a re-run
# replaces the day, a failure leaves it as it was.

#: Columns added to ``monitoring.model_performance`` after its first release.
_ADDED_PERFORMANCE_COLUMNS = (("brier", "DOUBLE"), ("ece", "DOUBLE"), ("reliability", "VARCHAR"))


def ensure_performance_columns(conn: duckdb.DuckDBPyConnection) -> None:
    """Add the calibration columns to an existing performance table that lacks them."""
    if not table_exists(conn, PERFORMANCE_TABLE):
        return
    present = {row[0] for row in conn.execute(f"DESCRIBE {PERFORMANCE_TABLE}").fetchall()}
    for column, kind in _ADDED_PERFORMANCE_COLUMNS:
        if column not in present:
            conn.execute(f"ALTER TABLE {PERFORMANCE_TABLE} ADD COLUMN {column} {kind}")


def _replace_day(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    columns: Sequence[str],
    frame: pd.DataFrame,
    start: datetime,
    end: datetime,
) -> None:
    ensure_schemas(conn)
    with transaction(conn):
        conn.register("_monitoring_frame", frame[list(columns)])
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM _monitoring_frame LIMIT 0"
            )
            conn.execute(
                f"DELETE FROM {table} WHERE day >= ? AND day < ?",
                [naive_utc(start), naive_utc(end)],
            )
            conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _monitoring_frame")
        finally:
            conn.unregister("_monitoring_frame")


def write_segments(
    conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame, start: datetime, end: datetime
) -> None:
    """Replace the segment rows of days ``[start, end)`` with ``frame``."""
    _replace_day(conn, SEGMENT_PERFORMANCE_TABLE, SEGMENT_COLUMNS, frame, start, end)


def write_shadow_comparison(
    conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame, start: datetime, end: datetime
) -> None:
    """Replace the champion-vs-shadow rows of days ``[start, end)`` with ``frame``."""
    _replace_day(conn, SHADOW_COMPARISON_TABLE, COMPARISON_COLUMNS, frame, start, end)


def read_segments(conn: duckdb.DuckDBPyConnection, days: int) -> pd.DataFrame:
    """The segment rows of the latest ``days`` monitored days (all versions)."""
    if not table_exists(conn, SEGMENT_PERFORMANCE_TABLE):
        return pd.DataFrame(columns=list(SEGMENT_COLUMNS))
    return conn.execute(
        f"SELECT * FROM {SEGMENT_PERFORMANCE_TABLE} WHERE day IN (SELECT DISTINCT day FROM "
        f"{SEGMENT_PERFORMANCE_TABLE} ORDER BY day DESC LIMIT ?) "
        "ORDER BY day, model_version, segment",
        [int(days)],
    ).df()


def read_version_segments(conn: duckdb.DuckDBPyConnection, version: int) -> pd.DataFrame:
    """One version's live segments, pooled over every monitored day (for its model card)."""
    if not table_exists(conn, SEGMENT_PERFORMANCE_TABLE):
        return pd.DataFrame(columns=["segment", "n_labelled", "accuracy"])
    return conn.execute(
        f"""SELECT segment, sum(n_labelled)::BIGINT AS n_labelled,
                   sum(accuracy * n_labelled) / nullif(sum(n_labelled), 0) AS accuracy,
                   sum(actual_survival_rate * n_labelled) / nullif(sum(n_labelled), 0)
                       AS actual_survival_rate
            FROM {SEGMENT_PERFORMANCE_TABLE} WHERE model_version = ?
            GROUP BY segment ORDER BY segment""",
        [int(version)],
    ).df()


def read_shadow_comparison(
    conn: duckdb.DuckDBPyConnection, *, shadow_version: int | None = None, days: int | None = None
) -> pd.DataFrame:
    """Champion-vs-shadow rows, oldest first: of one shadow version, or of the latest days."""
    if not table_exists(conn, SHADOW_COMPARISON_TABLE):
        return pd.DataFrame(columns=list(COMPARISON_COLUMNS))
    if shadow_version is not None:
        return conn.execute(
            f"SELECT * FROM {SHADOW_COMPARISON_TABLE} WHERE shadow_version = ? ORDER BY day",
            [int(shadow_version)],
        ).df()
    limit = 10_000 if days is None else int(days)
    return conn.execute(
        f"SELECT * FROM {SHADOW_COMPARISON_TABLE} WHERE day IN (SELECT DISTINCT day FROM "
        f"{SHADOW_COMPARISON_TABLE} ORDER BY day DESC LIMIT ?) ORDER BY day, shadow_version",
        [limit],
    ).df()


def read_version_performance(conn: duckdb.DuckDBPyConnection, version: int) -> pd.DataFrame:
    """The days a version served as champion (``monitoring.model_performance``), oldest first."""
    if not table_exists(conn, PERFORMANCE_TABLE):
        return pd.DataFrame()
    ensure_columns = {row[0] for row in conn.execute(f"DESCRIBE {PERFORMANCE_TABLE}").fetchall()}
    calibration = [c for c in ("brier", "ece") if c in ensure_columns]
    columns = ", ".join(["day", "n_predictions", "n_labelled", "accuracy", "f1", *calibration])
    return conn.execute(
        f"SELECT {columns} FROM {PERFORMANCE_TABLE} WHERE model_version = ? ORDER BY day",
        [int(version)],
    ).df()

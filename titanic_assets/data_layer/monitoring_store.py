"""The monitoring tables beside ``monitoring.model_performance``: segments and shadow comparison.

``monitoring.segment_performance`` (:data:`titanic_assets.core.segments.SEGMENT_COLUMNS`) and
``monitoring.shadow_comparison`` (:data:`titanic_assets.core.shadow.COMPARISON_COLUMNS`) are
written by the monitoring step for its day, in one transaction with a delete of that day: a
re-run replaces the day, a failure leaves it as it was. The readers (apps, model cards, the
live promotion rule) call the functions here, so the SQL has one home.

:func:`ensure_performance_columns` adds the ``brier`` and ``ece`` columns to a
``monitoring.model_performance`` created before they existed (the I/O manager inserts by
name, so an old table would refuse the new columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb
import pandas as pd

from titanic_assets.core.segments import SEGMENT_COLUMNS
from titanic_assets.core.shadow import COMPARISON_COLUMNS
from titanic_assets.data_layer.warehouse import ensure_schemas, table_exists, transaction
from titanic_assets.names import (
    PERFORMANCE_TABLE,
    SEGMENT_PERFORMANCE_TABLE,
    SHADOW_COMPARISON_TABLE,
)

#: Columns added to ``monitoring.model_performance`` after its first release.
_ADDED_PERFORMANCE_COLUMNS = (("brier", "DOUBLE"), ("ece", "DOUBLE"))


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
            conn.execute(f"DELETE FROM {table} WHERE day >= ? AND day < ?", [start, end])
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

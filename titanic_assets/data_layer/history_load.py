"""Bulk loading of history: many hours of passengers, features and verdicts in few statements.

The pipelines write one hour (features) or one day (predictions, monitoring) per run. Building
a warehouse that already holds a long history (the year-of-history benchmark, a migration from
another store) that way would take thousands of runs; these functions write the same tables,
with the same types and the same replace-a-window semantics as the pipelines' writes, from
frames of many hours at once. The rows come from the library (generator, ``build_features``,
the GX suites, batch scoring, monitoring); only the number of statements differs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from titanic_assets.data_layer.feature_store import ensure_feature_store, naive_utc
from titanic_assets.data_layer.warehouse import ensure_schemas, transaction
from titanic_assets.names import (
    QUALITY_LEDGER,
    SYNTHETIC_FEATURES_TABLE,
    SYNTHETIC_PASSENGERS_TABLE,
)

_FRAME = "_history_frame"


def append_synthetic_hours(
    conn: duckdb.DuckDBPyConnection, passengers: pd.DataFrame, features: pd.DataFrame
) -> None:
    """Append many hours of synthetic passengers and their features, in one transaction.

    The hours must not be stored yet (this appends; the hourly pipeline replaces its hour).
    """
    ensure_feature_store(conn)
    with transaction(conn):
        for table, frame in (
            (SYNTHETIC_PASSENGERS_TABLE, passengers),
            (SYNTHETIC_FEATURES_TABLE, features),
        ):
            conn.register(_FRAME, frame)
            try:
                conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {_FRAME}")
            finally:
                conn.unregister(_FRAME)


def synthetic_window_sql(start: datetime, end: datetime) -> str:
    """A ``SELECT`` of the synthetic feature rows with ``start <= event_time < end``, for the
    GX suites that run in DuckDB (a query text: GX embeds it as a subquery)."""
    lo, hi = naive_utc(start).isoformat(sep=" "), naive_utc(end).isoformat(sep=" ")
    return (
        f"SELECT * FROM {SYNTHETIC_FEATURES_TABLE} "
        f"WHERE event_time >= TIMESTAMP '{lo}' AND event_time < TIMESTAMP '{hi}'"
    )


def record_window_verdicts(
    conn: duckdb.DuckDBPyConnection,
    *,
    batch_rows: Mapping[str, int],
    asset: str,
    results: Mapping[str, Any],
    run_id: str | None,
) -> None:
    """The verdicts of suites run once over several hourly batches, recorded for each batch.

    ``results`` are ``{suite: SuiteResult}`` of the suites run on all the batches' rows at once;
    each batch gets that verdict with its own row count (``batch_rows``), in one transaction, as
    :func:`~titanic_assets.data_layer.feature_store.record_suite_results` records one batch's.
    """
    ensure_feature_store(conn)
    rows = pd.DataFrame(
        [
            {
                "batch_id": batch_id,
                "asset": asset,
                "suite": suite,
                "passed": bool(result.success),
                "evaluated_rows": int(count),
                "failed_expectations": json.dumps(result.as_metadata()["failed"]),
                "run_id": run_id,
            }
            for batch_id, count in batch_rows.items()
            for suite, result in results.items()
        ]
    )
    conn.register(_FRAME, rows)
    try:
        with transaction(conn):
            conn.execute(
                f"DELETE FROM {QUALITY_LEDGER} WHERE batch_id IN (SELECT batch_id FROM {_FRAME})"
            )
            conn.execute(f"INSERT INTO {QUALITY_LEDGER} BY NAME SELECT * FROM {_FRAME}")
    finally:
        conn.unregister(_FRAME)


def replace_window(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    column: str,
    start: datetime,
    end: datetime,
) -> None:
    """Replace the rows of ``table`` with ``start <= column < end`` by ``frame``, atomically.

    What the warehouse I/O manager does for a time partition (the table is created from the
    frame's columns if it does not exist yet), for writers outside a Dagster run.
    """
    ensure_schemas(conn)
    conn.register(_FRAME, frame)
    try:
        with transaction(conn):
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM {_FRAME} LIMIT 0")
            conn.execute(
                f"DELETE FROM {table} WHERE {column} >= ? AND {column} < ?",
                [naive_utc(start), naive_utc(end)],
            )
            conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {_FRAME}")
    finally:
        conn.unregister(_FRAME)


def warehouse_bytes(conn: duckdb.DuckDBPyConnection) -> int:
    """Bytes the database uses in its file (used blocks; the file may be larger after deletes)."""
    row = conn.execute(
        "SELECT used_blocks * block_size FROM pragma_database_size() "
        "WHERE database_name = current_database()"
    ).fetchall()
    return int(row[0][0]) if row else 0

"""Bulk loading of history: many hours of passengers, features and verdicts in few statements.

The pipelines write one hour (features) or one day (predictions, monitoring) per run. Building
a warehouse that already holds a long history (the year-of-history benchmark, a migration from
another store) that way would take thousands of runs; these functions write the same tables,
with the same types and the same replace-a-window semantics as the pipelines' writes, from
frames of many hours at once. The rows come from the library (generator, ``build_features``,
the GX suites, batch scoring, monitoring); only the number of statements differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from titanic_assets.data_layer.feature_store import (
    ensure_feature_store,
    naive_utc,
    record_suite_results,
)
from titanic_assets.data_layer.warehouse import ensure_schemas, transaction
from titanic_assets.names import (
    HOUR_BATCH_FORMAT,
    PERFORMANCE_TABLE,
    PREDICTIONS_TABLE,
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
    :func:`~titanic_assets.data_layer.feature_store.record_suite_results` records each batch's.
    """
    record_suite_results(
        conn,
        {
            batch_id: {
                suite: replace(result, evaluated_rows=count) for suite, result in results.items()
            }
            for batch_id, count in batch_rows.items()
        },
        asset=asset,
        run_id=run_id,
    )


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


#: The tables of per-passenger history, each with ``passenger_id``, ``event_time``, ``batch_id``.
_PASSENGER_TABLES = (SYNTHETIC_PASSENGERS_TABLE, SYNTHETIC_FEATURES_TABLE, PREDICTIONS_TABLE)
#: The most history one transaction of :func:`replicate_history` copies.
_COPY_STEP = timedelta(days=7)


def history_end(conn: duckdb.DuckDBPyConnection, before: datetime) -> datetime | None:
    """Where the complete history ends: the day after the last monitored day before
    ``before`` (a chunk is complete once its monitoring rows are written, its last step; days
    from ``before`` on are the pipelines' own runs, e.g. a benchmark's measured day, not
    history); None without any."""
    rows = conn.execute(
        f"SELECT max(day) FROM {PERFORMANCE_TABLE} WHERE day < ?", [naive_utc(before)]
    ).fetchall()
    return None if rows[0][0] is None else rows[0][0] + timedelta(days=1)


def passengers_before(conn: duckdb.DuckDBPyConnection, end: datetime) -> int:
    """Synthetic passengers with event time before ``end``: the history's, not those of the
    pipelines' runs after it."""
    rows = conn.execute(
        f"SELECT count(*) FROM {SYNTHETIC_PASSENGERS_TABLE} WHERE event_time < ?",
        [naive_utc(end)],
    ).fetchall()
    return int(rows[0][0])


def truncate_history(conn: duckdb.DuckDBPyConnection, end: datetime) -> None:
    """Drop everything of an unfinished chunk: rows with event time (day, hour) from ``end``."""
    stamp = end.strftime(HOUR_BATCH_FORMAT)
    with transaction(conn):
        for table in _PASSENGER_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE event_time >= ?", [end])
        conn.execute(f"DELETE FROM {PERFORMANCE_TABLE} WHERE day >= ?", [end])
        conn.execute(
            f"DELETE FROM {QUALITY_LEDGER} WHERE batch_id >= ? AND batch_id <> 'historical'",
            [stamp],
        )


def replicate_history(
    conn: duckdb.DuckDBPyConnection, start: datetime, end: datetime, until: datetime
) -> None:
    """Fill ``[end, until)`` with copies of the history in ``[start, end)``, shifted in time.

    Each copy moves every passenger, feature row, prediction, verdict and monitoring day by a
    whole number of the source's length (whole hours: a day, or the one hour a capacity
    measurement generated); ids keep their number and take their new hour
    (``core.ids``), batch ids follow their new hour. So the copies are the source's
    passengers at other times: same distributions, same scores, and stored in time order like
    the pipelines' writes (a scan keeps the source's order, DuckDB's
    ``preserve_insertion_order``; an ``ORDER BY`` would sort a whole copy in memory). At most a
    week per transaction. Used to build a long history from a few generated weeks (the
    year-of-history benchmark) or a day from one measured hour (the capacity benchmark), not
    by the pipelines.
    """
    hour = timedelta(hours=1)
    span = (end - start) // hour * hour
    if span <= timedelta(0):
        raise ValueError(f"nothing to copy between {start} and {end}")
    target = end
    while target < until:
        # A week at most per transaction: DuckDB holds a transaction's new rows until it commits.
        offset = (target - end) % span
        shift = target - start - offset
        length = min(_COPY_STEP, span - offset, until - target)
        window = [start + offset, start + offset + length]
        with transaction(conn):
            for table in _PASSENGER_TABLES:
                conn.execute(
                    f"""INSERT INTO {table} BY NAME
                    SELECT t.* REPLACE (
                        split_part(passenger_id, '-', 1) || '-'
                          || strftime(event_time + ?, '%Y%m%d%H') || '-'
                          || split_part(passenger_id, '-', 3) AS passenger_id,
                        event_time + ? AS event_time,
                        strftime(date_trunc('hour', event_time + ?), '{HOUR_BATCH_FORMAT}')
                          AS batch_id)
                    FROM {table} AS t
                    WHERE event_time >= ? AND event_time < ?""",
                    [shift, shift, shift, *window],
                )
            conn.execute(
                f"""INSERT INTO {QUALITY_LEDGER} BY NAME
                SELECT q.* REPLACE (
                    strftime(strptime(batch_id, '{HOUR_BATCH_FORMAT}') + ?, '{HOUR_BATCH_FORMAT}')
                      AS batch_id)
                FROM {QUALITY_LEDGER} AS q
                WHERE batch_id >= ? AND batch_id < ? AND batch_id <> 'historical'""",
                [shift, *(w.strftime(HOUR_BATCH_FORMAT) for w in window)],
            )
            conn.execute(
                f"""INSERT INTO {PERFORMANCE_TABLE} BY NAME
                SELECT m.* REPLACE (day + ? AS day) FROM {PERFORMANCE_TABLE} AS m
                WHERE day >= ? AND day < ?""",
                [shift, *window],
            )
        target += length


def warehouse_bytes(conn: duckdb.DuckDBPyConnection) -> int:
    """Bytes the database uses in its file (used blocks; the file may be larger after deletes)."""
    row = conn.execute(
        "SELECT used_blocks * block_size FROM pragma_database_size() "
        "WHERE database_name = current_database()"
    ).fetchall()
    return int(row[0][0]) if row else 0

"""The feature store: typed feature tables, a data-quality ledger, and the certified view.

``features.passenger_features`` (the contract table) is a VIEW over the historical and synthetic
feature tables that shows only batches whose blocking data-quality suite passed. The ledger
(``features.quality_results``) lives in the warehouse, not only in Dagster's event log, so
training, inference and the CLI all apply the same gate, with or without Dagster running.

A batch is certified by the result of its latest check; rewriting a batch first withdraws its
certificate, so changed data is never served under an old "passed".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from titanic_assets.core.clock import naive_utc
from titanic_assets.core.features import FEATURE_COLUMNS, FEATURE_STORE_COLUMNS
from titanic_assets.data_layer.warehouse import ensure_schemas, table_exists, transaction
from titanic_assets.names import BLOCKING_SUITE, FEATURE_VIEW, HISTORICAL_BATCH, QUALITY_LEDGER
from titanic_assets.names import HISTORICAL_FEATURES_TABLE as HISTORICAL_FEATURES
from titanic_assets.names import SYNTHETIC_FEATURES_TABLE as SYNTHETIC_FEATURES
from titanic_assets.names import SYNTHETIC_PASSENGERS_TABLE as SYNTHETIC_PASSENGERS

_COLUMN_TYPES = {
    "passenger_id": "VARCHAR NOT NULL",
    "event_time": "TIMESTAMP NOT NULL",
    "source": "VARCHAR NOT NULL",
    "batch_id": "VARCHAR NOT NULL",
    **{column: "DOUBLE" for column in FEATURE_COLUMNS},
    "survived": "BIGINT",
}

#: ``features.synthetic_passengers``: the types the I/O manager would infer from the generator's
#: accepted passengers (``core.schema.PASSENGER_COLUMNS``), declared so the storage hint below
#: applies from the first hour on.
_SYNTHETIC_PASSENGER_TYPES = {
    "passenger_id": "VARCHAR",
    "event_time": "TIMESTAMP",
    "source": "VARCHAR",
    "batch_id": "VARCHAR",
    "pclass": "BIGINT",
    "sex": "VARCHAR",
    "age": "DOUBLE",
    "sibsp": "BIGINT",
    "parch": "BIGINT",
    "fare": "DOUBLE",
    "embarked": "VARCHAR",
    "survived": "BIGINT",
}

#: Storage hints (DuckDB's ``USING COMPRESSION``) of the passenger and feature tables. Passenger
#: ids are unique: DuckDB would analyse dictionary and FSST encodings for every segment of
#: them, about 0.12 s of CPU per million ids in each table's write (measured on this project's
#: 1M-passenger hour), to store them in 6 MiB instead of 25 MiB. Both hourly writes pay it on
#: the hot path, so ids are stored plainly, as in ``inference.predictions``. The hint applies
#: to tables created from now on; an existing table keeps its storage.
_STORAGE = {"passenger_id": "USING COMPRESSION uncompressed"}


_LEDGER_FRAME = "_ledger_rows"


def _table_ddl(table: str, types: dict[str, str]) -> str:
    columns = ",\n  ".join(
        f"{c} {kind} {_STORAGE.get(c, '')}".rstrip() for c, kind in types.items()
    )
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {columns}\n)"


def feature_table_ddl(table: str) -> str:
    return _table_ddl(table, {c: _COLUMN_TYPES[c] for c in FEATURE_STORE_COLUMNS})


def ensure_feature_store(conn: duckdb.DuckDBPyConnection) -> None:
    """Create (idempotently) the feature tables, the synthetic passengers' table, the quality
    ledger and the certified view."""
    ensure_schemas(conn)
    for table in (HISTORICAL_FEATURES, SYNTHETIC_FEATURES):
        conn.execute(feature_table_ddl(table))
    conn.execute(_table_ddl(SYNTHETIC_PASSENGERS, _SYNTHETIC_PASSENGER_TYPES))
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {QUALITY_LEDGER} (
            batch_id VARCHAR NOT NULL,
            asset VARCHAR NOT NULL,
            suite VARCHAR NOT NULL,
            passed BOOLEAN NOT NULL,
            evaluated_rows BIGINT NOT NULL,
            failed_expectations JSON,
            run_id VARCHAR,
            evaluated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (batch_id, suite)
        )"""
    )
    columns = ", ".join(f"f.{c}" for c in FEATURE_STORE_COLUMNS)
    conn.execute(
        f"""CREATE OR REPLACE VIEW {FEATURE_VIEW} AS
        WITH all_features AS (
            SELECT * FROM {HISTORICAL_FEATURES}
            UNION ALL BY NAME
            SELECT * FROM {SYNTHETIC_FEATURES}
        )
        SELECT {columns}
        FROM all_features AS f
        JOIN {QUALITY_LEDGER} AS q
          ON q.batch_id = f.batch_id AND q.suite = '{BLOCKING_SUITE}' AND q.passed"""
    )


def withdraw_certificates(conn: duckdb.DuckDBPyConnection, batch_ids: Sequence[str]) -> None:
    """Forget the quality results of batches about to be rewritten, in one statement (a
    backfill run rewrites a week of hours: one DELETE, not one per hour)."""
    ensure_feature_store(conn)
    conn.execute(
        f"DELETE FROM {QUALITY_LEDGER} WHERE batch_id IN (SELECT unnest(?))", [list(batch_ids)]
    )


def batch_rows_sql(table: str, batch_id: str) -> str:
    """A ``SELECT`` of one batch's rows of a feature table, for checks that run in DuckDB.

    A query text, not a parameterised one, because GX embeds it as a subquery; the batch id is
    quoted as an SQL literal (ids are generated here, but a quote must never break out).
    """
    literal = batch_id.replace("'", "''")
    return f"SELECT * FROM {table} WHERE batch_id = '{literal}'"


def batches_rows_sql(table: str, batch_ids: Sequence[str]) -> str:
    """A ``SELECT`` of several batches' rows of a feature table (see :func:`batch_rows_sql`)."""
    literals = ", ".join("'" + batch_id.replace("'", "''") + "'" for batch_id in batch_ids)
    return f"SELECT * FROM {table} WHERE batch_id IN ({literals})"


def record_suite_results(
    conn: duckdb.DuckDBPyConnection,
    verdicts: Mapping[str, Mapping[str, Any]],
    *,
    asset: str,
    run_id: str | None,
) -> None:
    """Every suite's verdict on each batch (``{batch_id: {suite: SuiteResult}}``, results of
    ``core.quality``) replaces that batch's and suite's verdict in the ledger (the latest
    evaluation wins), in one transaction: the ledger holds all of the new verdicts or none.
    Two statements whatever the number of batches (a backfill run judges a week of hours)."""
    if not verdicts:
        return
    ensure_feature_store(conn)
    frame = pd.DataFrame(
        [
            {
                "batch_id": batch_id,
                "asset": asset,
                "suite": suite,
                "passed": bool(result.success),
                "evaluated_rows": int(result.evaluated_rows),
                "failed_expectations": json.dumps(result.as_metadata()["failed"]),
                "run_id": run_id,
            }
            for batch_id, results in verdicts.items()
            for suite, result in results.items()
        ]
    )
    conn.register(_LEDGER_FRAME, frame)
    try:
        with transaction(conn):
            conn.execute(
                f"""DELETE FROM {QUALITY_LEDGER} AS q USING {_LEDGER_FRAME} AS r
                WHERE q.batch_id = r.batch_id AND q.suite = r.suite"""
            )
            conn.execute(f"INSERT INTO {QUALITY_LEDGER} BY NAME SELECT * FROM {_LEDGER_FRAME}")
    finally:
        conn.unregister(_LEDGER_FRAME)


def feature_store_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows stored vs certified, per source: what the view hides is visible here.

    Cost independent of history (this runs after every hourly batch): stored rows are DuckDB's
    ``count(*)`` of each table, answered from its row-group metadata; certified rows come from
    the ledger, one row per batch, whose ``evaluated_rows`` is the batch's row count (a batch is
    validated as written, and rewriting it first withdraws its ledger rows), never from a
    count over the certified view, which would join every stored row with the ledger.
    """
    ensure_feature_store(conn)
    stored = dict(
        conn.execute(
            f"""SELECT 'historical', count(*) FROM {HISTORICAL_FEATURES}
            UNION ALL SELECT 'synthetic', count(*) FROM {SYNTHETIC_FEATURES}"""
        ).fetchall()
    )
    certified = dict(
        conn.execute(
            f"""SELECT CASE WHEN batch_id = ? THEN 'historical' ELSE 'synthetic' END,
                   sum(evaluated_rows)
            FROM {QUALITY_LEDGER} WHERE suite = ? AND passed GROUP BY 1""",
            [HISTORICAL_BATCH, BLOCKING_SUITE],
        ).fetchall()
    )
    failed = conn.execute(
        f"SELECT count(*) FROM {QUALITY_LEDGER} WHERE suite = ? AND NOT passed", [BLOCKING_SUITE]
    ).fetchall()[0][0]
    return {
        "historical_stored": int(stored.get("historical", 0)),
        "synthetic_stored": int(stored.get("synthetic", 0)),
        "historical_certified": int(certified.get("historical") or 0),
        "synthetic_certified": int(certified.get("synthetic") or 0),
        "batches_failed": int(failed),
    }


def read_day_features(
    conn: duckdb.DuckDBPyConnection,
    start: datetime,
    end: datetime,
    columns: tuple[str, ...] | None = None,
    *,
    ordered: bool = False,
) -> pd.DataFrame:
    """Certified feature rows with ``start <= event_time < end`` (naive UTC).

    ``columns`` (default: all) reads only those columns. Rows come in no particular order
    unless ``ordered`` (oldest first): batch scoring and monitoring do not need one, and
    sorting a million rows by time and text id costs more than scoring them.
    """
    if not table_exists(conn, FEATURE_VIEW):
        return pd.DataFrame(columns=list(columns or FEATURE_STORE_COLUMNS))
    selected = ", ".join(f'"{c}"' for c in columns) if columns else "*"  # constants only
    order = " ORDER BY event_time, passenger_id" if ordered else ""
    return conn.execute(
        f"SELECT {selected} FROM {FEATURE_VIEW} WHERE event_time >= ? AND event_time < ?{order}",
        [naive_utc(start), naive_utc(end)],
    ).df()


def certified_rows(conn: duckdb.DuckDBPyConnection) -> int | None:
    """Rows in the feature store (certified batches), or None while it does not exist.

    Read-only (unlike :func:`feature_store_counts`, which creates what is missing), for the
    apps, which open the warehouse read-only. Summed from the ledger (one row per batch, its
    ``evaluated_rows`` the batch's rows, as in :func:`feature_store_counts`), never counted over
    the view, which joins every stored row with the ledger: seconds on a year of history.
    """
    if not table_exists(conn, FEATURE_VIEW) or not table_exists(conn, QUALITY_LEDGER):
        return None
    rows = conn.execute(
        f"SELECT sum(evaluated_rows) FROM {QUALITY_LEDGER} WHERE suite = ? AND passed",
        [BLOCKING_SUITE],
    ).fetchall()
    return int(rows[0][0] or 0)


def feature_store_sample(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The feature store's columns with their types, and no rows (for a column schema)."""
    return conn.execute(f"SELECT * FROM {FEATURE_VIEW} LIMIT 0").df()


def new_labelled_rows(
    conn: duckdb.DuckDBPyConnection, since: datetime | None
) -> tuple[int, datetime | None]:
    """Labelled feature-store rows with event_time after ``since`` (all if None), and the
    latest of their event_times (None while there is none): what retraining waits for.

    Bounded by ``since``, not by the history: the retrain sensor asks on every feature-store
    update, and the ``event_time > since`` predicate is pushed through the view into each
    table's scan, where DuckDB's zone maps (min/max per row group; rows are written in time
    order, an hour per run) skip every row group of the history before ``since``. Counting over
    the whole view and filtering in the aggregate read every stored row on each tick.
    """
    if not table_exists(conn, FEATURE_VIEW):
        return 0, None
    after, params = ("", []) if since is None else (" AND event_time > ?", [naive_utc(since)])
    row = conn.execute(
        f"SELECT count(*), max(event_time) FROM {FEATURE_VIEW} WHERE survived IS NOT NULL{after}",
        params,
    ).fetchall()[0]
    return int(row[0] or 0), row[1]


def read_table(conn: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """A whole warehouse table (``schema.table`` from :mod:`titanic_assets.names`), as the I/O
    manager would load an unpartitioned asset."""
    return conn.execute(f"SELECT * FROM {table}").df()

"""The data-quality suites (:mod:`titanic_assets.core.quality`) run inside DuckDB.

GX's SQL execution engine reaches DuckDB through SQLAlchemy and ``duckdb-engine``. Two ways in:

* :func:`validate_batch_in_warehouse`: a batch where it was written, a ``SELECT`` on the
  caller's open warehouse connection (the feature checks and the plain benchmark). GX queries
  through cursors of that connection: same database, same process, so no second open of the
  file, no lock to wait for, and it sees what is committed.
* :func:`validate_frame`: a frame in memory (tests, ad-hoc use), copied into a private
  in-memory DuckDB first, so a frame is judged by the same engine as the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd

from titanic_assets.core import quality
from titanic_assets.core.quality import SqlTarget, SuiteResult
from titanic_assets.data_layer.feature_store import batch_rows_sql, batches_rows_sql

#: The SQLAlchemy URL that names duckdb-engine's dialect; connections come from ``creator``.
DIALECT_URL = "duckdb:///:memory:"


def validate_batch_in_warehouse(
    conn: duckdb.DuckDBPyConnection, relation: str
) -> dict[str, SuiteResult]:
    """Both suites, by name, on the rows ``relation`` (a ``SELECT``) reads through ``conn``."""
    return quality.validate_batch(conn, relation, _target(conn))


def validate_batches_in_warehouse(
    conn: duckdb.DuckDBPyConnection, table: str, batch_ids: Sequence[str]
) -> dict[str, dict[str, SuiteResult]]:
    """Both suites on each batch of ``table`` (by batch id, then suite name), judged together:
    the verdicts of :func:`validate_batch_in_warehouse` on each, in two GX validations for all
    (:func:`titanic_assets.core.quality.validate_batches`)."""
    return quality.validate_batches(
        conn,
        batches_rows_sql(table, batch_ids),
        "batch_id",
        lambda batch_id: batch_rows_sql(table, batch_id),
        batch_ids,
        _target(conn),
    )


def validate_frame(features: pd.DataFrame, suite: str | None = None) -> Any:
    """Both suites on a frame (``{suite: SuiteResult}``), or the one ``suite`` named."""
    with _frame_in_duckdb(features) as (conn, relation):
        if suite == quality.INTEGRITY:
            return quality.validate_integrity(conn, relation, _target(conn))
        if suite == quality.DISTRIBUTION:
            return quality.validate_distribution(conn, relation, _target(conn))
        if suite is not None:
            raise ValueError(
                f"unknown suite {suite!r}: expected {quality.INTEGRITY!r} or "
                f"{quality.DISTRIBUTION!r}"
            )
        return quality.validate_batch(conn, relation, _target(conn))


@contextmanager
def _frame_in_duckdb(frame: pd.DataFrame) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    """A frame copied into a private in-memory DuckDB: a table, so GX's cursors (other client
    contexts on the same database) see it, which a registered view would not be."""
    conn = duckdb.connect()
    try:
        conn.register("_frame", frame)
        conn.execute("CREATE TABLE batch_rows AS SELECT * FROM _frame")
        conn.unregister("_frame")
        yield conn, "SELECT * FROM batch_rows"
    finally:
        conn.close()


def _target(conn: duckdb.DuckDBPyConnection) -> SqlTarget:
    return SqlTarget(url=DIALECT_URL, creator=lambda: _cursor_per_query_connection(conn))


def _cursor_per_query_connection(conn: duckdb.DuckDBPyConnection) -> Any:
    """duckdb-engine's DB-API connection over ``conn``, giving each SQLAlchemy cursor a DuckDB
    cursor of its own.

    duckdb-engine runs every cursor on one DuckDB connection, where a query's result lives
    only until the next statement. GX's SQL engine fetches a result after handing its
    connection back to the pool, by which time the pool's reset has replaced it (every
    expectation errors with "list index out of range"). A DuckDB cursor per query keeps each
    result until it is read, and results are still read lazily (GX reads only the column names
    of a whole-batch query). Imported here, not at module level: only validating needs it.
    """
    from duckdb_engine import ConnectionWrapper, CursorWrapper

    class OwnCursor(CursorWrapper):
        def __init__(self, cursor: duckdb.DuckDBPyConnection, wrapper: Any) -> None:
            super().__init__(cursor, wrapper)
            self._own = cursor

        def close(self) -> None:
            self._own.close()

    class CursorPerQuery(ConnectionWrapper):
        def cursor(self) -> Any:
            return OwnCursor(conn.cursor(), self)

    return CursorPerQuery(conn.cursor())

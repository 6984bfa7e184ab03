"""The shared warehouse: one DuckDB file that all three pipelines read and write.

Schemas per layer: ``features`` (raw sources, feature store, quality ledger), ``models`` (the
registry), ``inference`` (predictions) and ``monitoring``. DuckDB admits one writer process per
file, so connections here are short-lived and retried while another process holds the lock;
the Dagster side additionally serialises warehouse steps through the ``duckdb`` pool.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from titanic_assets import names, settings

#: The same settings dagster-duckdb opens with: DuckDB refuses a second connection in one process
#: to the same file with different settings, and the CLI, sensors and assets share processes.
CONNECTION_CONFIG = {"custom_user_agent": "dagster"}

_LOCK_MESSAGES = ("Could not set lock", "Conflicting lock", "database is locked")


class WarehouseLockedError(duckdb.IOException):
    """Another process held the warehouse's lock for longer than the caller would wait.

    Transient by nature (the holder finishes), unlike bad data: the Dagster side retries the
    step for it (``data_layer.resources.retry_when_locked``) and for nothing else. A subclass
    of DuckDB's ``IOException``, so code that already handles that keeps working.
    """


def warehouse_path() -> str:
    """The warehouse file: ``$TITANIC_DUCKDB`` if set, else ``data/`` in the project."""
    return settings.value("TITANIC_DUCKDB")


@contextmanager
def connect(
    database: str | None = None, *, read_only: bool = False, timeout_s: float = 120.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for the length of a ``with`` block, waiting while another writer holds it.

    A read-only open of a file that does not exist yet fails with a message that says to run
    the pipelines first, instead of DuckDB's bare IO error.
    """
    path = database or warehouse_path()
    if path != ":memory:":
        if read_only and not Path(path).exists():
            raise FileNotFoundError(
                f"warehouse {path} does not exist yet: materialize the feature pipeline first "
                f"(e.g. `make demo`), or point TITANIC_DUCKDB at an existing file"
            )
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        try:
            conn = duckdb.connect(path, read_only=read_only, config=CONNECTION_CONFIG)
            break
        except duckdb.IOException as error:
            if not any(m in str(error) for m in _LOCK_MESSAGES):
                raise
            if time.monotonic() > deadline:
                raise WarehouseLockedError(
                    f"{path} stayed locked by another process for {timeout_s:.0f} s: "
                    f"{str(error).splitlines()[0]}"
                ) from error
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing: a failure (or a killed process) leaves the warehouse as it was."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def ensure_schemas(conn: duckdb.DuckDBPyConnection) -> None:
    for schema in names.SCHEMAS:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")


def table_exists(conn: duckdb.DuckDBPyConnection, qualified_name: str) -> bool:
    schema, name = qualified_name.split(".", 1)
    # fetchall, not fetchone: DuckDB 2 keeps a half-read result open and refuses further work.
    rows = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    return bool(rows[0][0])

"""The shared warehouse: one DuckDB file that all three pipelines read and write.

Schemas per layer: ``features`` (raw sources, feature store, quality ledger), ``models`` (the
registry), ``inference`` (predictions) and ``monitoring``. DuckDB admits one writer process per
file, so connections here are short-lived and retried while another process holds the lock;
the Dagster side additionally serialises warehouse steps through the ``duckdb`` pool.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from titanic_assets import names, settings

#: The same settings dagster-duckdb opens with: DuckDB refuses a second connection in one process
#: to the same file with different settings, and the CLI, sensors and assets share processes.
CONNECTION_CONFIG = {"custom_user_agent": "dagster"}

#: The most memory DuckDB's buffer pool may hold in one process (its default is 80% of RAM).
#: A scan keeps the blocks it read cached up to that limit: on a year of history the training
#: read alone took a process to 2.38 GiB (``make bench``, ``year_history.peak_rss_gib``), past
#: the 2 GiB a step may use. Past this bound DuckDB evicts cached blocks and spills operators
#: that can (sorts, joins, aggregates) to ``<warehouse>.tmp``. Set with ``SET`` after opening,
#: not in :data:`CONNECTION_CONFIG`: DuckDB refuses a second connection in one process whose
#: open-time config differs, and dagster-duckdb opens with the plain one.
MEMORY_LIMIT = "1GiB"

#: What DuckDB says when another process holds the file (its error has no type of its own).
LOCK_MESSAGES = ("Could not set lock", "Conflicting lock", "database is locked")
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")

#: Seconds :func:`connect` waits for another process to release the file, unless told otherwise.
LOCK_TIMEOUT_S = 120.0


class WarehouseLockedError(duckdb.IOException):
    """Another process held the warehouse file for longer than we were willing to wait.

    A ``duckdb.IOException`` (what callers catching DuckDB's lock error already handle) whose
    message says in plain words which file, who holds it when DuckDB tells, and what to do.
    Transient by nature, unlike bad data: a Dagster step retries for it, and for nothing else
    (``data_layer.locks``).
    """

    def __init__(self, path: str, waited_s: float, detail: str) -> None:
        holder = _LOCK_HOLDER.search(detail)
        who = f"process {holder['pid']} ({holder['program']})" if holder else "another process"
        super().__init__(
            f"the warehouse {path} is locked by {who}, and it was not released within "
            f"{waited_s:g} s. DuckDB lets one process at a time open the file for writing, and any "
            "open connection, even a read-only one (a DuckDB shell, a notebook, a dashboard), "
            "keeps pipelines out. Close that program or wait for its run to finish, then retry; "
            "to browse the data while pipelines run, query a copy of the file, or open it "
            "read-only for a few seconds at a time."
        )
        self.path = path
        self.pid = int(holder["pid"]) if holder else None


def warehouse_path() -> str:
    """The warehouse file: ``$TITANIC_DUCKDB`` if set, else ``data/`` in the project."""
    return settings.value("TITANIC_DUCKDB")


@contextmanager
def connect(
    database: str | None = None, *, read_only: bool = False, timeout_s: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for the length of a ``with`` block, waiting while another writer holds it.

    Gives up after ``timeout_s`` (default :data:`LOCK_TIMEOUT_S`) with a
    :class:`WarehouseLockedError` that says which file and what to do, not DuckDB's raw
    IOException. A read-only open of a file that does not exist yet fails with a message that
    says to run the pipelines first, instead of DuckDB's bare IO error.
    """
    timeout_s = LOCK_TIMEOUT_S if timeout_s is None else timeout_s
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
            if not any(m in str(error) for m in LOCK_MESSAGES):
                raise
            if time.monotonic() > deadline:
                raise WarehouseLockedError(path, timeout_s, str(error)) from error
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    try:
        conn.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")  # a constant, not user input
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


#: Storage hints of the scoring tables (DuckDB's ``USING COMPRESSION``). Passenger ids are
#: unique: compressing them (DuckDB analyses dictionary and FSST encodings for every column
#: segment) cost about as much as scoring the rows, for a column a third the size. A hint
#: applies to tables created from then on; an existing table keeps its storage.
SCORING_STORAGE = {"passenger_id": "USING COMPRESSION uncompressed"}


def ensure_scoring_table(
    conn: duckdb.DuckDBPyConnection, table: str, types: dict[str, str]
) -> None:
    """Create a typed, empty scoring table (``{column: DuckDB type}``) unless it exists."""
    ensure_schemas(conn)
    columns = ", ".join(
        f"{name} {kind} {SCORING_STORAGE.get(name, '')}".rstrip() for name, kind in types.items()
    )
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")


def table_exists(conn: duckdb.DuckDBPyConnection, qualified_name: str) -> bool:
    schema, name = qualified_name.split(".", 1)
    # fetchall, not fetchone: DuckDB 2 keeps a half-read result open and refuses further work.
    rows = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    return bool(rows[0][0])


def table_row_counts(
    conn: duckdb.DuckDBPyConnection, tables: tuple[str, ...] | None = None
) -> dict[str, int]:
    """``{schema.table: rows}`` of ``tables`` (default: every base table, in name order)."""
    if tables is None:
        listed = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' ORDER BY 1, 2"
        ).fetchall()
        tables = tuple(f"{s}.{t}" for s, t in listed)
    counts = {}
    for table in tables:
        quoted = ".".join(f'"{part}"' for part in table.split(".", 1))
        counts[table] = int(conn.execute(f"SELECT count(*) FROM {quoted}").fetchall()[0][0])
    return counts


def table_columns(conn: duckdb.DuckDBPyConnection, qualified_name: str) -> list[tuple[str, str]]:
    """``(column, DuckDB type)`` of a table or view, in order (empty while it does not exist)."""
    schema, name = qualified_name.split(".", 1)
    return [
        (str(column), str(kind))
        for column, kind in conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, name],
        ).fetchall()
    ]


def is_lock_error(error: BaseException) -> bool:
    """Whether DuckDB refused the file because another process holds it (a transient state)."""
    return isinstance(error, WarehouseLockedError) or any(m in str(error) for m in LOCK_MESSAGES)

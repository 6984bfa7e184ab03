"""The warehouse I/O manager: dagster-duckdb's pandas I/O manager, made safe for unattended runs.

Two changes to the stock ``DuckDBPandasIOManager``, both about not losing data:

* The partition delete and the insert run in ONE transaction. Stock, they are two autocommitted
  statements, so a process killed in between leaves a partition half-replaced (or empty).
* Rows are inserted ``BY NAME``, not by position, and an empty frame still creates its typed
  table, so a downstream read of an empty hour finds an empty table rather than none.

Asset code does not know about any of this: swapping this for another warehouse I/O manager
(MotherDuck, Snowflake, ...) means changing the resource, not the assets.

Dagster API: public where one exists (metadata under the documented ``dagster/...`` keys, the
``IOManager`` interface for the hand-over). Custom type handlers and clients for the DuckDB
I/O manager have no public home (Dagster's own dagster-duckdb-pandas imports them from
``dagster._core.storage.db_io_manager``); ``tests/data_layer/test_dagster_contract.py`` fails
loudly if an upgrade changes what this module relies on there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import pandas as pd
from dagster import (
    ConfigurableIOManagerFactory,
    InputContext,
    IOManager,
    MetadataValue,
    OutputContext,
    TableColumn,
    TableSchema,
)

# No public API for these (see the module docstring); pinned by the contract test.
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb import DuckDBIOManager
from dagster_duckdb.io_manager import DuckDbClient

from titanic_assets.core.columns import describe
from titanic_assets.data_layer.batch_scoring import ScoredDay, read_scored_day
from titanic_assets.data_layer.locks import connect_for_step
from titanic_assets.data_layer.warehouse import table_exists, transaction


def table_schema(columns: Iterable[tuple[str, str]]) -> TableSchema:
    """Dagster's table schema for ``(name, type)`` pairs, each column described from
    :mod:`titanic_assets.core.columns` (the asset page's Columns table)."""
    return TableSchema(
        columns=[
            TableColumn(name=name, type=kind, description=describe(name)) for name, kind in columns
        ]
    )


def column_schema(frame: pd.DataFrame) -> TableSchema:
    """Dagster's table schema for a frame, shown on the asset page."""
    return table_schema((str(name), str(dtype)) for name, dtype in frame.dtypes.items())


def _text_typed(frame: pd.DataFrame) -> pd.DataFrame:
    """All-null (or empty) object columns as pandas strings, so a first write still creates a
    VARCHAR column rather than DuckDB's NULL type, which would refuse every later insert.
    Columns holding values keep their dtype: DuckDB types them from the values, and converting
    a million strings to pandas' string dtype would cost more than the insert."""
    objects = [
        c
        for c, dtype in frame.dtypes.items()
        if pd.api.types.is_object_dtype(dtype) and not _has_value(frame[c])
    ]
    if not objects:
        return frame
    return frame.astype(dict.fromkeys(objects, "string"))


def _has_value(column: pd.Series) -> bool:
    """Any non-null value? Looks at the first row before scanning the column."""
    if len(column) and column.iloc[0] is not None and not pd.isna(column.iloc[0]):
        return True
    return column.first_valid_index() is not None


class _TransactionalDuckDbClient(DuckDbClient):
    @staticmethod
    def delete_table_slice(context: OutputContext, table_slice: TableSlice, connection) -> None:
        # The stock client tries the DELETE and swallows "no such table"; inside a transaction
        # that error would abort the whole write, so look before deleting.
        if table_exists(connection, f"{table_slice.schema}.{table_slice.table}"):
            DuckDbClient.delete_table_slice(context, table_slice, connection)

    @staticmethod
    @contextmanager
    def connect(context, table_slice) -> Iterator:
        # Our own connect (not the stock one): it waits out another writer's lock and closes
        # the connection even when the write fails, so a failed step never keeps the lock.
        # A lock held elsewhere for too long retries the step (data_layer/locks.py).
        with connect_for_step(context.resource_config["database"]) as conn, transaction(conn):
            yield conn


class _PandasHandler(DbTypeHandler[pd.DataFrame]):
    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection
    ):
        table = f"{table_slice.schema}.{table_slice.table}"
        obj = _text_typed(obj)
        connection.register("_output_frame", obj)
        try:
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM _output_frame LIMIT 0"
            )
            connection.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _output_frame")
        finally:
            connection.unregister("_output_frame")
        count_key = (
            "dagster/partition_row_count" if context.has_partition_key else "dagster/row_count"
        )
        context.add_output_metadata(
            {
                count_key: MetadataValue.int(len(obj)),
                "dagster/column_schema": MetadataValue.table_schema(column_schema(obj)),
                "storage_kind": MetadataValue.text("duckdb"),
            }
        )

    def load_input(
        self, context: InputContext, table_slice: TableSlice, connection
    ) -> pd.DataFrame:
        if table_slice.partition_dimensions and len(context.asset_partition_keys) == 0:
            return pd.DataFrame()
        if table_slice.partition_dimensions and not table_exists(
            connection, f"{table_slice.schema}.{table_slice.table}"
        ):
            # No partition was ever written: no rows, and the step says which ones it lacks
            # (``partitions.require_upstream_partitions``) instead of DuckDB's catalog error.
            return pd.DataFrame()
        return connection.execute(DuckDbClient.get_select_statement(table_slice)).fetchdf()

    @property
    def supported_types(self):
        return [pd.DataFrame]


class _HandOverIOManager(IOManager):
    """Hands the frame just written to the next step of the same run that loads it.

    With the in-process executor, a downstream step usually loads exactly the table slice its
    upstream step has just written (synthetic passengers -> features, training data -> model,
    predictions -> monitoring). Reading it back from DuckDB would only rebuild the same frame
    (a second or more per million rows), so the last written frame is kept and handed over once,
    if run, asset and partitions match and the input takes every column; anything else is read
    from the warehouse by the wrapped I/O manager. Only one frame is kept, dropped at its first
    load. Built on the public ``IOManager`` interface and context properties only.
    """

    def __init__(self, inner: IOManager) -> None:
        self._inner = inner
        self._last: tuple[tuple, pd.DataFrame] | None = None

    def handle_output(self, context: OutputContext, obj: object) -> None:
        self._last = None
        self._inner.handle_output(context, obj)
        # Only frames that read back alike (a plain 0..n-1 index, as a query returns).
        plain = isinstance(obj, pd.DataFrame) and obj.index.equals(pd.RangeIndex(len(obj)))
        if plain and context.has_asset_key:
            self._last = (_written(context), obj)

    def load_input(self, context: InputContext) -> object:
        last, self._last = self._last, None
        if last is not None and _wanted(context) == last[0]:
            return last[1].copy(deep=False)
        return self._inner.load_input(context)


def _partitions(context: OutputContext | InputContext) -> tuple[str, ...] | None:
    return tuple(sorted(context.asset_partition_keys)) if context.has_asset_partitions else None


def _written(context: OutputContext) -> tuple:
    """What an output wrote: (run, asset, partitions)."""
    return (context.run_id, context.asset_key, _partitions(context))


def _wanted(context: InputContext) -> tuple | None:
    """What an input loads, comparable with :func:`_written`; None when no hand-over applies."""
    upstream = context.upstream_output
    if upstream is None or not context.has_asset_key:
        return None
    if (context.definition_metadata or {}).get("columns"):  # a column subset: read the table
        return None
    return (upstream.run_id, context.asset_key, _partitions(context))


class _ScoredDayHandOver(IOManager):
    """The predictions' output (a :class:`ScoredDay`): batch scoring has already written the
    rows, so an output is only kept, and handed to the next step of the same run that loads
    that day (monitoring); any other load reads the stored day back from the warehouse.

    Dagster builds one per run (its resources are initialised once for an in-process run), so
    nothing outlives the run; a step in another process reads the day back.
    """

    def __init__(self, database: str) -> None:
        self._database = database
        self._kept: tuple[tuple, ScoredDay] | None = None

    def handle_output(self, context: OutputContext, obj: ScoredDay) -> None:
        self._kept = (_written(context), obj)

    def load_input(self, context: InputContext) -> ScoredDay:
        kept, self._kept = self._kept, None
        if kept is not None and _wanted(context) == kept[0]:
            return kept[1]
        start, end = context.asset_partitions_time_window
        with connect_for_step(self._database) as conn:
            return read_scored_day(conn, start, end)


class ScoredDayIOManager(ConfigurableIOManagerFactory):
    """I/O manager of ``inference/predictions``: the scored day, handed over or read back."""

    database: str

    def create_io_manager(self, context) -> IOManager:
        return _ScoredDayHandOver(self.database)


class WarehouseIOManager(DuckDBIOManager):
    """Pandas DataFrames in the DuckDB warehouse; partition writes replace atomically."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [_PandasHandler()]

    @staticmethod
    def default_load_type() -> type | None:
        return pd.DataFrame

    def create_io_manager(self, context) -> IOManager:
        return _HandOverIOManager(
            DbIOManager(
                db_client=_TransactionalDuckDbClient(),
                database=self.database,
                schema=self.schema_,
                type_handlers=self.type_handlers(),
                default_load_type=self.default_load_type(),
                io_manager_name="WarehouseIOManager",
            )
        )

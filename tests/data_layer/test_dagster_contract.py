"""What the warehouse I/O manager relies on in Dagster's private DB I/O manager, pinned.

Custom type handlers and clients for dagster-duckdb have no public API (Dagster's own
dagster-duckdb-pandas imports them from ``dagster._core.storage.db_io_manager``). If an upgrade
renames or reshapes them, these tests fail with the exact difference, instead of the I/O manager
breaking in a run.
"""

from __future__ import annotations

import dataclasses
import inspect

from dagster._core.storage.db_io_manager import DbClient, DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb import DuckDBIOManager
from dagster_duckdb.io_manager import DuckDbClient

from titanic_assets.data_layer import io_manager


def parameters(function) -> list[str]:
    return [p for p in inspect.signature(function).parameters if p != "self"]


def test_type_handler_interface_is_what_our_pandas_handler_implements() -> None:
    assert parameters(DbTypeHandler.handle_output) == [
        "context",
        "table_slice",
        "obj",
        "connection",
    ]
    assert parameters(DbTypeHandler.load_input) == ["context", "table_slice", "connection"]
    assert {"handle_output", "load_input", "supported_types"} <= DbTypeHandler.__abstractmethods__
    assert issubclass(io_manager._PandasHandler, DbTypeHandler)


def test_table_slice_fields_we_read() -> None:
    fields = (
        TableSlice._fields
        if hasattr(TableSlice, "_fields")
        else [f.name for f in dataclasses.fields(TableSlice)]
    )
    assert {"table", "schema", "partition_dimensions", "columns"} <= set(fields)


def test_db_io_manager_constructor_takes_what_we_pass() -> None:
    assert {
        "type_handlers",
        "db_client",
        "database",
        "schema",
        "io_manager_name",
        "default_load_type",
    } <= set(parameters(DbIOManager.__init__))
    assert parameters(DuckDBIOManager.create_io_manager) == ["context"]


def test_duckdb_client_statics_we_override_or_call() -> None:
    assert issubclass(DuckDbClient, DbClient)
    assert parameters(DuckDbClient.delete_table_slice) == ["context", "table_slice", "connection"]
    assert parameters(DuckDbClient.get_select_statement) == ["table_slice"]
    assert len(parameters(DuckDbClient.connect)) == 2  # (context, table_slice), positional
    ours = io_manager._TransactionalDuckDbClient
    for name in ("delete_table_slice", "connect"):
        theirs = parameters(getattr(DuckDbClient, name))
        assert len(parameters(getattr(ours, name))) == len(theirs), name
    assert isinstance(inspect.getattr_static(DuckDbClient, "connect"), staticmethod)


def test_no_other_private_dagster_import_in_the_package() -> None:
    """The private names pinned here and in tests/test_launcher.py are the only ones, each
    with the reason no public API serves."""
    import ast
    from pathlib import Path

    package = Path(io_manager.__file__).resolve().parents[1]
    private = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and module.startswith(("dagster._", "dagster_duckdb.")):
                private.append(f"{path.relative_to(package)}: {module}")
    assert sorted(private) == [
        # Custom type handlers and clients for dagster-duckdb have no public API (Dagster's own
        # dagster-duckdb-pandas imports the same); pinned by the tests above.
        "data_layer/io_manager.py: dagster._core.storage.db_io_manager",
        "data_layer/io_manager.py: dagster_duckdb.io_manager",
        # The opt-in forkserver profile only (deploy/dagster.forkserver.yaml; the default and
        # the PostgreSQL configurations never load it): a custom run launcher has no public
        # API, and the run worker's entry point is private. Pinned by tests/test_launcher.py.
        "launcher.py: dagster._cli.api",
        "launcher.py: dagster._core.launcher",
        "launcher.py: dagster._serdes",
        "launcher.py: dagster._utils.interrupts",
    ]

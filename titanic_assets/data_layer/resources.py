"""The resources every pipeline shares, built for one warehouse file."""

from __future__ import annotations

from typing import Any

from dagster_duckdb import DuckDBResource

from titanic_assets.data_layer.io_manager import WarehouseIOManager
from titanic_assets.data_layer.warehouse import connect, warehouse_path


def warehouse_resources(database: str | None = None) -> dict[str, Any]:
    """``io_manager`` for DataFrame assets and ``duckdb`` for SQL-shaped work, on one file."""
    path = database or warehouse_path()
    return {
        "io_manager": WarehouseIOManager(database=path),
        "duckdb": DuckDBResource(database=path),
    }


def open_warehouse(resource: DuckDBResource):
    """A short connection to the resource's warehouse file, closed even when the step fails.

    Use this instead of ``DuckDBResource.get_connection``: in dagster-duckdb 0.29 that closes
    only on success, so a failed step would keep DuckDB's single-writer lock (or clash with a
    later open in the same process).
    """
    return connect(resource.database)

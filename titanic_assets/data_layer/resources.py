"""The resources every pipeline shares, built for one warehouse file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
from dagster_duckdb import DuckDBResource

from titanic_assets import names
from titanic_assets.data_layer.io_manager import ScoredDayIOManager, WarehouseIOManager
from titanic_assets.data_layer.locks import connect_for_step
from titanic_assets.data_layer.warehouse import warehouse_path


def warehouse_resources(database: str | None = None) -> dict[str, Any]:
    """``io_manager`` for DataFrame assets, the scored day's hand-over from scoring to
    monitoring, and ``duckdb`` for SQL-shaped work, on one file."""
    path = database or warehouse_path()
    return {
        "io_manager": WarehouseIOManager(database=path),
        names.SCORED_DAY_IO_MANAGER: ScoredDayIOManager(database=path),
        "duckdb": DuckDBResource(database=path),
    }


@contextmanager
def open_warehouse(resource: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short connection to the resource's warehouse file, closed even when the step fails.

    Use this instead of ``DuckDBResource.get_connection``: in dagster-duckdb 0.29 that closes
    only on success, so a failed step would keep DuckDB's single-writer lock (or clash with a
    later open in the same process). A lock held elsewhere for too long retries the step
    (``data_layer.locks``); every other failure fails it as before.
    """
    with connect_for_step(resource.database) as conn:
        yield conn

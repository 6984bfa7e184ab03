"""Every warehouse connection carries DuckDB's memory bound (``warehouse.MEMORY_LIMIT``).

Without it DuckDB caches what a scan read up to 80% of RAM, which took the training step on a
year of history past the 2 GiB a step may use.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from titanic_assets.data_layer.resources import open_warehouse, warehouse_resources
from titanic_assets.data_layer.warehouse import CONNECTION_CONFIG, MEMORY_LIMIT, connect


def _setting(conn: duckdb.DuckDBPyConnection) -> str:
    return str(conn.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def _bound() -> str:
    """The bound as DuckDB reports it (it normalises the text, e.g. 1GiB -> 1024.0 MiB)."""
    probe = duckdb.connect()
    try:
        probe.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        return _setting(probe)
    finally:
        probe.close()


def test_connect_and_a_read_only_connect_carry_the_bound(tmp_path: Path) -> None:
    path = str(tmp_path / "w.duckdb")
    with connect(path) as conn:
        assert _setting(conn) == _bound()
    with connect(path, read_only=True) as conn:
        assert _setting(conn) == _bound()


def test_a_dagster_step_connection_carries_it(tmp_path: Path) -> None:
    resource = warehouse_resources(str(tmp_path / "w.duckdb"))["duckdb"]
    with open_warehouse(resource) as conn:
        assert _setting(conn) == _bound()


def test_a_plain_connection_still_joins_an_open_warehouse(tmp_path: Path) -> None:
    """dagster-duckdb's I/O manager opens with the plain config while a step's connection is
    open: the bound is set after opening, so the two configs still match."""
    path = str(tmp_path / "w.duckdb")
    with connect(path) as conn:
        conn.execute("CREATE TABLE t AS SELECT 1 AS x")
        joined = duckdb.connect(path, config=CONNECTION_CONFIG)
        try:
            assert joined.execute("SELECT x FROM t").fetchall() == [(1,)]
            assert _setting(joined) == _bound()
        finally:
            joined.close()

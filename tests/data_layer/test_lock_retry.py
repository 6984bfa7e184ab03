"""A warehouse lock held too long by another process retries the step; bad data does not.

The lock is held by a separate Python process (a DuckDB connection to the file), as a CLI or
a notebook would hold it: a lock held inside the test's own process fails differently.
"""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from titanic_assets.data_layer import locks, warehouse
from titanic_assets.data_layer.resources import open_warehouse


def _hold_lock(path: str, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({path!r}); print('locked', flush=True); "
         f"time.sleep({seconds}); c.close()"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "locked"
    return holder


@dg.asset
def writes_a_row(duckdb: DuckDBResource) -> None:
    with open_warehouse(duckdb) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t AS SELECT 1 AS x")


@dg.asset
def rejects_its_data(duckdb: DuckDBResource) -> None:
    with open_warehouse(duckdb) as conn:
        conn.execute("SELECT 1").fetchall()
    raise dg.Failure("3 passengers without a class")


def _events(result, kind: str) -> list:
    return [e for e in result.all_events if e.event_type_value == kind]


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(warehouse, "LOCK_TIMEOUT_S", 0.5)
    monkeypatch.setattr(locks, "LOCK_RETRY_WAIT_S", 1.0)


def test_lock_held_by_another_process_retries_the_step(tmp_path, quick):
    path = str(tmp_path / "wh.duckdb")
    holder = _hold_lock(path, seconds=2.5)
    try:
        result = dg.materialize([writes_a_row], resources={"duckdb": DuckDBResource(database=path)})
    finally:
        holder.wait(timeout=30)
    assert result.success
    retries = _events(result, "STEP_UP_FOR_RETRY")
    assert retries, "the first attempt met the lock and must have asked for a retry"
    assert len(retries) <= locks.LOCK_RETRIES


def test_bad_data_is_not_retried(tmp_path, quick):
    path = str(tmp_path / "wh.duckdb")
    result = dg.materialize(
        [rejects_its_data],
        resources={"duckdb": DuckDBResource(database=path)},
        raise_on_error=False,
    )
    assert not result.success
    assert not _events(result, "STEP_UP_FOR_RETRY")
    assert "without a class" in _events(result, "STEP_FAILURE")[0].step_failure_data.error.message

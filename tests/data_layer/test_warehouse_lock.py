"""A warehouse held by ANOTHER process: the CLI and a pipeline step give up with plain words.

The lock is held the way it happens to users: a separate Python process keeps a DuckDB
connection open on the file (as a DuckDB shell, a notebook or a dashboard would).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import dagster as dg
import duckdb
import pytest

from titanic_assets import cli
from titanic_assets.data_layer import locks, warehouse
from titanic_assets.data_layer.resources import warehouse_resources
from titanic_assets.data_layer.warehouse import WarehouseLockedError, connect, ensure_schemas
from titanic_assets.feature_pipeline.assets import passenger_features

HOLDER = textwrap.dedent(
    """
    import sys, duckdb
    conn = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
    print("holding", flush=True)
    sys.stdin.read()  # until the test closes our stdin
    """
)


@pytest.fixture
def created(warehouse: str) -> str:
    with connect(warehouse) as conn:
        ensure_schemas(conn)
    return warehouse


def hold(path: str, mode: str) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, path, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


@pytest.fixture(params=["rw", "ro"])
def held(request, created: str) -> Iterator[tuple[str, int]]:
    """The warehouse, open in another process (read-write, or even just read-only)."""
    holder = hold(created, request.param)
    try:
        yield created, holder.pid
    finally:
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(timeout=30)


def test_connect_gives_up_with_a_plain_message_naming_file_and_holder(held) -> None:
    path, pid = held
    with pytest.raises(WarehouseLockedError) as caught, connect(path, timeout_s=0.5):
        pass
    message = str(caught.value)
    assert path in message and f"process {pid}" in message
    assert "Close that program" in message and "copy of the file" in message
    assert "IO Error" not in message
    # Callers that already handled DuckDB's lock error (the sensors' skip) still do.
    assert isinstance(caught.value, duckdb.IOException) and caught.value.pid == pid


def test_cli_exits_1_with_the_plain_message(held, monkeypatch, capsys) -> None:
    path, pid = held
    monkeypatch.setenv("TITANIC_DUCKDB", path)
    monkeypatch.setattr(cli, "CONNECT_TIMEOUT_S", 0.5)
    assert cli.main(["rollback", "--reason", "test"]) == cli.EXIT_UNAVAILABLE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"titanic: the warehouse {path} is locked by process {pid}")
    assert "Traceback" not in err[0] and "IO Error" not in err[0]


def test_a_pipeline_step_fails_with_the_plain_message(held, monkeypatch) -> None:
    path, pid = held
    monkeypatch.setattr(warehouse, "LOCK_TIMEOUT_S", 0.5)
    monkeypatch.setattr(locks, "LOCK_RETRY_WAIT_S", 0.1)  # the step's lock retries, quickly
    result = dg.materialize(
        [passenger_features], resources=warehouse_resources(path), raise_on_error=False
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    text = error.message + "".join((error.cause.message,) if error.cause else ())
    assert f"the warehouse {path} is locked by process {pid}" in text, text


def test_a_lock_released_in_time_is_waited_for(created: str) -> None:
    holder = hold(created, "rw")
    subprocess.Popen(  # releases the lock after half a second, while connect() waits
        [
            sys.executable,
            "-c",
            f"import time, os, signal; time.sleep(0.5); os.kill({holder.pid}, 9)",
        ]
    )
    with connect(created, timeout_s=30) as conn:
        assert conn.execute("SELECT 1").fetchall() == [(1,)]
    holder.wait(timeout=30)

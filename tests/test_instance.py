"""The instance class (titanic_assets/instance.py): Dagster's SQLite storage, connections kept.

What it must keep from the stock storage: the same files, events visible at once to other
processes and to watchers (the UI's live run page), no connection shared across a fork; and a
bounded number of open shards. Also pins the Dagster internals the module relies on.
"""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

from titanic_assets import instance as instance_lib

ROOT = Path(__file__).resolve().parents[1]


@dg.op
def _hello() -> int:
    return 1


@dg.job
def _tiny() -> None:
    _hello()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


def test_the_project_instance_keeps_the_stock_files(home: Path) -> None:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance) is instance_lib.TitanicInstance
        assert type(instance.run_storage) is instance_lib.ReusingSqliteRunStorage
        assert type(instance.event_log_storage) is instance_lib.ReusingSqliteEventLogStorage
        run_id = _tiny.execute_in_process(instance=instance).run_id
    # Where Dagster's default SQLite storage keeps them, so an existing instance reads as before.
    assert (home / "history" / "runs.db").exists()
    assert (home / "history" / "runs" / "index.db").exists()
    assert (home / "history" / "runs" / f"{run_id}.db").exists()


def test_other_processes_see_the_events_at_once(home: Path) -> None:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = _tiny.execute_in_process(instance=instance)
        stored = len(instance.all_logs(result.run_id))
        # Read in another process while this one keeps its connections open.
        code = (
            "import sys, dagster as dg\n"
            "i = dg.DagsterInstance.from_config(sys.argv[1])\n"
            "run = i.get_run_by_id(sys.argv[2])\n"
            "print(len(i.all_logs(sys.argv[2])), run.status.value)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(home), result.run_id],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
    count, status = done.stdout.split()
    assert int(count) == stored
    assert status == "SUCCESS"


def test_a_watcher_sees_new_events_before_any_checkpoint(home: Path) -> None:
    with (
        dg.DagsterInstance.from_config(str(home)) as writer,
        dg.DagsterInstance.from_config(str(home)) as reader,
    ):
        run = writer.get_run_by_id(_tiny.execute_in_process(instance=writer).run_id)
        seen = threading.Event()

        def callback(entry, _cursor) -> None:
            if entry.message == "one more":
                seen.set()

        cursor = str(reader.get_records_for_run(run.run_id).cursor)
        reader.watch_event_logs(run.run_id, cursor, callback)
        try:
            # Stored through the writer's open connection: it reaches the shard's WAL file only.
            # Written again until seen: the file watch may start a moment after ``watch``.
            for _ in range(15):
                writer.report_engine_event("one more", run)
                if seen.wait(1):
                    break
            assert seen.is_set(), "the watcher missed events written to the WAL"
        finally:
            reader.end_watch_event_logs(run.run_id, callback)


def _child_uses_its_own_engine(storage, inherited, queue) -> None:
    engine = storage._engines.get(storage.conn_string_for_shard("index"))
    queue.put(engine is not inherited)


def test_a_forked_child_never_uses_its_parents_connections(home: Path) -> None:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        _tiny.execute_in_process(instance=instance)
        inherited = storage._engines.get(storage.conn_string_for_shard("index"))
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_child_uses_its_own_engine, args=(storage, inherited, queue))
        child.start()
        child.join(60)
        assert queue.get(timeout=5) is True
        # The parent's own connections still work after the child has gone.
        assert _tiny.execute_in_process(instance=instance).success


def test_open_shards_are_bounded(home: Path) -> None:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        for n in range(instance_lib.MAX_SHARDS + 3):
            with storage.run_connection(f"shard-{n}"):
                pass
        assert len(storage._engines._engines) <= instance_lib.MAX_SHARDS


def test_dagster_internals_this_module_relies_on(tmp_path: Path) -> None:
    for name in ("_connect", "_initdb", "conn_string_for_shard", "path_for_shard", "watch", "wipe"):
        assert callable(getattr(SqliteEventLogStorage, name)), name
    assert callable(SqliteEventLogStorageWatchdog._process_log)
    assert callable(SqliteRunStorage.connect)
    assert {"storage", "local_artifact_storage"} <= set(InstanceRef.config_defaults(str(tmp_path)))
    stock = SqliteEventLogStorage(str(tmp_path / "events"))
    for name in ("_base_dir", "_db_lock", "_initialized_dbs", "_obs", "_watchers"):
        assert hasattr(stock, name), name
    assert hasattr(SqliteRunStorage.from_local(str(tmp_path / "runs")), "_conn_string")


def _schema(path: Path) -> list:
    with sqlite3.connect(path) as conn:
        tables = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        stamp = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        mode = conn.execute("PRAGMA journal_mode").fetchall()
    return [tables, stamp, mode]


def test_a_new_shard_is_what_the_stock_code_creates(tmp_path: Path) -> None:
    stock = SqliteEventLogStorage(str(tmp_path / "stock"))
    reusing = instance_lib.ReusingSqliteEventLogStorage(str(tmp_path / "reusing"))
    for storage in (stock, reusing):
        for shard in ("run-1", "run-2"):  # run-2: the copy of the template
            with storage.run_connection(shard):
                pass
    assert instance_lib._TEMPLATE
    expected = _schema(tmp_path / "stock" / "run-2.db")
    assert _schema(tmp_path / "reusing" / "run-1.db") == expected
    assert _schema(tmp_path / "reusing" / "run-2.db") == expected
    # Nothing left behind: no staged copy, no template folder (WAL files of open shards only).
    left = {p.name for p in (tmp_path / "reusing").iterdir()}
    assert {n for n in left if not n.endswith(("-wal", "-shm"))} == {
        "index.db", "run-1.db", "run-2.db"
    }  # fmt: skip


def test_a_shard_another_process_created_is_never_replaced(tmp_path: Path) -> None:
    storage = instance_lib.ReusingSqliteEventLogStorage(str(tmp_path))
    with storage.run_connection("first"):
        pass
    other = SqliteEventLogStorage(str(tmp_path))  # "another process"
    with other.run_connection("taken"):
        pass
    before = (tmp_path / "taken.db").stat().st_ino
    assert storage._new_shard("taken") is False
    assert (tmp_path / "taken.db").stat().st_ino == before
    assert not list(tmp_path.glob("*.new"))

"""The instance class: Dagster's own, with its SQLite run and event storage reusing connections.

Dagster's SQLite storage opens a new SQLAlchemy engine and connection for every access (every
stored event, every run update, every pool claim) and closes it at once (``NullPool``). In WAL
mode the close of the last connection to a file checkpoints the WAL into the file and syncs it
to disk, so each event of a run costs several file syncs: a run of this project stores about
thirty events and claims the warehouse pool once per step, which made a large part of the
in-process overhead of a Dagster run over the plain script (``make bench``, overhead rows).

Here the same files, tables and durability (SQLite's default ``synchronous=FULL``: a commit is on
disk when it returns) are used through a few long-lived connections per file:

* the run storage (``history/runs.db``) keeps one engine with a small connection pool;
* the event log storage keeps one engine per shard (the ``index`` shard and the run shards it
  writes), the ``MAX_SHARDS`` most recently used, and disposes older ones, so a long-lived
  webserver that reads many runs does not keep a file open per run;
* a run's new shard is a copy of an empty shard the stock code has initialised once in the
  process, instead of a run of Dagster's alembic scripts per shard;
* a forked child never uses its parent's connections (SQLite forbids it): the cache belongs to
  the process that filled it;
* watching a run's events (the UI's live run page) follows its shard's WAL file too: with
  connections kept open, new events reach the ``.db`` file only at a checkpoint.

Every other instance setting (schedule storage, compute logs, launcher, pools) is as configured
in ``dagster.yaml``; a non-SQLite storage (PostgreSQL, deploy/) is left as it is.

Dagster API: a custom instance class (``instance_class`` in ``dagster.yaml``) is documented; the
SQLite storage classes it specialises are not public, so ``tests/test_instance.py`` pins what
this module relies on.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

#: Shards of the event log whose engine (and open connection) a process keeps.
MAX_SHARDS = 8


class _Engines:
    """Engines by connection string, most recently used last, owned by one process."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def get(self, conn_string: str, **kwargs: Any) -> Engine:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: drop, never close, the parent's
                for engine in self._engines.values():
                    engine.dispose(close=False)
                self._engines.clear()
                self._pid = os.getpid()
            engine = self._engines.pop(conn_string, None)
            if engine is None:
                # One connection kept open; more only while threads overlap (closed on
                # return, as stock), never a wait for a free one.
                engine = create_engine(conn_string, pool_size=1, max_overflow=-1, **kwargs)
            self._engines[conn_string] = engine
            while len(self._engines) > self._limit:
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
            return engine

    def dispose(self) -> None:
        with self._lock:
            engines, self._engines = list(self._engines.values()), OrderedDict()
            if self._pid == os.getpid():
                for engine in engines:
                    engine.dispose()


class ReusingSqliteRunStorage(SqliteRunStorage):
    """``SqliteRunStorage`` on one engine with a small pool, not an engine per access."""

    def __init__(self, conn_string: str, inst_data: Any = None) -> None:
        super().__init__(conn_string, inst_data)
        self._engines = _Engines(limit=1)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._engines.get(self._conn_string).connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self._engines.dispose()
        super().dispose()


class _WalWatchdog(SqliteEventLogStorageWatchdog):
    """The stock watcher of a run's shard, also woken by writes to the shard's WAL file."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._patterns = [self._log_path, f"{self._log_path}-wal"]

    def on_modified(self, event: Any) -> None:
        self._process_log()

    def on_created(self, event: Any) -> None:
        self._process_log()


_TEMPLATE: list[bytes] = []
_TEMPLATE_LOCK = threading.Lock()


def _empty_shard(storage: SqliteEventLogStorage) -> bytes:
    """The bytes of a run shard initialised by the stock code, with nothing in it (made once
    per process: the same Dagster makes the same empty shard)."""
    with _TEMPLATE_LOCK:
        if not _TEMPLATE:
            with tempfile.TemporaryDirectory(dir=storage._base_dir) as folder:
                path = os.path.join(folder, "template.db")
                engine = create_engine(
                    f"sqlite:///{path}", poolclass=NullPool, connect_args={"timeout": 30}
                )
                SqliteEventLogStorage._initdb(storage, engine)
                engine.dispose()  # the last close checkpoints the WAL into the file
                with open(path, "rb") as file:
                    _TEMPLATE.append(file.read())
        return _TEMPLATE[0]


class ReusingSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` keeping an engine per recently used shard."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines = _Engines(limit=MAX_SHARDS)
        super().__init__(base_dir, inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # As the stock method (one access at a time per process, shard created on first use),
        # with the shard's engine kept instead of created and disposed around each access.
        with self._db_lock:
            engine = self._engines.get(
                self.conn_string_for_shard(shard),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            if shard not in self._initialized_dbs:
                if shard == INDEX_SHARD_NAME or not self._new_shard(shard):
                    self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _new_shard(self, shard: str) -> bool:
        """Create a run's new shard as a copy of an empty one; False if the shard exists.

        Stock, each new shard is initialised by Dagster's alembic code, which loads and runs its
        ~90 migration scripts twice (tens of milliseconds a run). The copy is of an empty shard
        that the stock code has initialised once in this process, so it holds the same tables,
        indexes, WAL mode and alembic stamp. It appears at once or not at all (a hard link), so
        a shard another process has just created is never replaced: then the stock code checks
        it, as always.
        """
        path = self.path_for_shard(shard)
        if os.path.exists(path):
            return False
        template = _empty_shard(self)
        staged = f"{path}.{os.getpid()}-{threading.get_ident()}.new"
        with open(staged, "wb") as file:
            file.write(template)
        try:
            os.link(staged, path)
        except OSError:  # created meanwhile by another process, or no hard links here
            return False
        finally:
            os.unlink(staged)
        return True

    def watch(self, run_id: str, cursor: str | None, callback: Any) -> None:
        # The stock body, with a watcher that also follows the shard's WAL file.
        if not self._obs:
            from watchdog.observers import Observer

            self._obs = Observer()
            self._obs.start()
        watchdog = _WalWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (
            watchdog,
            self._obs.schedule(watchdog, self._base_dir, recursive=True),
        )

    def wipe(self) -> None:
        self._engines.dispose()  # the stock wipe deletes the shard files
        super().wipe()

    def dispose(self) -> None:
        self._engines.dispose()
        super().dispose()


class TitanicInstance(DagsterInstance):
    """Dagster's instance, its SQLite run and event storage swapped for the reusing ones."""

    # What Dagster asks of a custom instance class: its own config keys (none) and defaults
    # (Dagster's, so the files are where a stock instance keeps them).
    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> Any:
        return InstanceRef.config_defaults(base_dir)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        runs, events = kwargs.get("run_storage"), kwargs.get("event_storage")
        if type(runs) is SqliteRunStorage:
            kwargs["run_storage"] = ReusingSqliteRunStorage(runs._conn_string, runs.inst_data)
        if type(events) is SqliteEventLogStorage:
            kwargs["event_storage"] = ReusingSqliteEventLogStorage(
                events._base_dir, events.inst_data
            )
        super().__init__(*args, **kwargs)

"""Step retries for a warehouse lock held too long elsewhere, and for nothing else.

DuckDB admits one writer process per file. Dagster's ``duckdb`` pool keeps this project's own
steps apart, but another process (a CLI, a notebook, an app, a sensor's read) can still hold
the file past :func:`titanic_assets.data_layer.warehouse.connect`'s wait. That is transient:
the step is retried a few times, later. A step that fails on its data (a ``dg.Failure``, a
schema error) is not retried: the same data would fail the same way. A general
``RetryPolicy`` cannot tell the two apart, so the retry is requested only here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import dagster as dg
import duckdb

from titanic_assets.data_layer.warehouse import WarehouseLockedError, connect

#: Retries of a step whose warehouse stayed locked, and the wait before each.
LOCK_RETRIES = 3
LOCK_RETRY_WAIT_S = 30.0


@contextmanager
def retry_when_locked() -> Iterator[None]:
    """Turn :class:`WarehouseLockedError` into a step retry (``dg.RetryRequested``)."""
    try:
        yield
    except WarehouseLockedError as error:
        raise dg.RetryRequested(
            max_retries=LOCK_RETRIES, seconds_to_wait=LOCK_RETRY_WAIT_S
        ) from error


@contextmanager
def connect_for_step(database: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """``connect`` for a Dagster step: waits for the lock, then asks for a retry of the step.
    Only opening is covered; an error while the connection is in use fails as it is."""
    with ExitStack() as stack:
        with retry_when_locked():
            conn = stack.enter_context(connect(database))  # waits warehouse.LOCK_TIMEOUT_S
        yield conn

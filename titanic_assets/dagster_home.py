"""Open the Dagster instance of a given folder, whatever ``$DAGSTER_HOME`` this process has.

The project's dagster.yaml names its event log's folder as ``$DAGSTER_HOME`` (Dagster's
consolidated SQLite event log; a storage's configuration cannot say "this instance's folder").
Every Dagster process (webserver, daemon, code server, run) gets its instance from
``$DAGSTER_HOME``, so the two agree there. A program that opens *another* folder's instance
with ``DagsterInstance.from_config(folder)`` alone would read runs from ``folder`` but events
from its own ``$DAGSTER_HOME`` (or fail without one): :func:`instance_at` sets the variable
while Dagster builds the instance, whose storages fix their paths then.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

HOME_VARIABLE = "DAGSTER_HOME"


def instance_at(home: str | Path) -> dg.DagsterInstance:
    """The instance configured by ``home``/dagster.yaml, all of its storage under ``home``.
    Use it as a context manager (or call ``dispose()``) like any ``DagsterInstance``."""
    previous = os.environ.get(HOME_VARIABLE)
    os.environ[HOME_VARIABLE] = str(Path(home).resolve())
    try:
        return dg.DagsterInstance.from_config(str(home))
    finally:
        if previous is None:
            del os.environ[HOME_VARIABLE]
        else:
            os.environ[HOME_VARIABLE] = previous

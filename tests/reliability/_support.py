"""Helpers shared by the reliability tests: a real Dagster instance home, subprocesses in their
own process group (always killed in ``finally``), and polling with deadlines."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pandas as pd

from titanic_assets import names
from titanic_assets.core.generator import PassengerGenerator
from titanic_assets.core.schema import PASSENGER_COLUMNS
from titanic_assets.data_layer.warehouse import connect

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKSPACE = PROJECT / "workspace.yaml"

T = TypeVar("T")

#: The asset's default passengers_per_hour: backfill runs take no config.
PER_HOUR = 20
#: Rows of the packaged titanic3 list.
HISTORICAL_ROWS = 1309
#: A quick training run (60 trees, 2-fold CV): the tests are about runs, not accuracy.
FAST_TRAINING = {"ops": {names.MODEL_VERSIONS_OP: {"config": {"n_estimators": 60, "cv_folds": 2}}}}


def instance_home(root: Path, config: Path = PROJECT / "dagster.yaml") -> Path:
    """A fresh DAGSTER_HOME holding the project's instance configuration."""
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(config, home / "dagster.yaml")
    return home


def project_env(home: Path, warehouse: str, **extra: str) -> dict[str, str]:
    """The environment a run worker sees: this instance, this warehouse, automation off (the
    test decides what runs, not a schedule firing mid-test)."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TITANIC_DUCKDB": warehouse,
        "TITANIC_AUTOMATION": "off",
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def wait_for(
    probe: Callable[[], T | None],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = 0.5,
    progress: Callable[[], str] | None = None,
) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` (and the state
    ``progress`` reports) at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            state = f" (last state: {progress()})" if progress else ""
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}{state}")
        time.sleep(interval_s)


@contextmanager
def process_group(
    args: list[str], *, env: dict[str, str], log: Path, cwd: Path = PROJECT
) -> Iterator[subprocess.Popen]:
    """Start ``args`` in a new session; on exit SIGTERM the whole group, then SIGKILL."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            stop_group(proc)


def stop_group(proc: subprocess.Popen, grace_s: float = 20.0) -> None:
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    # Children (code server, run workers) may outlive a leader that exited.
    _signal_group(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait(timeout=10)


def _signal_group(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def query(warehouse: str, sql: str, params=None) -> list[tuple]:
    with connect(warehouse, read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def expected_synthetic(historical: pd.DataFrame, hours) -> pd.DataFrame:
    """The passengers the generator makes for ``hours`` (seed 0, :data:`PER_HOUR` each), as the
    hourly runs without config make them."""
    generator = PassengerGenerator.fit(historical[list(PASSENGER_COLUMNS)])
    frames = [
        generator.generate(datetime.strptime(h, "%Y-%m-%d-%H:%M"), PER_HOUR, seed=0) for h in hours
    ]
    return pd.concat(frames, ignore_index=True)

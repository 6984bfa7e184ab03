"""Shared settings and helpers of the benchmarks: one hour, one day, one model, scratch files.

Both arms (Dagster and the plain script) run on copies of the same template warehouse, which
holds the historical backfill (1,309 passengers, certified), so a cycle starts from the state a
user has after ``historical_backfill``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("TITANIC_AUTOMATION", "off")

from titanic_assets import settings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_SCRATCH = ROOT / "benchmarks" / "scratch"

#: The one hourly partition every cycle generates, and the day it belongs to.
HOUR = datetime(2026, 11, 2, 0, 0)
PARTITION_KEY = HOUR.strftime("%Y-%m-%d-%H:%M")
BATCH_ID = HOUR.strftime("%Y-%m-%d-%H:00")
DAY = HOUR.replace(hour=0)
DAY_KEY = DAY.strftime("%Y-%m-%d")
#: Training sees everything up to the end of the day (the hour's passengers included).
CUTOFF = (DAY + timedelta(days=1) - timedelta(microseconds=1)).isoformat()
SEED = 0

#: Model settings of the benchmark, passed to BOTH arms (through run config in Dagster). Smaller
#: than the project's defaults (300 trees, 5-fold CV) so a 1M-row cycle takes seconds, not
#: minutes; the work is identical in both arms, so the ratio stays fair.
MODEL = {"n_estimators": 50, "max_depth": 3, "n_jobs": 1, "cv_folds": 2}


def scratch_dir(base: Path | None = None) -> Path:
    # Absolute: DAGSTER_HOME (made under it) must be, and children run from the project root.
    path = Path(base or settings.value("TITANIC_BENCH_SCRATCH") or DEFAULT_SCRATCH).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def copy_warehouse(source: Path, target: Path) -> None:
    """Replace ``target`` by a copy of ``source`` (a closed DuckDB file)."""
    for suffix in ("", ".wal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)


def dagster_home(scratch: Path) -> Path:
    """A Dagster instance folder in scratch with the project's dagster.yaml, set as DAGSTER_HOME."""
    home = scratch / "dagster_home"
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


class Stopwatch:
    """Named laps: ``with sw.lap("name"): ...`` adds the elapsed seconds under that name."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}

    @contextmanager
    def lap(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.laps[name] = self.laps.get(name, 0.0) + time.perf_counter() - started

    @property
    def total(self) -> float:
        return sum(self.laps.values())


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def spread(values: list[float]) -> float:
    """(max - min) / median: how noisy the repetitions were."""
    m = median(values)
    return float((max(values) - min(values)) / m) if m else 0.0


def json_child(command: list[str], log=print) -> dict:
    """Run ``command`` (a ``python -m benchmarks...`` child) from the project root, passing its
    progress lines to ``log``, and return the JSON object it prints last."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    last = ""
    for line in process.stdout:
        if line.startswith("{"):
            last = line
        else:
            log(line.rstrip())
    if process.wait() != 0:
        raise RuntimeError(f"{' '.join(command[1:4])} ... exited {process.returncode}")
    return json.loads(last)


def machine() -> dict:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages / 2**30:.1f} GiB"
    except (ValueError, OSError):
        memory = "unknown"
    return {
        "cores": os.cpu_count(),
        "memory": memory,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }

"""Scenario 5: time to load the code location against a bare ``import dagster``.

Each figure is a fresh interpreter (``python -c ...``), wall time including interpreter start,
alternating the two commands, median of ``reps``. Loading the code location is what the UI
waits for on every reload: importing ``titanic_assets.definitions`` builds the Definitions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from benchmarks.common import ROOT, median

COMMANDS = {
    "codeloc_load_s": "import titanic_assets.definitions",
    "import_dagster_s": "import dagster",
}


def run(reps: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    samples: dict[str, list[float]] = {k: [] for k in COMMANDS}
    for _ in range(reps):
        for key, code in COMMANDS.items():
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            samples[key].append(time.perf_counter() - started)
    heavy = subprocess.run(
        [sys.executable, "-c", "import sys, titanic_assets.definitions; print(' '.join(sorted("
         "m for m in ('great_expectations', 'xgboost', 'sklearn', 'matplotlib', 'scipy') "
         "if m in sys.modules)))"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    return {
        **{k: median(v) for k, v in samples.items()},
        "samples": samples,
        "reps": reps,
        "heavy_modules_at_load": heavy.split() if heavy else [],
    }

"""Scenario 4: peak RSS of a 1M-passenger partition run, measured in a fresh subprocess.

The child (``python -m benchmarks.child``) runs the full Dagster cycle for one partition of N
passengers (feature run, training, inference) on a copy of the template warehouse; the parent
reads the child's peak resident set size from ``os.wait4`` (ru_maxrss, KiB on Linux).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.common import ROOT


def peak_rss(scratch: Path, template: Path, n: int, arm: str = "dagster") -> dict:
    target = scratch / f"memory_{arm}.duckdb"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "benchmarks.child", "--arm", arm, "--passengers", str(n),
               "--template", str(template), "--warehouse", str(target)]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"memory child ({arm}, N={n}) exited {process.returncode}")
    times = json.loads(output.decode().strip().splitlines()[-1])
    return {"peak_rss_gib": usage.ru_maxrss / 2**20, "cycle_s": times["total"], "rows": n}

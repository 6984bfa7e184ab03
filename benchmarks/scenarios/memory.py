"""Scenario 4: peak RSS of a 1M-passenger partition run, measured in a fresh subprocess.

The child (``python -m benchmarks.child``) runs the full Dagster cycle for one partition of N
passengers (feature run, training, inference) on a copy of the template warehouse and reports
its own peak resident set size (``VmHWM``). The parent's ``os.wait4`` figure (``ru_maxrss``) is
kept beside it as ``wait4_maxrss_gib``, but it is not the child's: Linux folds in the high-water
mark of the forked copy of the parent before exec, so after the 1M in-process scenarios it
reported the benchmark process's own ~2.9 GiB (the 2.87 vs 1.85 GiB gap of earlier runs).
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
    return {
        "peak_rss_gib": times["peak_rss_kib"] / 2**20,
        "wait4_maxrss_gib": usage.ru_maxrss / 2**20,
        "cycle_s": times["total"],
        "rows": n,
    }

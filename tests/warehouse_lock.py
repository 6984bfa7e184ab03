"""Another process holding the warehouse file, the way a running pipeline step or a notebook
does: DuckDB's lock is per process, so a test must hold it from outside its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def hold_warehouse_lock(path: str | Path) -> subprocess.Popen:
    """Open ``path`` read-write in a child process until its stdin is closed."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('locked', flush=True); "
         "sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "locked"
    return holder

"""The default instance's run launcher under the real daemon: a new process per run.

Runs launched by the daemon (``live``) go through Dagster's ``DefaultRunLauncher`` (the project's
dagster.yaml names no launcher), which asks the code server to start a process for each run.
Checked the way it matters to a user: every run had a process of its own that is gone when the
run ends; *Terminate* in the UI (the webserver's process, not the daemon's) cancels a run; a run
whose process is killed is failed (by the code server that started it) instead of hanging as
started.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import dagster as dg
import pytest

from tests.e2e.conftest import LiveDagster
from tests.warehouse_lock import hold_warehouse_lock
from titanic_assets import names
from titanic_assets.dagster_home import instance_at
from titanic_assets.data_layer.warehouse import connect, table_exists

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TERMINATE = """
mutation Terminate($runId: String!) {
  terminateRun(runId: $runId) {
    __typename
    ... on TerminateRunFailure { message }
    ... on PythonError { message }
  }
}
"""

#: Hours no other test generates (the partitions' first day; the others use "yesterday").
CANCELLED_HOUR = f"{names.PARTITIONS_START}-05:00"
KILLED_HOUR = f"{names.PARTITIONS_START}-06:00"


def _started_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid the run worker reported itself ("Started process for run (pid: N).")."""
    for entry in instance.all_logs(run_id):
        if entry.dagster_event is not None and entry.message.startswith("Started process"):
            return int(entry.message.rsplit("pid: ", 1)[1].rstrip(")."))
    return None


def process_is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, exited but not yet reaped, is not)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _run_in_progress_with_pid(live: LiveDagster, run_id: str) -> int:
    """Wait until the run's process is up and working (status STARTED, its pid logged)."""

    def probe() -> int | None:
        run = next((r for r in live.runs() if r.run_id == run_id), None)
        if run is None or run.status != "STARTED":
            return None
        with instance_at(str(live.home)) as instance:
            return _started_pid(instance, run_id)

    return live.wait_for(f"run {run_id} started with its pid", probe, 120)


def _finished(live: LiveDagster, run_id: str, timeout: float) -> str:
    def probe() -> str | None:
        run = next((r for r in live.runs() if r.run_id == run_id), None)
        return run.status if run and run.status in {"SUCCESS", "FAILURE", "CANCELED"} else None

    return live.wait_for(f"run {run_id} to end", probe, timeout)


def _hour_rows(live: LiveDagster, hour: str) -> int:
    with connect(str(live.warehouse), read_only=True) as conn:
        if not table_exists(conn, names.SYNTHETIC_PASSENGERS_TABLE):
            return 0
        return conn.execute(
            f"SELECT count(*) FROM {names.SYNTHETIC_PASSENGERS_TABLE} WHERE batch_id = ?", [hour]
        ).fetchall()[0][0]


def test_each_run_ran_in_a_process_of_its_own(live: LiveDagster, first_cycle) -> None:
    servers = {live.procs["daemon"].pid, live.procs["webserver"].pid}
    with instance_at(str(live.home)) as instance:
        assert type(instance.run_launcher) is dg.DefaultRunLauncher
        pids = {name: _started_pid(instance, run.run_id) for name, run in first_cycle.items()}
    assert None not in pids.values(), pids
    assert len(set(pids.values())) == len(pids), pids  # one process per run
    assert not servers & set(pids.values())
    # Each process ended with its run: its memory went back to the system.
    assert not [name for name, pid in pids.items() if process_is_running(pid)], pids


def test_terminate_in_the_ui_cancels_the_run_and_writes_nothing(live: LiveDagster) -> None:
    holder = hold_warehouse_lock(live.warehouse)  # keeps the run busy in its first step
    try:
        run_id = live.launch("feature_pipeline", partition=CANCELLED_HOUR)
        pid = _run_in_progress_with_pid(live, run_id)
        done = live.graphql(TERMINATE, {"runId": run_id})["terminateRun"]
        assert done["__typename"] == "TerminateRunSuccess", done
        assert _finished(live, run_id, 120) == "CANCELED"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    live.wait_for(f"process {pid} to exit", lambda: not process_is_running(pid), 60)
    assert _hour_rows(live, CANCELLED_HOUR) == 0


def test_a_killed_run_process_is_failed_not_left_started(live: LiveDagster) -> None:
    holder = hold_warehouse_lock(live.warehouse)
    try:
        run_id = live.launch("feature_pipeline", partition=KILLED_HOUR)
        pid = _run_in_progress_with_pid(live, run_id)
        os.kill(pid, signal.SIGKILL)
        # The code server that started the process sees it die and fails the run (Dagster's
        # default launcher has no health check for run monitoring to call).
        assert _finished(live, run_id, 120) == "FAILURE"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with instance_at(str(live.home)) as instance:
        messages = [entry.message for entry in instance.all_logs(run_id)]
    assert any(
        f"process for {run_id} was terminated by signal {signal.SIGKILL.value}" in m
        for m in messages
    ), messages[-5:]
    assert _hour_rows(live, KILLED_HOUR) == 0

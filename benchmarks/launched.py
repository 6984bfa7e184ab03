"""The launched arm: each job run in a new process, started the way the daemon starts it.

Under ``make dev`` no run executes in the process that asked for it: the daemon dequeues the
run and calls ``instance.launch_run``; the instance's ``DefaultRunLauncher`` asks the code
location's code server to start it, and the code server spawns a fresh Python process that
imports Dagster, loads the code location and sets up the instance before its first step.

This arm reproduces that path with public entry points only:

* ``dagster code-server start`` serves the code location (as ``dagster dev`` and the daemon's
  workspace do), started once per warehouse, with ``TITANIC_DUCKDB`` pointing at it;
* ``dagster job launch --grpc-port ...`` submits each run to an instance whose coordinator
  launches at once (the project's ``dagster.yaml`` minus the queue, whose only addition is the
  wait for the daemon's next dequeue tick, a setting: 2 s);
* the run's own event log gives the timings: launch (``RUN_STARTING``) to ``RUN_SUCCESS`` is
  what the run costs, launch to its first ``STEP_START`` is the fixed cost before any work.

The CLI's own start-up (it builds the run from the code server's snapshot) is not counted: the
daemon pays it once, not per run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import yaml

from benchmarks.common import CUTOFF, DAY_KEY, MODEL, PARTITION_KEY, ROOT, SEED

#: Where the CLI and the code server live (the venv of the interpreter running the benchmark).
BIN = Path(sys.executable).parent
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def launch_instance_yaml(home: Path) -> None:
    """The project's dagster.yaml in ``home``, with runs launched at once instead of queued."""
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    # DefaultRunCoordinator: submit_run is launch_run (the queue is Dagster's default otherwise).
    config["run_coordinator"] = {
        "module": "dagster._core.run_coordinator",
        "class": "DefaultRunCoordinator",
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LaunchedArm:
    """Runs the cycle's jobs as launched runs against one warehouse file and one instance."""

    def __init__(self, warehouse: str, home: Path) -> None:
        import dagster as dg

        self.warehouse = warehouse
        self.home = home
        self.env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "TITANIC_DUCKDB": warehouse,
            "PYTHONPATH": str(ROOT),
        }
        self.port = _free_port()
        self.server = subprocess.Popen(
            [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1",
             "-p", str(self.port), "-m", "titanic_assets.definitions",
             "--log-level", "error"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._wait_for_server()
        self.instance = dg.DagsterInstance.from_config(str(home))

    def _wait_for_server(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"code server exited {self.server.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                # The port opens before the location has loaded; a ping through the CLI would
                # cost an interpreter start, so wait for the first launch to succeed instead.
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("code server did not start")

    def close(self) -> None:
        self.server.terminate()
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()
        self.instance.dispose()

    def __enter__(self) -> LaunchedArm:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- one run ---------------------------------------------------------------------------

    def run(self, job: str, run_config: dict | None = None, partition: str | None = None):
        """Launch ``job``, wait for it, return ``(wall_s, fixed_s, step_s)`` from its events."""
        run_id = str(uuid.uuid4())
        config = {**(run_config or {}), "loggers": {"console": {"config": {"log_level": "ERROR"}}}}
        command = [str(BIN / "dagster"), "job", "launch", "--grpc-host", "127.0.0.1",
                   "--grpc-port", str(self.port), "-j", job, "--run-id", run_id,
                   "--config-json", json.dumps(config)]  # fmt: skip
        if partition:
            command += ["--tags", json.dumps({"dagster/partition": partition})]
        for attempt in range(20):  # the code server may still be loading the location
            done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True)
            if done.returncode == 0:
                break
            if "UNAVAILABLE" not in done.stderr and "Could not reach" not in done.stderr:
                raise RuntimeError(f"dagster job launch {job} failed:\n{done.stderr[-2000:]}")
            time.sleep(1 + attempt)
        else:
            raise RuntimeError(f"code server never answered:\n{done.stderr[-2000:]}")
        status = self._wait(run_id)
        if status != "SUCCESS":
            raise RuntimeError(f"launched {job} ended {status}: {self._failure(run_id)}")
        return self.timings(run_id)

    def _wait(self, run_id: str, timeout: float = 3600.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.instance.get_run_by_id(run_id)
            if run is not None and run.status.value in TERMINAL:
                return run.status.value
            if run is not None and run.status.value == "QUEUED":
                raise RuntimeError(f"run {run_id} was queued, not launched: check {self.home}")
            time.sleep(0.1)
        raise TimeoutError(f"run {run_id} did not finish in {timeout} s")

    def _failure(self, run_id: str) -> str:
        for entry in self.instance.all_logs(run_id):
            event = entry.dagster_event
            if event is not None and event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE"):
                return event.message or str(event.event_specific_data)
        return "see the run's event log"

    def timings(self, run_id: str) -> dict[str, float]:
        """Seconds from launch: to the run process's start, first step, success; and steps."""
        marks: dict[str, float] = {}
        starts: dict[str, float] = {}
        steps: dict[str, float] = {}
        for entry in self.instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None:
                continue
            kind = event.event_type_value
            if kind in ("PIPELINE_STARTING", "RUN_STARTING"):
                marks.setdefault("launched", entry.timestamp)
            elif kind in ("PIPELINE_START", "RUN_START"):
                marks.setdefault("process_started", entry.timestamp)
            elif kind == "STEP_START":
                marks.setdefault("first_step", entry.timestamp)
                starts[event.step_key] = entry.timestamp
            elif kind == "STEP_SUCCESS" and event.step_key in starts:
                steps[event.step_key] = entry.timestamp - starts[event.step_key]
            elif kind in ("PIPELINE_SUCCESS", "RUN_SUCCESS"):
                marks["finished"] = entry.timestamp
        t0 = marks["launched"]
        return {
            "wall_s": marks["finished"] - t0,
            "to_run_start_s": marks.get("process_started", t0) - t0,
            "fixed_s": marks["first_step"] - t0,
            "steps": steps,
        }

    # --- the cycle, with the same config as the in-process arm ----------------------------

    def cycle(self, n: int, model: dict | None = None) -> dict[str, float]:
        feature = self.run(
            "feature_pipeline",
            {"ops": {"features__synthetic_passengers": {
                "config": {"passengers_per_hour": n, "seed": SEED}}}},
            PARTITION_KEY,
        )  # fmt: skip
        training = self.run(
            "training_pipeline",
            {"ops": {
                "models__training_data": {"config": {"cutoff": CUTOFF}},
                "models__model_versions": {"config": dict(MODEL if model is None else model)},
            }},
        )  # fmt: skip
        inference = self.run("inference_pipeline", None, DAY_KEY)
        runs = {
            "feature_pipeline": feature,
            "training_pipeline": training,
            "inference_pipeline": inference,
        }
        times = {name: r["wall_s"] for name, r in runs.items()}
        times["total"] = sum(times.values())
        times["fixed_s_per_run"] = sum(r["fixed_s"] for r in runs.values()) / len(runs)
        times["to_run_start_s_per_run"] = sum(r["to_run_start_s"] for r in runs.values()) / 3
        times["predictions_step"] = inference["steps"].get("inference__predictions", float("nan"))
        return times

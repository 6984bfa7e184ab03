"""The launched arm: each job run in a new process, launched by the real daemon.

Under ``make dev`` no run executes in the process that asked for it: the UI puts the run in the
queue, the daemon dequeues it and calls ``instance.launch_run``, and the instance's run
launcher starts a process for it (the project's ``dagster.yaml``: Dagster's
``DefaultRunLauncher``, which asks the code server to spawn a fresh interpreter per run; the
opt-in ``deploy/dagster.forkserver.yaml``: a fork of a server with the libraries imported). This
arm goes through exactly that path:

* the real webserver and daemon on an instance configuration as it is (the default, or the
  profile given), in an instance of their own, automation off (no schedule or sensor adds
  runs), started by the same harness as the end-to-end tests
  (:func:`tests.e2e.conftest.start_live`);
* each run is submitted through the webserver's GraphQL API, as the launchpad does;
* the run's own event log gives the timings: launch (``RUN_STARTING``, written when the daemon
  launches it) to ``RUN_SUCCESS`` is what the run costs, launch to its first ``STEP_START`` is
  the fixed cost before any work. The wait in the queue before the launch is not counted: it is
  the queue's polling interval, a setting (2 s).

The daemon is long-lived, as under ``make dev``: whatever the launcher sets up once (the
forkserver of the opt-in profile, the code server) is set up by an untimed first run, as a
user's daemon has long done.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from benchmarks.common import CUTOFF, DAY_KEY, MODEL, PARTITION_KEY, SEED
from titanic_assets import names
from titanic_assets.dagster_home import instance_at

TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


class LaunchedArm:
    """Runs the cycle's jobs through the daemon against one warehouse file and one instance."""

    def __init__(self, base: Path, profile: Path | None = None) -> None:
        from tests.e2e.conftest import DEFAULT_PROFILE, start_live

        self._stack = contextlib.ExitStack()
        self.live = self._stack.enter_context(
            start_live(
                base,
                {"TITANIC_AUTOMATION": "off"},
                test_speedups=False,
                profile=profile or DEFAULT_PROFILE,
            )
        )
        self.warehouse = str(self.live.warehouse)
        self.instance = self._stack.enter_context(instance_at(str(self.live.home)))

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> LaunchedArm:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- one run ---------------------------------------------------------------------------

    def run(self, job: str, run_config: dict | None = None, partition: str | None = None):
        """Launch ``job``, wait for it, return ``(wall_s, fixed_s, step_s)`` from its events."""
        run_id = self.live.launch(job, {**(run_config or {}), **QUIET}, partition)
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
            {"ops": {names.SYNTHETIC_PASSENGERS_OP: {
                "config": {"passengers_per_hour": n, "seed": SEED}}}},
            PARTITION_KEY,
        )  # fmt: skip
        training = self.run(
            "training_pipeline",
            {"ops": {
                names.TRAINING_DATA_OP: {"config": {"cutoff": CUTOFF}},
                names.MODEL_VERSIONS_OP: {"config": dict(MODEL if model is None else model)},
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
        times["predictions_step"] = inference["steps"].get(names.PREDICTIONS_OP, float("nan"))
        return times

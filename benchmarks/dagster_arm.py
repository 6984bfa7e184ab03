"""The Dagster arm: the same cycle as a user runs it, jobs executed on a real instance.

Like ``make demo``: ``Definitions`` from the code location, ``execute_in_process`` of the
project's jobs (in-process executor, the ``duckdb`` pool, run and event storage in
``$DAGSTER_HOME``), model settings passed as run config.
"""

from __future__ import annotations

import time
from datetime import datetime

import dagster as dg

from benchmarks.common import CUTOFF, DAY_KEY, MODEL, PARTITION_KEY, SEED
from titanic_assets import names

QUIET_CONSOLE = {"console": {"config": {"log_level": "ERROR"}}}


class DagsterArm:
    def __init__(self, warehouse: str, instance: dg.DagsterInstance | None = None) -> None:
        from titanic_assets.definitions import build_definitions

        self.warehouse = warehouse
        self.defs = build_definitions(warehouse)
        self.instance = instance or dg.DagsterInstance.get()

    def _run(self, job: str, **kwargs) -> tuple[dg.ExecuteInProcessResult, float]:
        started = time.perf_counter()
        # Console logging at ERROR only keeps the terminal readable; every event is still
        # written to the instance's event log, as in any run.
        run_config = {**kwargs.pop("run_config", {}), "loggers": QUIET_CONSOLE}
        result = self.defs.resolve_job_def(job).execute_in_process(
            instance=self.instance, raise_on_error=False, run_config=run_config, **kwargs
        )
        elapsed = time.perf_counter() - started
        if not result.success:
            failure = result.get_step_failure_events()
            reason = failure[0].step_failure_data.error.message if failure else "see the run"
            raise RuntimeError(f"{job} failed: {reason.strip()}")
        return result, elapsed

    def feature_run(self, n: int, partition_key: str = PARTITION_KEY) -> float:
        config = {
            "ops": {
                names.SYNTHETIC_PASSENGERS_OP: {"config": {"passengers_per_hour": n, "seed": SEED}}
            }
        }
        return self._run("feature_pipeline", partition_key=partition_key, run_config=config)[1]

    def training_run(self, cutoff: str = CUTOFF, model: dict | None = None) -> float:
        config = {
            "ops": {
                names.TRAINING_DATA_OP: {"config": {"cutoff": cutoff}},
                names.MODEL_VERSIONS_OP: {"config": dict(MODEL if model is None else model)},
            }
        }
        return self._run("training_pipeline", run_config=config)[1]

    def inference_run(self, day_key: str = DAY_KEY) -> tuple[float, dict[str, float]]:
        """Wall time of the run, and the seconds of each step (from the event log)."""
        result, elapsed = self._run("inference_pipeline", partition_key=day_key)
        return elapsed, self.step_seconds(result.run_id)

    def step_seconds(self, run_id: str) -> dict[str, float]:
        starts: dict[str, float] = {}
        out: dict[str, float] = {}
        for entry in self.instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type_value == "STEP_START":
                starts[event.step_key] = entry.timestamp
            elif event.event_type_value == "STEP_SUCCESS" and event.step_key in starts:
                out[event.step_key] = entry.timestamp - starts[event.step_key]
        return out

    def cycle(self, n: int, model: dict | None = None) -> dict[str, float]:
        times = {
            "feature_pipeline": self.feature_run(n),
            "training_pipeline": self.training_run(CUTOFF, model),
        }
        times["inference_pipeline"], steps = self.inference_run(DAY_KEY)
        times["total"] = sum(times.values())
        times["predictions_step"] = steps.get(names.PREDICTIONS_OP, float("nan"))
        return times


def historical_backfill(warehouse: str) -> None:
    """Fill a fresh warehouse with the packaged passenger list (setup, not timed)."""
    DagsterArm(warehouse)._run("historical_backfill")


def hour_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d-%H:%M")

"""Concurrency through the real instance: the daemon's run queue and the ``duckdb`` pool.

A ``dagster-daemon`` (queued run coordinator, default run launcher: one process per run) drains
a 48-partition backfill of the hourly feature pipeline, a training run and two inference runs,
all submitted at once. Every run must succeed, and afterwards the warehouse must hold exactly
what the deterministic generator says: no passenger, feature row or prediction lost or doubled.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime, timedelta

import dagster as dg
import pandas as pd
import pytest

from tests.reliability._support import (
    BIN,
    FAST_TRAINING,
    HISTORICAL_ROWS,
    PER_HOUR,
    WORKSPACE,
    expected_synthetic,
    instance_home,
    process_group,
    project_env,
    query,
    wait_for,
)
from titanic_assets import settings
from titanic_assets.dagster_home import instance_at
from titanic_assets.definitions import build_definitions

SETUP_DAY = "2026-11-01"
SETUP_HOURS = ("2026-11-01-10:00", "2026-11-01-11:00")
BACKFILL_START = datetime(2026, 11, 2)
#: 48 by default (two days); TITANIC_RELIABILITY_HOURS=12 gives a quicker local run.
N_HOURS = settings.value("TITANIC_RELIABILITY_HOURS")
#: Each queued run costs ~8 s of CPU (a process, Dagster, the code location, GX), and a busy
#: 2-core machine was seen at ~12 s a run: allow 30 s a run before calling it stuck.
RUNS_DEADLINE_S = 120 + 30 * (N_HOURS + 3)
#: The whole test: the runs' deadline plus setup (history, two hours, a training) before it and
#: the checks and the catch-up inference runs after it. Never below the runs' own deadline, so a
#: slow machine fails on the deadline's message, not on pytest's bare timeout.
TEST_TIMEOUT_S = RUNS_DEADLINE_S + 900
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(TEST_TIMEOUT_S)]
BACKFILL_HOURS = [
    (BACKFILL_START + timedelta(hours=h)).strftime("%Y-%m-%d-%H:00") for h in range(N_HOURS)
]
#: Passengers per backfilled day, as the generator will make them.
PER_DAY = {
    day: PER_HOUR * sum(1 for h in BACKFILL_HOURS if h.startswith(day))
    for day in sorted({h[:10] for h in BACKFILL_HOURS})
}
BACKFILL_DAYS = tuple(PER_DAY)
TERMINAL = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def _cli(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "dagster"), "job", *args, "-w", str(WORKSPACE)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _failure_summary(instance: dg.DagsterInstance, runs) -> str:
    lines = []
    for run in runs:
        if run.status == dg.DagsterRunStatus.SUCCESS:
            continue
        errors = [
            e.message
            for e in instance.all_logs(run.run_id)
            if e.dagster_event and e.dagster_event.is_failure
        ]
        lines.append(f"{run.job_name} {run.tags.get('dagster/partition')} {run.status}: {errors}")
    return "\n".join(lines)


def test_backfill_training_and_inference_at_once_lose_nothing(
    tmp_path, historical_passengers, capsys
):
    warehouse = str(tmp_path / "warehouse.duckdb")
    home = instance_home(tmp_path)
    env = project_env(home, warehouse)
    defs = build_definitions(warehouse)
    instance = instance_at(str(home))
    try:
        # Setup (in-process, same instance): the history, two synthetic hours, a champion.
        def run(job: str, **kwargs) -> None:
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, **kwargs)
            assert result.success, job

        run("historical_backfill")
        for hour in SETUP_HOURS:
            run("feature_pipeline", partition_key=hour)
        run("training_pipeline", run_config=FAST_TRAINING)
        setup_runs = {r.run_id for r in instance.get_runs()}

        started = time.monotonic()
        with process_group(
            [str(BIN / "dagster-daemon"), "run", "-w", str(WORKSPACE)],
            env=env,
            log=tmp_path / "daemon.log",
        ) as daemon:
            submitters = [
                _cli(env, "backfill", "-j", "feature_pipeline", "--noprompt",
                     "--partitions", ",".join(BACKFILL_HOURS)),
                _cli(env, "launch", "-j", "training_pipeline",
                     "--config-json", json.dumps(FAST_TRAINING)),
                _cli(env, "launch", "-j", "inference_pipeline",
                     "--tags", json.dumps({"dagster/partition": SETUP_DAY})),
                _cli(env, "launch", "-j", "inference_pipeline",
                     "--tags", json.dumps({"dagster/partition": BACKFILL_DAYS[0]})),
            ]  # fmt: skip
            for proc in submitters:
                out, _ = proc.communicate(timeout=180)
                assert proc.returncode == 0, out
            expected_runs = N_HOURS + 3

            def all_finished():
                runs = [r for r in instance.get_runs() if r.run_id not in setup_runs]
                assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
                if len(runs) >= expected_runs and all(r.status in TERMINAL for r in runs):
                    return runs
                return None

            def state() -> str:
                counts: dict[str, int] = {}
                for r in instance.get_runs():
                    if r.run_id not in setup_runs:
                        counts[r.status.value] = counts.get(r.status.value, 0) + 1
                return str(counts)

            runs = wait_for(
                all_finished,
                timeout_s=RUNS_DEADLINE_S,
                what="the queued runs",
                interval_s=1.0,
                progress=state,
            )
        wall_s = time.monotonic() - started

        succeeded = [r for r in runs if r.status == dg.DagsterRunStatus.SUCCESS]
        assert len(succeeded) == len(runs), _failure_summary(instance, runs)
        by_job: dict[str, int] = {}
        for r in runs:
            by_job[r.job_name] = by_job.get(r.job_name, 0) + 1
        assert by_job == {
            "feature_pipeline": N_HOURS,
            "training_pipeline": 1,
            "inference_pipeline": 2,
        }

        # --- passengers: exactly the generator's, once each -----------------------------------
        expected = expected_synthetic(historical_passengers, [*SETUP_HOURS, *BACKFILL_HOURS])
        stored = pd.DataFrame(
            query(
                warehouse,
                "SELECT passenger_id, batch_id, pclass, sex, survived "
                "FROM features.synthetic_passengers ORDER BY passenger_id",
            ),
            columns=["passenger_id", "batch_id", "pclass", "sex", "survived"],
        )
        want = (
            expected[["passenger_id", "batch_id", "pclass", "sex", "survived"]]
            .sort_values("passenger_id")
            .reset_index(drop=True)
        )
        assert len(stored) == len(want) == (N_HOURS + 2) * PER_HOUR
        pd.testing.assert_frame_equal(stored, want, check_dtype=False)

        # --- feature rows: one per passenger, all certified -----------------------------------
        feature_ids = query(
            warehouse,
            "SELECT source, count(*), count(DISTINCT passenger_id) "
            "FROM features.passenger_features GROUP BY 1 ORDER BY 1",
        )
        assert feature_ids == [
            ("historical", HISTORICAL_ROWS, HISTORICAL_ROWS),
            ("synthetic", (N_HOURS + 2) * PER_HOUR, (N_HOURS + 2) * PER_HOUR),
        ]
        missing = query(
            warehouse,
            "SELECT count(*) FROM features.synthetic_passengers p "
            "ANTI JOIN features.passenger_features f USING (passenger_id)",
        )[0][0]
        assert missing == 0

        # --- predictions: the setup day exactly; the racing day never doubled -----------------
        per_day = _prediction_counts(warehouse)
        assert per_day[SETUP_DAY] == (len(SETUP_HOURS) * PER_HOUR,) * 2
        raced = per_day.get(BACKFILL_DAYS[0], (0, 0))
        assert raced[0] == raced[1]  # no passenger scored twice
        # The racing run scored whole certified hours: every hour of its day whose feature run
        # had finished before it started, and none whose feature run began after it ended. (0 is
        # right only when it really ran before any hour of its day had finished.)
        lower, upper = _racing_bounds(instance, runs, BACKFILL_DAYS[0])
        assert raced[0] % PER_HOUR == 0, f"a partial hour was scored: {raced[0]}"
        assert lower <= raced[0] <= upper, (lower, raced[0], upper)
        # The catch-up the daily schedule does once a day has ended: now nothing is missing.
        for day in BACKFILL_DAYS:
            run("inference_pipeline", partition_key=day)
        per_day = _prediction_counts(warehouse)
        assert per_day == {
            SETUP_DAY: (len(SETUP_HOURS) * PER_HOUR,) * 2,
            **{day: (n, n) for day, n in PER_DAY.items()},
        }
        orphans = query(
            warehouse,
            "SELECT count(*) FROM inference.predictions ANTI JOIN features.passenger_features "
            "USING (passenger_id)",
        )[0][0]
        assert orphans == 0

        # --- the registry: two versions, one champion ----------------------------------------
        versions = query(
            warehouse, "SELECT count(*), sum(is_champion::INT) FROM models.model_versions"
        )[0]
        assert versions == (2, 1)

        with capsys.disabled():
            print(
                f"\n[reliability] concurrency: {len(runs)} runs launched through the daemon "
                f"({by_job}), {len(succeeded)} succeeded, rows lost 0, duplicates 0, "
                f"racing-day predictions {raced[0]}/{PER_DAY[BACKFILL_DAYS[0]]}, wall {wall_s:.0f}s"
            )
    finally:
        instance.dispose()


def _racing_bounds(instance: dg.DagsterInstance, runs, day: str) -> tuple[int, int]:
    """(fewest, most) predictions the racing inference run of ``day`` may have made, from the
    start and end times of its run and of the day's feature runs."""
    [racing] = [
        r
        for r in runs
        if r.job_name == "inference_pipeline" and r.tags.get("dagster/partition") == day
    ]
    race = instance.get_run_stats(racing.run_id)
    lower = upper = 0
    for r in runs:
        if r.job_name != "feature_pipeline" or not r.tags["dagster/partition"].startswith(day):
            continue
        hour = instance.get_run_stats(r.run_id)
        lower += PER_HOUR * (hour.end_time <= race.start_time)
        upper += PER_HOUR * (hour.start_time <= race.end_time)
    return lower, upper


def _prediction_counts(warehouse: str) -> dict[str, tuple[int, int]]:
    rows = query(
        warehouse,
        "SELECT strftime(event_time, '%Y-%m-%d') AS day, count(*), count(DISTINCT passenger_id) "
        "FROM inference.predictions GROUP BY 1",
    )
    return {day: (n, distinct) for day, n, distinct in rows}

"""The whole stack killed at once, mid-backfill and mid-training, then restarted.

What a machine that loses power does to a running deployment: the real ``dagster-webserver`` and
``dagster-daemon`` (and the code servers they start, and every run process) on the project's
instance configuration run an 8-hour backfill of the hourly feature pipeline (one run per hour)
and a training run; the test freezes every one of those processes with SIGSTOP and then
SIGKILLs them all, at a moment when some hours are done, some runs are in progress or queued,
and the training run is inside its registering step. Then it starts the stack again.

What Dagster does then (stock Dagster: the default run launcher, the queued run coordinator),
and what the test asserts:

* runs still QUEUED at the kill stay queued and are launched by the restarted daemon;
* runs that were STARTED (or STARTING) stay so after the restart, with run monitoring on: the
  default launcher offers it no health check of a run's process, and the code server that
  would have noticed its child's death died too. They count against ``max_concurrent_runs``
  and the ``duckdb`` pool slot a dead step held stays taken: the queue moves no further until
  they end, which run monitoring does once they pass ``max_runtime_seconds`` (an hour in
  dagster.yaml, tested in tests/test_instance_profiles.py). The user ends them at once as the UI
  offers for a run whose process is gone: "Terminate", with "Force termination" (GraphQL
  ``terminateRuns``, ``MARK_AS_CANCELED_IMMEDIATELY``); ``free_slots_after_run_end_seconds``
  later run monitoring frees their pool slots and the queued hours run;
* the user re-executes each cancelled run from failure (the run page's "Re-execute", "From
  failure"; GraphQL ``launchRunReexecution``): the steps the dead run had finished are not run
  again, the rest are. (A re-execution is not tagged as part of the backfill: ``dagster job
  backfill`` submits its runs and marks the backfill completed at once, and Dagster keeps the
  backfill tags only on re-executions of a backfill still in progress.) The backfill is done
  when every hour's latest run succeeded. Then the user scores the day.

Afterwards the warehouse opens, holds every generated passenger, feature row and prediction
exactly once, and the registry holds the old champion or the new one: every version's artifact
verifies, one champion, no version without its register event.

This instance's run monitoring looks every 2 s and frees a finished run's slots after 5 s
(:data:`MONITORING`; the project's 10 s and 30 s are sized for a deployment, where waiting half a
minute costs nothing): the rest is the project's dagster.yaml.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import defaultdict
from contextlib import suppress
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml

from tests.e2e.conftest import (
    FINISHED,
    LOCATION,
    REPOSITORY,
    STARTUP_S,
    LiveDagster,
    instance_processes,
    migrate,
    serve,
    stop_stack,
)
from tests.reliability._support import (
    BIN,
    FAST_TRAINING,
    HISTORICAL_ROWS,
    PER_HOUR,
    PROJECT,
    WORKSPACE,
    expected_synthetic,
    project_env,
    query,
    wait_for,
)
from titanic_assets import names
from titanic_assets.dagster_home import instance_at
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.definitions import build_definitions

DAY = "2026-11-09"
#: The backfilled hours: one run each, enough that the kill finds some done and some to come.
HOURS = [f"{DAY}-{hour:02d}:00" for hour in range(8)]
#: The training run's step that registers the new version and decides the champion.
REGISTERING_STEP = names.MODEL_VERSIONS_OP
#: Run monitoring for this test only (the rest of the instance is the project's dagster.yaml):
#: look every 2 s instead of 10, free a finished run's pool slots after 5 s instead of 30.
MONITORING = {"poll_interval_seconds": 2, "free_slots_after_run_end_seconds": 5}
#: Polls of the restarted daemon's run monitoring that must leave the dead runs as they were.
MONITORING_POLLS = 3
#: Generous deadlines: a 2-core machine under a load of 20 was seen taking 5 minutes to reach the
#: training run's registering step (a minute for one hourly run).
RUN_S = 600
#: The test's own deadlines in a row (first hour, kill moment, resumed runs twice, inference)
#: plus two stack starts and the setup: a slow machine fails on a deadline's message, not on
#: pytest's bare timeout.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.timeout(RUN_S * 5 + 2 * STARTUP_S + 300),
]
REEXECUTE = """
mutation Reexecute($parentRunId: String!) {
  launchRunReexecution(
    reexecutionParams: {parentRunId: $parentRunId, strategy: FROM_FAILURE}
  ) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""
TERMINATE_RUNS = """
mutation Terminate($runIds: [String!]!) {
  terminateRuns(runIds: $runIds, terminatePolicy: MARK_AS_CANCELED_IMMEDIATELY) {
    __typename
    ... on TerminateRunsResult { terminateRunResults { __typename } }
    ... on PythonError { message }
  }
}
"""
IN_PROGRESS = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)
STEP_EVENTS = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS,
               dg.DagsterEventType.STEP_FAILURE}  # fmt: skip


def _instance_yaml() -> str:
    config = yaml.safe_load((PROJECT / "dagster.yaml").read_text())
    config["run_monitoring"] = {**config["run_monitoring"], **MONITORING}
    return yaml.safe_dump(config, sort_keys=False)


# --- processes ------------------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) of a live process; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1]), int(fields[2])


def _cmdline(pid: int) -> str:
    with suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    return ""


def _stack_pids(stack: LiveDagster) -> set[int]:
    """Every process of the stack: the servers' process groups, all their descendants (a
    process may leave its group), and anything carrying this instance's DAGSTER_HOME."""
    roots = {proc.pid for proc in stack.procs.values()}
    parents: dict[int, list[int]] = defaultdict(list)
    found = set(roots) | set(instance_processes(str(stack.home)))
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat is None or stat[0] in ("Z", "X"):
            continue
        parents[stat[1]].append(int(entry.name))
        if stat[2] in roots:
            found.add(int(entry.name))
    todo = list(found)
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    found.discard(os.getpid())
    return found


def _kind(cmdline: str) -> str:
    """What a process of the stack is, from its command line."""
    kinds = (
        ("dagster-webserver", "webserver"),
        ("dagster-daemon", "daemon"),
        (" api grpc", "code server"),
        # The default launcher asks the code server to start a run: a multiprocessing child.
        ("spawn_main", "run worker"),
        ("resource_tracker", "multiprocessing resource tracker"),
        # Dagster's compute log manager: a tail and an orphan watcher per stream of a run.
        ("tail -F", "compute log watcher"),
        ("poll_compute_logs", "compute log watcher"),
        ("watch_orphans", "compute log watcher"),
    )
    return next((kind for needle, kind in kinds if needle in cmdline), "other")


def _kill_everything(stack: LiveDagster) -> dict[int, str]:
    """SIGSTOP every process of the stack (again until no new one appears: a process may fork
    between a scan and its stop), then SIGKILL them all: nobody runs between the first stop
    and the last kill, as when the power goes. Returns pid -> command line."""
    stopped: dict[int, str] = {}
    while new := _stack_pids(stack) - stopped.keys():
        for pid in new:
            stopped[pid] = _cmdline(pid)
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
    for pid in stopped:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for proc in stack.procs.values():
        proc.wait(timeout=30)

    def all_dead() -> bool:
        return all((_proc_stat(pid) or ("X",))[0] in ("Z", "X") for pid in stopped)

    wait_for(all_dead, timeout_s=30, what="every killed process to be gone")
    return stopped


# --- runs -----------------------------------------------------------------------------------


def _cli_backfill(env: dict, hours: list[str]) -> str:
    """``dagster job backfill`` as a user types it; returns the backfill id it prints."""
    out = subprocess.run(
        [str(BIN / "dagster"), "job", "backfill", "-j", names.FEATURE_JOB, "--noprompt",
         "--partitions", ",".join(hours), "-w", str(WORKSPACE)],
        env=env, cwd=PROJECT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    [line] = [x for x in out.stdout.splitlines() if x.startswith("Launched backfill job")]
    return line.split("`")[1]


def _runs(instance: dg.DagsterInstance, **tags: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(dg.RunsFilter(tags=tags) if tags else None))


def _steps(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """step key -> its last event (STEP_START, STEP_SUCCESS, STEP_FAILURE)."""
    last: dict[str, str] = {}
    for event in instance.all_logs(run_id, of_type=STEP_EVENTS):
        last[event.step_key] = event.dagster_event_type.value
    return last


def _latest_by_hour(instance: dg.DagsterInstance) -> dict[str, dg.DagsterRun]:
    """Each backfilled hour's newest feature_pipeline run (a re-execution included)."""
    latest: dict[str, dg.DagsterRun] = {}
    for run in _runs(instance):  # newest first
        hour = run.tags.get("dagster/partition")
        if run.job_name == names.FEATURE_JOB and hour in HOURS:
            latest.setdefault(hour, run)
    return latest


def _messages(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [entry.message for entry in instance.all_logs(run_id) if entry.message]


# --- warehouse ------------------------------------------------------------------------------


def _registry_problems(warehouse: str) -> tuple[list[str], pd.DataFrame]:
    """What is wrong with the registry (empty: sound), and its versions. Opens read-write, which
    replays DuckDB's WAL: this is also the check that the warehouse opens after the kill."""
    problems = []
    with connect(warehouse) as conn:
        versions = registry.list_versions(conn)
        for version in versions["version"]:
            try:
                registry.load_model(conn, int(version))  # SHA-256, signature, loadable
            except registry.RegistryError as error:
                problems.append(str(error))
        champions = versions.loc[versions["is_champion"], "version"].tolist()
        if len(champions) != 1:
            problems.append(f"champions {champions} (expected exactly one)")
        state = conn.execute("SELECT version FROM models.champion_state").fetchall()
        if state != [(champions[0] if champions else None,)]:
            problems.append(f"champion_state {state} disagrees with is_champion {champions}")
        log = registry.promotions(conn)
        registered = sorted(log.loc[log["action"] == "register", "version"].tolist())
        if registered != sorted(versions["version"].tolist()):
            problems.append(f"register events {registered} for versions {versions['version']}")
        if versions["version"].tolist() != list(range(1, len(versions) + 1)):
            problems.append(f"version numbers {versions['version'].tolist()} are not 1..n")
    return problems, versions


def _assert_every_row_once(warehouse: str, historical: pd.DataFrame) -> None:
    expected = expected_synthetic(historical, HOURS)
    columns = ["passenger_id", "batch_id", "pclass", "sex", "survived"]
    stored = pd.DataFrame(
        query(warehouse, f"SELECT {', '.join(columns)} FROM features.synthetic_passengers "
              "ORDER BY passenger_id"),
        columns=columns,
    )  # fmt: skip
    want = expected[columns].sort_values("passenger_id").reset_index(drop=True)
    assert len(stored) == len(want) == len(HOURS) * PER_HOUR
    pd.testing.assert_frame_equal(stored, want, check_dtype=False)
    features = query(
        warehouse,
        "SELECT source, count(*), count(DISTINCT passenger_id) "
        "FROM features.passenger_features GROUP BY 1 ORDER BY 1",
    )
    synthetic = len(HOURS) * PER_HOUR
    assert features == [
        ("historical", HISTORICAL_ROWS, HISTORICAL_ROWS),
        ("synthetic", synthetic, synthetic),
    ]
    assert query(
        warehouse,
        "SELECT count(*) FROM features.synthetic_passengers "
        "ANTI JOIN features.passenger_features USING (passenger_id)",
    ) == [(0,)]
    predictions = query(
        warehouse,
        "SELECT count(*), count(DISTINCT passenger_id), "
        "count(*) FILTER (WHERE passenger_id IN (SELECT passenger_id FROM "
        "features.synthetic_passengers)) FROM inference.predictions",
    )
    assert predictions == [(synthetic, synthetic, synthetic)], predictions


# --- the test -------------------------------------------------------------------------------


def test_the_whole_stack_killed_mid_backfill_and_mid_training_recovers_exactly(
    tmp_path, historical_passengers, capsys
):
    started = time.monotonic()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(_instance_yaml())
    warehouse = tmp_path / "warehouse.duckdb"
    env = project_env(home, str(warehouse), DAGSTER_DISABLE_TELEMETRY="1")
    migrate(home, env)
    instance = instance_at(str(home))
    procs: dict[str, subprocess.Popen] = {}
    try:
        # Setup in this process, on the same instance and warehouse: the history and a champion.
        defs = build_definitions(str(warehouse))
        for job, config in ((names.HISTORICAL_BACKFILL_JOB, None),
                            (names.TRAINING_JOB, FAST_TRAINING)):  # fmt: skip
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance, run_config=config
            )
            assert result.success, job
        setup = {r.run_id for r in _runs(instance)}

        # --- first life: the backfill, then a training run once an hour is done ---------------
        for life in ("life1", "life2"):
            (tmp_path / life).mkdir()
        first = serve(tmp_path / "life1", home, warehouse, env, procs)
        backfill = _cli_backfill(env, HOURS)
        backfill_runs = lambda: _runs(instance, **{"dagster/backfill": backfill})  # noqa: E731

        def an_hour_done() -> bool:
            return any(r.status == dg.DagsterRunStatus.SUCCESS for r in backfill_runs())

        wait_for(an_hour_done, timeout_s=RUN_S, what="the first backfilled hour")
        training = first.client().submit_job_execution(
            names.TRAINING_JOB,
            repository_location_name=LOCATION,
            repository_name=REPOSITORY,
            run_config=FAST_TRAINING,
            tags={"dagster/priority": "1"},  # ahead of the queued hours
        )

        def kill_moment() -> bool:
            steps = _steps(instance, training)
            if steps.get(REGISTERING_STEP) not in (None, "STEP_START"):
                raise AssertionError(f"the training run passed its registering step: {steps}")
            return steps.get(REGISTERING_STEP) == "STEP_START" and not all(
                r.is_finished for r in backfill_runs()
            )

        wait_for(kill_moment, timeout_s=RUN_S, what="the training run's registering step",
                 interval_s=0.2)  # fmt: skip
        killed = _kill_everything(first)
        killed_at = time.monotonic()
        at_kill = {r.run_id: r.status for r in _runs(instance) if r.run_id not in setup}
        kinds: dict[str, int] = defaultdict(int)
        for cmdline in killed.values():
            kinds[_kind(cmdline)] += 1
        (tmp_path / "killed.txt").write_text(  # for a failure's post-mortem
            "".join(f"{pid} {_kind(cmd)}: {cmd}\n" for pid, cmd in sorted(killed.items()))
        )
        assert kinds["webserver"] and kinds["daemon"] and kinds["code server"], killed
        # Every run STARTED at the kill had its process among them.
        started_runs = sum(s == dg.DagsterRunStatus.STARTED for s in at_kill.values())
        assert kinds["run worker"] >= started_runs >= 1, (started_runs, killed)
        hours_done = sorted(
            r.tags["dagster/partition"] for r in backfill_runs()
            if at_kill[r.run_id] == dg.DagsterRunStatus.SUCCESS
        )  # fmt: skip
        assert hours_done and len(hours_done) < len(HOURS), at_kill
        assert at_kill[training] == dg.DagsterRunStatus.STARTED

        # The registry right after the kill, before anything restarts: old or new, whole.
        problems, versions = _registry_problems(str(warehouse))
        assert not problems, problems
        killed_training = "registered" if len(versions) == 2 else "not registered"

        # --- second life: Dagster's recovery, then the user's ----------------------------------
        second = serve(tmp_path / "life2", home, warehouse, env, procs)
        restarted_s = time.monotonic() - killed_at
        dead = sorted(run_id for run_id, status in at_kill.items() if status in IN_PROGRESS)
        queued = sorted(run_id for run_id, s in at_kill.items() if s == dg.DagsterRunStatus.QUEUED)

        def statuses(run_ids: list[str]) -> dict[str, dg.DagsterRunStatus]:
            return {r.run_id: r.status for r in _runs(instance) if r.run_id in run_ids}

        # Dagster's own recovery: run monitoring polls, and leaves the dead runs as they were.
        time.sleep(MONITORING_POLLS * MONITORING["poll_interval_seconds"])
        assert statuses(dead) == {run_id: at_kill[run_id] for run_id in dead}
        # The user's: force-terminate them, as the UI offers for a run whose process is gone,
        done = second.graphql(TERMINATE_RUNS, {"runIds": dead})["terminateRuns"]
        assert done["__typename"] == "TerminateRunsResult", done
        assert {r["__typename"] for r in done["terminateRunResults"]} == {"TerminateRunSuccess"}
        assert set(statuses(dead).values()) == {dg.DagsterRunStatus.CANCELED}
        # ... and re-execute each from failure (its run page: "Re-execute", "From failure"):
        # the steps the dead run finished are not run again.
        resumed = []
        for run_id in dead:
            launched = second.graphql(REEXECUTE, {"parentRunId": run_id})["launchRunReexecution"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
            resumed.append(launched["run"]["runId"])

        def all_ended() -> dict[str, dg.DagsterRunStatus] | None:
            found = statuses(queued + resumed)
            return found if all(s.value in FINISHED for s in found.values()) else None

        ended = wait_for(all_ended, timeout_s=RUN_S * 2, what="the queued and resumed runs",
                         progress=lambda: str(statuses(queued + resumed)))  # fmt: skip
        # Queued runs outlive the stack: the restarted daemon launched them once slots freed.
        failed = {r: _messages(instance, r)[-3:] for r, s in ended.items()
                  if s != dg.DagsterRunStatus.SUCCESS}  # fmt: skip
        assert not failed, failed
        recovered_s = time.monotonic() - killed_at
        # The backfill is complete: every hour's latest run succeeded.
        latest = _latest_by_hour(instance)
        assert {h: r.status for h, r in latest.items()} == {
            h: dg.DagsterRunStatus.SUCCESS for h in HOURS
        }
        second.wait_run(second.launch(names.INFERENCE_JOB, partition=DAY), timeout=RUN_S)
        finished_s = time.monotonic() - killed_at
        stop_stack(procs, home)
        procs.clear()

        # --- the warehouse: every row exactly once; the registry whole -------------------------
        _assert_every_row_once(str(warehouse), historical_passengers)
        problems, versions = _registry_problems(str(warehouse))
        assert not problems, problems
        # v1, the killed training's if it had registered, the resumed one's.
        assert len(versions) == (3 if killed_training == "registered" else 2), versions

        states = defaultdict(int)
        for status in at_kill.values():
            states[status.value] += 1
        with capsys.disabled():
            print(
                f"\n[reliability] whole-stack kill: {len(killed)} processes SIGKILLed at once "
                f"({dict(kinds)}); runs at the kill {dict(states)}, hours done "
                f"{len(hours_done)}/{len(HOURS)}, training killed in its registering step "
                f"({killed_training}); restart {restarted_s:.0f}s; {len(dead)} dead runs still "
                f"in progress after {MONITORING_POLLS} monitoring polls, force-terminated and "
                f"re-executed from failure, and with the {len(queued)} queued ones done by "
                f"{recovered_s:.0f}s, the day's inference by {finished_s:.0f}s after the kill; "
                f"rows lost 0, duplicates 0, registry "
                f"versions {versions['version'].tolist()} champion "
                f"v{int(versions.loc[versions['is_champion'], 'version'].iloc[0])}; "
                f"wall {time.monotonic() - started:.0f}s"
            )
    finally:
        stop_stack(procs, home)
        instance.dispose()

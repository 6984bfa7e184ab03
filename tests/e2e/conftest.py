"""A live Dagster: the real webserver and daemon as subprocesses, driven over GraphQL.

``live`` starts ``dagster-webserver`` and ``dagster-daemon run`` on 127.0.0.1 (a free port),
each in its own process group, with a temporary ``DAGSTER_HOME`` (the project's dagster.yaml
plus test-only speed-ups) and a temporary warehouse. Teardown signals both process groups and
then any process that still carries this instance's ``DAGSTER_HOME`` in its environment (the
run workers and code servers the two started), even when a test failed.

It is session-scoped so the API tests and the browser test share one server: starting the
pair costs ~20 s on a 2-core machine. ``first_cycle`` drives the part both depend on: the
historical backfill launched by hand, then the training and inference runs that the asset
sensors launch by themselves.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from titanic_assets import names

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LOCATION = "titanic_assets"
REPOSITORY = "__repository__"

#: Generous deadlines: a 2-core machine runs a webserver, a daemon, two code servers and runs.
STARTUP_S = 120
RUN_S = 150

#: Test-only environment: fast sensors, a schedule that ticks every minute, low thresholds.
TEST_ENV = {
    "TITANIC_AUTOMATION": "on",
    "TITANIC_SENSOR_INTERVAL_S": "3",
    "TITANIC_FEATURE_SCHEDULE_CRON": "* * * * *",
    "TITANIC_RETRAIN_MIN_NEW_ROWS": "30",
    # No retraining on monitoring verdicts: PSI of a 20-passenger test hour is noise, and a
    # retraining launched by it would move the champion's cutoff past the hours the
    # new-passengers test adds. (The degradation sensor still evaluates every tick.)
    "TITANIC_PSI_CEILING": "100",
    "TITANIC_ACCURACY_FLOOR": "0",
    # A minute without a new hour makes the hourly features stale (test_automation.py), and the
    # daemon re-evaluates freshness every few seconds instead of every 30.
    "TITANIC_FEATURES_FRESH_MINUTES": "1",
    "FRESHNESS_DAEMON_INTERVAL_SECONDS": "5",
    "GX_ANALYTICS_ENABLED": "false",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "PYTHONUNBUFFERED": "1",
}

FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}

SCHEDULE_STATE_QUERY = """
query Schedule($selector: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $selector) {
    __typename
    ... on Schedule { scheduleState { id status } }
  }
}
"""

START_SCHEDULE = """
mutation Start($selector: ScheduleSelector!) {
  startSchedule(scheduleSelector: $selector) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on PythonError { message }
  }
}
"""

STOP_SCHEDULE = """
mutation Stop($id: String!) {
  stopRunningSchedule(id: $id) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on PythonError { message }
  }
}
"""

RUNS_QUERY = """
query Runs($filter: RunsFilter, $limit: Int) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs { results { runId jobName status tags { key value } } }
    ... on PythonError { message }
  }
}
"""


LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
  }
}
"""

BACKFILL_STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { id status }
    ... on PythonError { message }
  }
}
"""

#: Backfill states after which the backfill daemon does nothing more.
BACKFILL_DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


LOCATION_STATUS = """
{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: The instance configuration in effect by default: stock Dagster classes only.
DEFAULT_PROFILE = ROOT / "dagster.yaml"


def instance_yaml(overrides: dict[str, Any] | None = None, profile: Path = DEFAULT_PROFILE) -> str:
    """An instance configuration (the project's dagster.yaml unless ``profile`` names another)
    with test-only speed-ups (queue polled every second)."""
    config = yaml.safe_load(profile.read_text())
    config["run_queue"]["dequeue_interval_seconds"] = 1
    config["sensors"] = {"use_threads": True, "num_workers": 4}
    config["schedules"] = {"use_threads": True, "num_workers": 2}
    config.update(overrides or {})
    return yaml.safe_dump(config, sort_keys=False)


@dataclass
class Run:
    run_id: str
    job: str
    status: str
    tags: dict[str, str]


@dataclass
class LiveDagster:
    url: str
    home: Path
    warehouse: Path
    logs: dict[str, Path]
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    # -- GraphQL ------------------------------------------------------------------------------
    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
        assert not payload.get("errors"), payload["errors"]
        return payload["data"]

    def client(self):
        from dagster_graphql import DagsterGraphQLClient

        host, port = self.url.removeprefix("http://").split(":")
        return DagsterGraphQLClient(host, port_number=int(port), timeout=60)

    def launch(self, job: str, run_config: dict | None = None, partition: str | None = None):
        """Launch a job as the UI's launchpad does (a partition is the dagster/partition tag)."""
        tags = {"dagster/partition": partition} if partition else {}
        return self.client().submit_job_execution(
            job,
            repository_location_name=LOCATION,
            repository_name=REPOSITORY,
            run_config=run_config or {},
            tags=tags,
        )

    def launch_asset_backfill(self, keys: list[list[str]], partitions: list[str]) -> str:
        """An asset backfill, as the UI's "Materialize" on selected partitions launches it: the
        backfill daemon submits its runs according to the assets' backfill policies."""
        params = {
            "assetSelection": [{"path": key} for key in keys],
            "partitionNames": partitions,
            "fromFailure": False,
        }
        result = self.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert result["__typename"] == "LaunchBackfillSuccess", result
        return result["backfillId"]

    def backfill_status(self, backfill_id: str) -> str:
        found = self.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        assert found["__typename"] == "PartitionBackfill", found
        return found["status"]

    def runs(self, job: str | None = None, tags: dict[str, str] | None = None) -> list[Run]:
        run_filter: dict[str, Any] = {}
        if job:
            run_filter["pipelineName"] = job
        if tags:
            run_filter["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        data = self.graphql(RUNS_QUERY, {"filter": run_filter, "limit": 200})["runsOrError"]
        assert data["__typename"] == "Runs", data
        return [
            Run(r["runId"], r["jobName"], r["status"], {t["key"]: t["value"] for t in r["tags"]})
            for r in data["results"]
        ]

    def set_schedule(self, name: str, running: bool) -> None:
        """Toggle a schedule on or off, as its switch in the UI does."""
        selector = {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "scheduleName": name,
        }
        found = self.graphql(SCHEDULE_STATE_QUERY, {"selector": selector})["scheduleOrError"]
        assert found["__typename"] == "Schedule", found
        if (found["scheduleState"]["status"] == "RUNNING") == running:
            return
        if running:
            result = self.graphql(START_SCHEDULE, {"selector": selector})["startSchedule"]
        else:
            state_id = found["scheduleState"]["id"]
            result = self.graphql(STOP_SCHEDULE, {"id": state_id})["stopRunningSchedule"]
        assert result["__typename"] == "ScheduleStateResult", result
        assert result["scheduleState"]["status"] == ("RUNNING" if running else "STOPPED")

    # -- waiting --------------------------------------------------------------------------------
    def wait_for(self, what: str, probe: Callable[[], Any], timeout: float = RUN_S) -> Any:
        """Poll ``probe`` until it returns something truthy; fail with the logs' tails."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            self.assert_alive()
            try:
                result = probe()
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                last_error, result = error, None
            if result:
                return result
            time.sleep(1.0)
        pytest.fail(
            f"timed out after {timeout:.0f} s waiting for {what} ({last_error})\n{self.tails()}"
        )

    def wait_run(self, run_id: str, timeout: float = RUN_S) -> Run:
        """Wait for a run to finish; fail unless it succeeded."""

        def finished() -> Run | None:
            found = [r for r in self.runs() if r.run_id == run_id]
            return found[0] if found and found[0].status in FINISHED else None

        run = self.wait_for(f"run {run_id}", finished, timeout)
        assert run.status == "SUCCESS", f"{run.job} {run_id}: {run.status}\n{self.tails()}"
        return run

    def wait_succeeded(self, what: str, select: Callable[[Run], bool], timeout=RUN_S) -> Run:
        """Wait until some run chosen by ``select`` succeeded; fail early if all such failed."""

        def probe() -> Run | None:
            chosen = [r for r in self.runs() if select(r)]
            done = [r for r in chosen if r.status == "SUCCESS"]
            if not done and chosen and all(r.status in {"FAILURE", "CANCELED"} for r in chosen):
                pytest.fail(f"{what}: every run failed: {chosen}\n{self.tails()}")
            return done[0] if done else None

        return self.wait_for(what, probe, timeout)

    # -- processes --------------------------------------------------------------------------------
    def assert_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}\n{self.tails()}")

    def tails(self, lines: int = 40) -> str:
        out = []
        for name, path in self.logs.items():
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            out.append(f"--- {name} ({path}) ---\n" + "\n".join(text[-lines:]))
        return "\n".join(out)


def _default_signals() -> None:
    """In the child: default SIGINT/SIGTERM even if the test runner was started with them
    ignored (a background job of a non-interactive shell ignores SIGINT; Python then installs
    no KeyboardInterrupt handler and the server could not be stopped gracefully)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)


def _spawn(name: str, args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        # A new session = a new process group: killpg reaches everything it forks.
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_default_signals,
        )


def _stop(proc: subprocess.Popen, grace_s: float = 20) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    # The group may outlive its leader (code servers, run workers).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def instance_processes(marker: str) -> list[int]:
    """Our own descendants that left their process group: they carry our DAGSTER_HOME."""
    pids = []
    needle = f"DAGSTER_HOME={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def serve(
    base: Path,
    home: Path,
    warehouse: Path,
    env: dict[str, str],
    procs: dict[str, subprocess.Popen],
) -> LiveDagster:
    """Start ``dagster-webserver`` and ``dagster-daemon run`` on ``home`` (whose storage
    exists already) and ``warehouse``, logging under ``base``; return once the code location
    has loaded. Both go into ``procs`` as they start, so the caller can stop them
    (:func:`stop_stack`) even when this fails."""
    port = free_port()
    env = {**env, "DAGSTER_HOME": str(home), "TITANIC_DUCKDB": str(warehouse)}
    workspace = str(ROOT / "workspace.yaml")
    server = LiveDagster(
        url=f"http://127.0.0.1:{port}",
        home=home,
        warehouse=warehouse,
        logs={"webserver": base / "webserver.log", "daemon": base / "daemon.log"},
        procs=procs,
    )
    server.procs["webserver"] = _spawn(
        "webserver",
        [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", workspace],
        env,
        server.logs["webserver"],
    )
    server.procs["daemon"] = _spawn(
        "daemon",
        [str(BIN / "dagster-daemon"), "run", "-w", workspace],
        env,
        server.logs["daemon"],
    )

    def ready() -> bool:
        with urllib.request.urlopen(f"{server.url}/server_info", timeout=5) as response:
            return response.status == 200

    server.wait_for("the webserver's /server_info", ready, STARTUP_S)

    def location_loaded() -> bool:
        data = server.graphql(LOCATION_STATUS)["workspaceOrError"]
        entries = data.get("locationEntries") or []
        return any(e["name"] == LOCATION and e["loadStatus"] == "LOADED" for e in entries)

    server.wait_for("the code location to load", location_loaded, STARTUP_S)
    return server


def migrate(home: Path, env: dict[str, str]) -> None:
    """Create the instance's storage first: the webserver and the daemon (and their code
    servers) would otherwise race to create the same fresh SQLite schemas."""
    subprocess.run(
        [str(BIN / "dagster"), "instance", "migrate"],
        env={**env, "DAGSTER_HOME": str(home)},
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=STARTUP_S,
    )


def stop_stack(procs: dict[str, subprocess.Popen], home: Path) -> None:
    """Stop the servers, then every process still carrying ``home`` as its DAGSTER_HOME."""
    for proc in procs.values():
        _stop(proc)
    for pid in instance_processes(str(home)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def start_live(
    base: Path,
    extra_env: dict[str, str] | None = None,
    *,
    test_speedups: bool = True,
    profile: Path = DEFAULT_PROFILE,
) -> Iterator[LiveDagster]:
    """The webserver and the daemon on a fresh instance and warehouse under ``base``; both
    stopped (with every process they started) on exit. Also used by ``make bench``, which
    keeps the instance configuration as it is (``test_speedups=False``); ``profile`` is the
    configuration file (an opt-in profile under deploy/ instead of the default)."""
    home = base / "dagster_home"
    home.mkdir()
    config = instance_yaml(profile=profile) if test_speedups else profile.read_text()
    (home / "dagster.yaml").write_text(config)
    warehouse = base / "warehouse" / "titanic_e2e.duckdb"
    warehouse.parent.mkdir()
    env = {**os.environ, **TEST_ENV, **(extra_env or {})}
    migrate(home, env)
    procs: dict[str, subprocess.Popen] = {}
    try:
        yield serve(base, home, warehouse, env, procs)
    finally:
        stop_stack(procs, home)


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Iterator[LiveDagster]:
    with start_live(tmp_path_factory.mktemp("live_dagster")) as server:
        yield server


@pytest.fixture(scope="session")
def first_cycle(live: LiveDagster) -> dict[str, Run]:
    """Backfill by hand; then automation alone trains a champion and scores today with it
    (the retrain sensor, then the predictions' automation condition on the new champion).

    The feature schedule is switched off first (as in the UI) so the first champion's cutoff
    is the historical list: an hour generated meanwhile would make the hand-launched (older)
    hours look old to the retrain sensor. test_schedule_tick switches it back on.
    """
    live.set_schedule("hourly_synthetic_passengers", running=False)
    backfill = live.wait_run(live.launch("historical_backfill"))
    training = live.wait_succeeded(
        "a training run launched by retrain_on_new_passengers",
        lambda r: (
            r.job == "training_pipeline"
            and r.tags.get("dagster/sensor_name") == "retrain_on_new_passengers"
        ),
    )
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    inference = live.wait_succeeded(
        "today's predictions requested by the automation condition (new champion)",
        lambda r: (
            r.tags.get("dagster/from_automation_condition") == "true"
            and r.tags.get("dagster/partition") == today
        ),
    )
    return {"backfill": backfill, "training": training, "inference": inference}


@pytest.fixture(scope="session")
def scored_day(live: LiveDagster, first_cycle) -> str:
    """Yesterday with passengers and batch scores, for pages that plot monitoring figures.

    The sensor-launched inference scores *today*, which may hold no complete hour yet.
    """
    day = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    config = {"ops": {names.SYNTHETIC_PASSENGERS_OP: {"config": {"seed": 3}}}}
    live.wait_run(live.launch("feature_pipeline", config, partition=f"{day}-12:00"))
    live.wait_run(live.launch("inference_pipeline", partition=day))
    return day

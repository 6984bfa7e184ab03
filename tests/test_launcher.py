"""The opt-in forkserver run launcher (deploy/dagster.forkserver.yaml): its own rules, and the
private Dagster names it is built on, pinned.

Not the default: the project's dagster.yaml uses Dagster's own launcher. Launching through the
real daemon on this profile is what ``make bench`` measures (``per_run_fixed_s_forkserver``);
here, what needs no server: the profile loads the launcher, the setting's validation, how a
run's process is judged alive, and the shape of Dagster's internals the launcher calls (an
upgrade that reshapes them fails here with the difference, not in a user's run).
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import time
from contextlib import AbstractContextManager

import dagster as dg
import pytest
import yaml
from dagster._cli.api import _execute_run_command_body
from dagster._core.launcher import RunLauncher, WorkerStatus
from dagster._utils.interrupts import capture_interrupts

from tests.reliability._support import PROJECT
from titanic_assets.dagster_home import instance_at
from titanic_assets.launcher import (
    PID_TAG,
    ForkserverRunLauncher,
    checked_preload,
    process_is_running,
)

#: The opt-in profile that names the launcher.
PROFILE = PROJECT / "deploy" / "dagster.forkserver.yaml"


def _run_with_pid(pid: int) -> dg.DagsterRun:
    return dg.DagsterRun(job_name="feature_pipeline", run_id="r1", tags={PID_TAG: str(pid)})


def test_the_run_worker_entry_point_takes_what_the_launcher_passes() -> None:
    assert list(inspect.signature(_execute_run_command_body).parameters) == [
        "run_id",
        "instance",
        "write_stream_fn",
        "set_exit_code_on_failure",
    ]
    assert isinstance(capture_interrupts(), AbstractContextManager)


def test_the_launcher_implements_every_abstract_method_of_run_launcher() -> None:
    assert issubclass(ForkserverRunLauncher, RunLauncher)
    assert not ForkserverRunLauncher.__abstractmethods__
    assert {"launch_run", "terminate"} <= RunLauncher.__abstractmethods__


def test_the_forkserver_profile_loads_the_launcher(tmp_path) -> None:
    (tmp_path / "dagster.yaml").write_text(PROFILE.read_text())
    with instance_at(str(tmp_path)) as instance:
        launcher = instance.run_launcher
        assert isinstance(launcher, ForkserverRunLauncher)
        assert launcher.supports_check_run_worker_health
    # Every module the project preloads exists (a typo would fail the daemon's first launch).
    config = yaml.safe_load(PROFILE.read_text())
    modules = config["run_launcher"]["config"]["preload_modules"]
    assert checked_preload(modules) == modules
    assert {"great_expectations", "xgboost", "pandas"} <= set(modules)


def test_a_preload_module_that_does_not_exist_is_named_not_skipped() -> None:
    with pytest.raises(ValueError, match=r"preload_modules.*'pandsa'.*'nope\.sub'"):
        checked_preload(["pandas", "pandsa", "nope.sub"])


def test_a_preload_setting_that_is_not_a_list_fails_when_the_instance_loads(tmp_path) -> None:
    config = {
        "run_launcher": {
            "module": "titanic_assets.launcher",
            "class": "ForkserverRunLauncher",
            "config": {"preload_modules": "pandas"},
        }
    }
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with (
        pytest.raises(dg.DagsterInvalidConfigError, match="preload_modules"),
        instance_at(str(tmp_path)) as instance,
    ):
        _ = instance.run_launcher


def test_a_live_process_is_running_an_exited_one_is_not_even_before_it_is_reaped() -> None:
    assert process_is_running(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    # Exited but not waited for: a zombie, which kill(pid, 0) would still call alive.
    while process_is_running(child.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_is_running(child.pid)
    child.wait()
    assert not process_is_running(child.pid)


def test_health_of_a_run_follows_its_process() -> None:
    launcher = ForkserverRunLauncher()
    alive = launcher.check_run_worker_health(_run_with_pid(os.getpid()))
    assert alive.status == WorkerStatus.RUNNING
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    gone = launcher.check_run_worker_health(_run_with_pid(child.pid))
    assert gone.status == WorkerStatus.FAILED
    assert f"process {child.pid} is gone" in gone.msg


def test_a_run_without_a_recorded_pid_is_reported_unknown_not_failed(tmp_path) -> None:
    """Runs handed to Dagster's default launcher (another interpreter) carry no pid tag.

    The default launcher cannot judge its workers' health, so the answer is UNKNOWN, which
    run monitoring leaves alone: such a run must not be failed for want of a pid.
    """
    (tmp_path / "dagster.yaml").write_text(PROFILE.read_text())
    with instance_at(str(tmp_path)) as instance:
        run = dg.DagsterRun(job_name="feature_pipeline", run_id="r2", tags={})
        health = instance.run_launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.UNKNOWN
    assert "no run worker pid" in health.msg

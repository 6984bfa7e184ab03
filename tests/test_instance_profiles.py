"""The instance configurations: stock Dagster by default, the forkserver launcher only opt-in.

``dagster.yaml`` (the default every make target copies into ``DAGSTER_HOME``) and
``deploy/dagster.postgres.yaml`` (the way beyond one machine) name Dagster's own classes only, so
a user who copies them inherits no code of this project; ``deploy/dagster.forkserver.yaml`` is
the default plus one section, the run launcher that relies on Dagster internals.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from titanic_assets.dagster_home import instance_at

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "dagster.yaml"
POSTGRES = ROOT / "deploy" / "dagster.postgres.yaml"
FORKSERVER = ROOT / "deploy" / "dagster.forkserver.yaml"

#: Sections that would put a class of this project (or any non-Dagster class) in the instance.
CLASS_SECTIONS = ("instance_class", "run_launcher", "compute_logs", "run_coordinator")


def _modules(node: Any) -> Iterator[str]:
    """Every ``module:`` value anywhere in a configuration."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "module":
                yield str(value)
            else:
                yield from _modules(value)
    elif isinstance(node, list):
        for item in node:
            yield from _modules(item)


#: The only classes a configuration may name: Dagster's own, each for a measured reason (the
#: default's consolidated SQLite event log, see dagster.yaml; its private module path is pinned
#: in tests/data_layer/test_dagster_contract.py).
NAMED_MODULES = {DEFAULT: ["dagster._core.storage.event_log"], POSTGRES: []}


@pytest.mark.parametrize("path", [DEFAULT, POSTGRES], ids=lambda p: p.name)
def test_default_and_multi_machine_configurations_name_no_class_of_this_project(path) -> None:
    config = yaml.safe_load(path.read_text())
    assert not [s for s in CLASS_SECTIONS if s in config], path
    assert list(_modules(config)) == NAMED_MODULES[path], path
    settings = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in settings if "titanic_assets" in line], path


def test_the_default_instance_is_dagsters_own(tmp_path) -> None:
    (tmp_path / "dagster.yaml").write_text(DEFAULT.read_text())
    with instance_at(str(tmp_path)) as instance:
        assert type(instance) is dg.DagsterInstance
        assert type(instance.run_launcher) is dg.DefaultRunLauncher
        assert type(instance.run_coordinator) is dg.QueuedRunCoordinator
        assert type(instance.compute_log_manager).__module__.startswith("dagster.")
        # The settings the project relies on are in effect: one DuckDB writer, run monitoring.
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.run_monitoring_enabled
        assert instance.run_coordinator.dequeue_interval_seconds == 2


def test_the_default_event_log_is_one_sqlite_file_that_holds_the_pools(tmp_path) -> None:
    """Dagster's consolidated SQLite event log: every run's events in ``$DAGSTER_HOME/event_log.db``
    (no database per run), and the ``duckdb`` pool's slots in the same file, so the pool limit
    still holds across runs."""
    from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage

    (tmp_path / "dagster.yaml").write_text(DEFAULT.read_text())
    with instance_at(str(tmp_path)) as instance:
        storage = instance.event_log_storage
        assert type(storage) is ConsolidatedSqliteEventLogStorage
        assert Path(storage.get_db_path()) == tmp_path / "event_log.db"
        assert storage.supports_global_concurrency_limits

        @dg.op
        def work() -> None: ...

        @dg.job
        def two_steps() -> None:
            work()
            work.alias("again")()

        for _ in range(2):
            assert two_steps.execute_in_process(instance=instance).success
        runs = instance.get_runs()
        assert len(runs) == 2
        assert all(instance.all_logs(run.run_id) for run in runs)
        assert not (tmp_path / "history" / "runs").exists() or not list(
            (tmp_path / "history" / "runs").glob("*.db")
        ), "a database per run was made"


def test_the_forkserver_profile_is_the_default_plus_its_run_launcher() -> None:
    default = yaml.safe_load(DEFAULT.read_text())
    profile = yaml.safe_load(FORKSERVER.read_text())
    launcher = profile.pop("run_launcher")
    assert profile == default
    assert launcher["module"] == "titanic_assets.launcher"


def _started_run(instance: dg.DagsterInstance, started_at: float) -> dg.DagsterRun:
    """A run the instance believes STARTED at ``started_at`` (its RUN_START event), whose process
    is gone: what a stack killed whole leaves behind."""

    @dg.op
    def work() -> None: ...

    @dg.job
    def crashed() -> None:
        work()

    run = instance.create_run_for_job(crashed)
    instance.handle_new_event(
        dg.EventLogEntry(
            error_info=None,
            level="DEBUG",
            user_message="",
            run_id=run.run_id,
            timestamp=started_at,
            dagster_event=dg.DagsterEvent(
                dg.DagsterEventType.RUN_START.value, job_name=run.job_name
            ),
        )
    )
    return run


def test_a_run_left_started_by_a_dead_stack_is_failed_after_the_max_runtime(tmp_path) -> None:
    """Without ``max_runtime_seconds`` a run whose process died with the whole stack stays
    STARTED for ever on the default launcher (it has no health check for run monitoring), and
    keeps its ``duckdb`` pool slot: the queue wedges. With it, run monitoring fails the run
    once it is older than the limit, and leaves a younger run alone."""
    from dagster._daemon.monitoring.run_monitoring import monitor_started_run

    (tmp_path / "dagster.yaml").write_text(DEFAULT.read_text())
    with instance_at(str(tmp_path)) as instance:
        limit = instance.run_monitoring_max_runtime_seconds
        assert limit > 0, "dagster.yaml: run_monitoring.max_runtime_seconds is not set"
        assert not instance.run_launcher.supports_check_run_worker_health
        now = time.time()
        dead = _started_run(instance, now - limit - 60)
        young = _started_run(instance, now - limit / 2)
        for run in (dead, young):
            record = instance.get_run_record_by_id(run.run_id)
            # What the monitoring daemon does on each poll for a STARTED run.
            monitor_started_run(instance, None, record, logging.getLogger(__name__))
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(young.run_id).status == dg.DagsterRunStatus.STARTED

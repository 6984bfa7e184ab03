"""The instance configurations: stock Dagster by default, the forkserver launcher only opt-in.

``dagster.yaml`` (the default every make target copies into ``DAGSTER_HOME``) and
``deploy/dagster.postgres.yaml`` (the way beyond one machine) name Dagster's own classes only, so
a user who copies them inherits no code of this project; ``deploy/dagster.forkserver.yaml`` is
the default plus one section, the run launcher that relies on Dagster internals.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

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


@pytest.mark.parametrize("path", [DEFAULT, POSTGRES], ids=lambda p: p.name)
def test_default_and_multi_machine_configurations_name_no_class_of_this_project(path) -> None:
    config = yaml.safe_load(path.read_text())
    assert not [s for s in CLASS_SECTIONS if s in config], path
    assert list(_modules(config)) == [], path
    settings = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in settings if "titanic_assets" in line], path


def test_the_default_instance_is_dagsters_own(tmp_path) -> None:
    (tmp_path / "dagster.yaml").write_text(DEFAULT.read_text())
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance) is dg.DagsterInstance
        assert type(instance.run_launcher) is dg.DefaultRunLauncher
        assert type(instance.run_coordinator) is dg.QueuedRunCoordinator
        assert type(instance.compute_log_manager).__module__.startswith("dagster.")
        # The settings the project relies on are in effect: one DuckDB writer, run monitoring.
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.run_monitoring_enabled
        assert instance.run_coordinator.dequeue_interval_seconds == 2


def test_the_forkserver_profile_is_the_default_plus_its_run_launcher() -> None:
    default = yaml.safe_load(DEFAULT.read_text())
    profile = yaml.safe_load(FORKSERVER.read_text())
    launcher = profile.pop("run_launcher")
    assert profile == default
    assert launcher["module"] == "titanic_assets.launcher"

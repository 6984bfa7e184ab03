"""The instance's compute log manager (titanic_assets/compute_logs.py): what a run prints is in
the UI's files and echoed live, as with Dagster's default manager, with no process left behind.

Runs execute in a child interpreter whose stdout/stderr are pipes: pytest's own capture would
otherwise stand in for the descriptors the manager redirects.
"""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.local_compute_log_manager import (
    IO_TYPE_EXTENSION,
    LocalComputeLogManager,
)

from titanic_assets import compute_logs

ROOT = Path(__file__).resolve().parents[1]

#: A job whose step prints from Python (both streams), from a child process and through
#: Dagster's logger; afterwards the script prints what the UI would show, and its own children.
SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import dagster as dg
    from titanic_assets import compute_logs

    if sys.argv[2] == "no-pid":  # a tail without --pid (BSD, BusyBox): the stock capture
        compute_logs.tail_follows_pid = lambda: False

    @dg.op
    def talk(context):
        print("from-python-stdout", flush=True)
        print("from-python-stderr", file=sys.stderr, flush=True)
        os.system("echo from-a-child-process")
        context.log.info("from-dagster-log")

    @dg.job
    def chatty():
        talk()

    with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
        manager = instance.compute_log_manager
        result = chatty.execute_in_process(instance=instance)
        captured = [
            e.dagster_event.logs_captured_data
            for e in instance.all_logs(result.run_id)
            if e.dagster_event and e.dagster_event.event_type_value == "LOGS_CAPTURED"
        ]
        key = manager.build_log_key_for_run(result.run_id, captured[0].file_key)
        data = manager.get_log_data(key)
        children = []
        for task in os.listdir(f"/proc/{os.getpid()}/task"):
            with open(f"/proc/{os.getpid()}/task/{task}/children") as f:
                children += f.read().split()
        report = {
            "manager": type(manager).__name__,
            "base_dir": manager._base_dir,
            "complete": manager.is_capture_complete(key),
            "stdout": data.stdout.decode(),
            "stderr": data.stderr.decode(),
            "children": children,
        }
        print("REPORT " + json.dumps(report), file=sys.__stdout__, flush=True)
    """
)


def _run(tmp_path: Path, mode: str) -> tuple[dict, str, str]:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(home), mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("REPORT "))
    return json.loads(line.removeprefix("REPORT ")), done.stdout, done.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("mode", ["pid", "no-pid"])
def test_run_output_is_in_the_ui_and_echoed_and_nothing_is_left_running(tmp_path, mode):
    report, stdout, stderr = _run(tmp_path, mode)
    assert report["manager"] == "EchoingComputeLogManager"
    # Where Dagster's default manager keeps them: $DAGSTER_HOME/storage.
    assert report["base_dir"] == str(tmp_path / "home" / "storage")
    assert report["complete"]
    # The UI's stdout/stderr tabs: Python, a child process and Dagster's log lines.
    assert "from-python-stdout" in report["stdout"]
    assert "from-a-child-process" in report["stdout"]
    assert "from-python-stderr" in report["stderr"]
    assert "from-dagster-log" in report["stderr"]
    # Echoed live to the process's own streams, as the stock manager does.
    assert "from-python-stdout" in stdout
    assert "from-a-child-process" in stdout
    assert "from-dagster-log" in stderr
    # No tail, and no watcher, outlives the capture.
    assert report["children"] == []


def test_this_system_has_a_tail_with_pid():
    """On Linux (where the project runs and is tested) the cheaper echo is the one in use."""
    if not sys.platform.startswith("linux"):
        pytest.skip("GNU tail is expected on Linux only")
    assert compute_logs.tail_follows_pid()


def test_base_dir_from_config_is_kept(tmp_path):
    manager = compute_logs.EchoingComputeLogManager(base_dir=str(tmp_path / "logs"))
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        manager.register_instance(instance)
    assert manager._base_dir == str(tmp_path / "logs")


def test_what_the_manager_relies_on_in_dagster():
    """Private names and signatures this module uses; an upgrade that changes them fails here."""
    params = list(inspect.signature(LocalComputeLogManager.__init__).parameters)
    assert params[:4] == ["self", "base_dir", "polling_timeout", "inst_data"]
    assert set(IO_TYPE_EXTENSION) == {ComputeIOType.STDOUT, ComputeIOType.STDERR}
    assert next(iter(inspect.signature(CapturedLogContext).parameters)) == "log_key"
    for method in ("get_captured_local_path", "complete_artifact_path", "register_instance"):
        assert callable(getattr(LocalComputeLogManager, method))

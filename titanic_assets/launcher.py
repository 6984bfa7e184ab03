"""An opt-in run launcher: one process per run, forked from a server that has imported.

Why not Dagster's ``DefaultRunLauncher``: it asks the code server to *spawn* each run, a fresh
interpreter that imports Dagster, pandas and DuckDB, sets up the instance and loads the code
location before its first step, and then imports the step's libraries (GX and SciPy for the
feature checks, XGBoost and scikit-learn for training and scoring). Every run pays that again:
about 1.7 s before the first step and seconds more inside the steps (``make bench``:
``per_run_fixed_s`` and the launched rows), for runs whose work may take a fraction of it.

This launcher keeps a Python ``forkserver`` (:mod:`multiprocessing`) that has imported those
libraries once (``preload_modules`` in ``deploy/dagster.forkserver.yaml``, the opt-in profile
that names it; the default ``dagster.yaml`` uses Dagster's own launcher), and starts each run as
a fork of it.
A run is still a process of its own, as under the default launcher: its memory is its own and
given back when it ends, it can be killed alone, a crash takes only its run down. What the fork
saves is the imports, not the isolation.

* The project's own code is not preloaded: each run imports ``titanic_assets`` afresh from the
  run's code origin, so an edit is in the next run, as with the default launcher.
* The forkserver starts with the first launch in the process that launches (the daemon under
  ``make dev``) and lives as long as it; the pid of each run's process is a run tag, so any
  process of the instance (the webserver's *Terminate*, the daemon's run monitoring) can signal
  it or see that it is gone.
* One machine: the webserver, the daemon and the runs share it (the pid means nothing
  elsewhere). Across machines, use a launcher of a pod or container per run (deploy/README.md).
* A run whose code location runs in another interpreter (``executable_path``) cannot be a fork
  of this one: it is handed to ``DefaultRunLauncher`` and its engine event says so.

Built on Dagster's run-worker entry point (``dagster api execute_run``'s body), which is not a
public API: the lock file pins the Dagster version it was written against.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import Array, DefaultRunLauncher, Field

# A custom run launcher has no public API: these names are pinned by tests/test_launcher.py.
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, RunLauncher, WorkerStatus
from dagster._serdes import ConfigurableClass, ConfigurableClassData

#: Run tag holding the pid of the run's process.
PID_TAG = "titanic/run_worker_pid"

#: The start method; only ``forkserver`` has a server that imports once and forks per run.
START_METHOD = "forkserver"


class ForkserverRunLauncher(RunLauncher, ConfigurableClass):
    """Starts each run in its own process, forked from a server with its libraries imported."""

    def __init__(
        self,
        preload_modules: Sequence[str] = (),
        inst_data: ConfigurableClassData | None = None,
    ) -> None:
        self._inst_data = inst_data
        self._preload = list(preload_modules)
        self._context: Any = None
        self._processes: dict[str, multiprocessing.process.BaseProcess] = {}
        self._lock = threading.Lock()
        self._default: DefaultRunLauncher | None = None
        super().__init__()

    # --- ConfigurableClass -----------------------------------------------------------------

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict:
        return {
            "preload_modules": Field(
                Array(str),
                is_required=False,
                default_value=[],
                description="Modules the forkserver imports once, so no run imports them.",
            )
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> ForkserverRunLauncher:
        return cls(preload_modules=config_value.get("preload_modules", []), inst_data=inst_data)

    # --- launching ------------------------------------------------------------------------

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        origin = run.job_code_origin
        if origin is None:
            raise ValueError(f"run {run.run_id} has no code origin: nothing to load in its process")
        if os.path.realpath(origin.executable_path) != os.path.realpath(sys.executable):
            self._instance.report_engine_event(
                f"The code location runs in {origin.executable_path}, not this launcher's "
                f"{sys.executable}: launched by the code server instead of a fork.",
                run,
                cls=self.__class__,
            )
            self._default_launcher().launch_run(context)
            return
        process = self._mp_context().Process(
            target=_run_worker,
            args=(self._instance.get_ref(), run.run_id),
            name=f"dagster-run-{run.run_id[:8]}",
        )
        with self._lock:
            self._forget_finished()
            process.start()
            self._processes[run.run_id] = process
        self._instance.add_run_tags(run.run_id, {PID_TAG: str(process.pid)})

    def _mp_context(self) -> Any:
        """The forkserver context; its server starts (and imports) with the first launch."""
        with self._lock:
            if self._context is None:
                context = multiprocessing.get_context(START_METHOD)
                context.set_forkserver_preload(checked_preload(self._preload))
                self._context = context
            return self._context

    def _default_launcher(self) -> DefaultRunLauncher:
        if self._default is None:
            self._default = DefaultRunLauncher()
            self._default.register_instance(self._instance)
        return self._default

    def _forget_finished(self) -> None:
        for run_id, process in list(self._processes.items()):
            if not process.is_alive():
                process.join()
                process.close()
                del self._processes[run_id]

    # --- termination and health, from any process of the instance -------------------------

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        if PID_TAG not in run.tags:
            return self._default_launcher().terminate(run_id)
        pid = int(run.tags[PID_TAG])
        self._instance.report_run_canceling(run)
        try:
            # The run worker turns SIGINT into an interrupt of its current step, which ends
            # the run as CANCELED (as the code server's cancel request does).
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            self._instance.report_engine_event(
                f"Run worker process {pid} was already gone.", run, cls=self.__class__
            )
            return False
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        if PID_TAG not in run.tags:
            if self._default_launcher().supports_check_run_worker_health:
                return self._default_launcher().check_run_worker_health(run)
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "no run worker pid recorded")
        pid = int(run.tags[PID_TAG])
        if process_is_running(pid):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=str(pid))
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"run worker process {pid} is gone without ending its run",
            run_worker_id=str(pid),
        )

    def join(self, timeout: int = 30) -> None:
        """Wait up to ``timeout`` s for the runs this process launched (tests, shutdown)."""
        with self._lock:
            processes = list(self._processes.values())
        for process in processes:
            process.join(timeout)

    def dispose(self) -> None:
        if self._default is not None:
            self._default.dispose()


def checked_preload(modules: Sequence[str]) -> list[str]:
    """The modules, each found importable; else an error naming it and the setting.

    The forkserver skips a preload module it cannot import without a word: the runs would
    then pay that import again, silently. A typo fails the first launch instead.
    """
    missing = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a parent package missing, or a bad name
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise ValueError(
            f"run_launcher config preload_modules (the instance's dagster.yaml): no module named "
            f"{', '.join(map(repr, missing))}"
        )
    return list(modules)


def process_is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, exited but not yet reaped, is not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (not Linux): existence is what we can tell
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _run_worker(instance_ref: Any, run_id: str) -> None:
    """The forked process: what ``dagster api execute_run`` does, minus the interpreter start."""
    from dagster import DagsterInstance

    # The run worker's entry point (``dagster api execute_run``'s body) and its interrupt guard
    # have no public API; pinned by tests/test_launcher.py and the contract test.
    from dagster._cli.api import _execute_run_command_body
    from dagster._utils.interrupts import capture_interrupts

    with capture_interrupts(), DagsterInstance.from_ref(instance_ref) as instance:
        _execute_run_command_body(
            run_id, instance, write_stream_fn=lambda _event: None, set_exit_code_on_failure=False
        )

"""The instance's compute log manager: Dagster's local one, echoing with two processes, not four.

What a run's steps print (stdout, stderr, Dagster's console log lines) is captured to files
under ``$DAGSTER_HOME/storage``, which the UI shows on the run page, and echoed live to the
process's own stdout/stderr (the ``make dev`` terminal, a ``make demo`` shell). Both as with
Dagster's ``LocalComputeLogManager``, which this class is: same files, same folder, same UI.

The difference is how the echo is done. Stock, each capture (one per run with the in-process
executor) starts a ``tail -F`` per stream plus, per stream, a Python interpreter that only
watches for the run's process to die so that the ``tail`` is not orphaned: four processes per
run, and tearing the two interpreters down is most of the capture's cost (tens of milliseconds a
run, more on a busy machine; a Dagster run of this project's small hourly work is a few hundred).
GNU ``tail --pid=PID`` does that watching itself, so here each stream gets one ``tail`` and no
watcher. Where ``tail`` has no ``--pid`` (BSD/macOS, BusyBox) the stock capture is used.

Dagster API: ``LocalComputeLogManager`` is public (``@public``) but importable only from its
module; the capture context and stream types are not public. The contract test
(``tests/test_compute_logs.py``) pins what this module relies on.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import IO, Any

from dagster import Field, StringSource
from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.local_compute_log_manager import (
    IO_TYPE_EXTENSION,
    LocalComputeLogManager,
)

#: Dagster's own knob for the stock capture: seconds to let ``tail`` catch up before it stops.
TAIL_WAIT_ENV = "DAGSTER_COMPUTE_LOG_TAIL_WAIT_AFTER_FINISH"


@functools.cache
def tail_follows_pid() -> bool:
    """Whether this system's ``tail`` has GNU's ``--pid`` (checked once per process)."""
    try:
        done = subprocess.run(
            ["tail", f"--pid={os.getpid()}", "-c", "0", os.devnull],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


class EchoingComputeLogManager(LocalComputeLogManager):
    """``LocalComputeLogManager`` whose live echo is one ``tail --pid`` per stream.

    ``base_dir`` defaults to the instance's ``storage`` folder, where Dagster's default manager
    keeps compute logs, so logs of earlier runs stay readable in the UI.
    """

    def __init__(self, base_dir: str | None = None, polling_timeout: float | None = None, **kw):
        # The folder is known only once the instance registers (register_instance below).
        super().__init__(base_dir=base_dir or "", polling_timeout=polling_timeout, **kw)
        self._base_dir_given = bool(base_dir)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {
            "base_dir": Field(StringSource, is_required=False),
            "polling_timeout": Field(float, is_required=False),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: Any, config_value: Mapping[str, Any]
    ) -> EchoingComputeLogManager:
        return cls(inst_data=inst_data, **config_value)

    def register_instance(self, instance) -> None:
        super().register_instance(instance)
        if not self._base_dir_given:
            self._base_dir = os.path.join(instance.root_directory, "storage")

    @contextmanager
    def capture_logs(self, log_key: Sequence[str]) -> Iterator[CapturedLogContext]:
        if not tail_follows_pid():
            with super().capture_logs(log_key) as context:
                yield context
            return
        out = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDOUT])
        err = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDERR])
        with ExitStack() as stack:
            for stream, path in ((sys.stdout, out), (sys.stderr, err)):
                _touch(path)
                stack.enter_context(_echo(path, stream))
                stack.enter_context(_redirect(stream, path))
            yield CapturedLogContext(log_key)
        # As the stock manager: the artifact that tells the UI the capture is complete.
        _touch(self.complete_artifact_path(log_key))


def _fileno(stream: IO | None) -> int | None:
    try:
        fd = stream.fileno() if stream is not None else None
    except (AttributeError, OSError, ValueError):  # e.g. pytest's capture: no real descriptor
        return None
    return fd if isinstance(fd, int) else None


def _touch(path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a", encoding="utf8"):
        pass


@contextmanager
def _echo(path: str, stream: IO) -> Iterator[None]:
    """``tail -F`` of ``path`` onto ``stream``'s descriptor; ``tail`` exits by itself if this
    process dies (``--pid``), and is stopped when the capture ends."""
    command = ["tail", f"--pid={os.getpid()}", "-F", "-c", "+0", path]
    process = subprocess.Popen(command, stdout=_fileno(stream))
    try:
        yield
    finally:
        time.sleep(float(os.getenv(TAIL_WAIT_ENV, "0")))
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def _redirect(stream: IO, path: str) -> Iterator[None]:
    """Point ``stream``'s file descriptor at ``path`` (so C code's output is captured too), and
    back afterwards; a stream with no descriptor is left alone, as Dagster does."""
    from_fd = _fileno(stream)
    if from_fd is None:
        yield
        return
    with open(path, "a+", buffering=1, encoding="utf8") as target:
        saved = os.dup(from_fd)
        stream.flush()
        os.dup2(target.fileno(), from_fd)
        try:
            yield
        finally:
            stream.flush()
            target.flush()
            os.dup2(saved, from_fd)
            os.close(saved)

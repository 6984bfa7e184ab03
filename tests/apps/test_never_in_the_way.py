"""The app never stands in the pipelines' way, and never shows a lock error (issue 13, point 5).

A separate process polls the app's data functions without pause (every poll opens the file)
while a real feature run and a real inference run write to the same warehouse. Both runs must
succeed, every poll must answer (fresh data, or the last good data with its age), and the new
passengers must show up in the polls without restarting anything.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import dagster as dg
import pytest

from tests.apps.conftest import synthetic
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.definitions import build_definitions

pytestmark = pytest.mark.e2e

DAY = "2026-11-27"
#: How long after the last run the polls may take to show its passengers (a loaded machine).
SHOW_UP_S = 60
HOURS = tuple(f"{DAY}-{h:02d}:00" for h in (9, 10, 11))


def _latest_poll_shows(log, newest: str) -> bool:
    """True once the last complete poll in the log answered with ``newest``, fresh."""
    complete = log.read_text().split("\n")[:-1]  # a line being written has no newline yet
    last = json.loads(complete[-1]) if complete else {}
    return last.get("newest") == newest and last.get("stale") is None


def test_runs_succeed_and_every_poll_answers_while_the_app_polls(app_warehouse, tmp_path) -> None:
    warehouse = str(tmp_path / "polled.duckdb")
    shutil.copy(app_warehouse, warehouse)
    log, stop = tmp_path / "polls.jsonl", tmp_path / "stop"
    poller = subprocess.Popen(
        [sys.executable, "-m", "tests.apps._poller", warehouse, str(log), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    (tmp_path / "home").mkdir()
    try:
        assert poller.stdout.readline().strip() == "ready"
        defs = build_definitions(warehouse)
        with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
            timings, windows = {}, []
            runs = [
                *(
                    ("feature_pipeline", {"partition_key": h, "run_config": synthetic()})
                    for h in HOURS
                ),
                ("inference_pipeline", {"partition_key": DAY}),
            ]
            for job, kwargs in runs:
                started, wall = time.monotonic(), time.time()
                result = defs.resolve_job_def(job).execute_in_process(
                    instance=instance, raise_on_error=False, **kwargs
                )
                timings[job] = timings.get(job, 0.0) + time.monotonic() - started
                windows.append((wall, time.time()))
                assert result.success, f"{job} failed while the app polled"
        with connect(warehouse, read_only=True) as conn:
            newest = conn.execute(
                "SELECT passenger_id FROM inference.predictions "
                "ORDER BY event_time DESC, passenger_id DESC LIMIT 1"
            ).fetchall()[0][0]
        # Polled, not slept: the new passengers show up in a poll that started after the runs.
        deadline = time.monotonic() + SHOW_UP_S
        while not _latest_poll_shows(log, newest):
            assert time.monotonic() < deadline, f"no poll showed {newest} within {SHOW_UP_S} s"
            time.sleep(0.1)
    finally:
        stop.touch()
        try:
            poller.wait(timeout=60)
        finally:
            if poller.poll() is None:
                poller.kill()
    assert poller.returncode == 0, poller.stdout.read()

    polls = [json.loads(line) for line in log.read_text().splitlines()]
    failed = [p for p in polls if not p["ok"]]
    assert not failed, failed[:3]
    assert not any("lock" in json.dumps(p).lower() for p in polls)

    def overlaps(poll: dict, window: tuple[float, float]) -> bool:
        return poll["t"] <= window[1] and poll["t"] + poll["seconds"] >= window[0]

    # The poller polls back to back, so each run is polled while it writes, however fast the
    # run (a count of overlapping polls would shrink as the runs get faster).
    unpolled = [w for w in windows if not any(overlaps(p, w) for p in polls)]
    assert not unpolled, f"{len(unpolled)} of {len(windows)} runs without a poll ({timings})"
    during = [p for p in polls if any(overlaps(p, w) for w in windows)]
    assert newest.startswith("syn-20261127")
    assert polls[0]["newest"] != newest  # before the runs: day 2's newest passenger
    assert polls[-1]["newest"] == newest and polls[-1]["stale"] is None
    stale = [p for p in polls if p["stale"]]
    assert all("s ago" in p["status"] for p in stale)
    print(
        f"\n{len(polls)} polls ({len(during)} during the runs), {len(stale)} answered with older data; runs took {timings}"
    )

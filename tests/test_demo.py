"""`make demo`: it never deletes data it did not create, it is quiet, and a bad file ends cleanly.

The demo runs for real, as `make demo` in a subprocess, against warehouses and instances in temp
folders (DEMO_DIR, or DAGSTER_HOME / TITANIC_DUCKDB set the way a user would set them).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.reliability._support import PROJECT
from titanic_assets import demo
from titanic_assets.dagster_home import instance_at

pytestmark = pytest.mark.e2e

#: What a user's own warehouse holds: a table no pipeline writes.
USER_TABLE = "mine.notes"


def make_demo(env_extra: dict[str, str], *args: str, timeout: int = 420):
    """`make -s demo ...` with a clean environment plus ``env_extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DAGSTER_HOME", "TITANIC_DUCKDB", "TITANIC_SOURCE_CSV", "MAKEFLAGS")
    }
    env.update({"GX_ANALYTICS_ENABLED": "false", "TITANIC_AUTOMATION": "off", **env_extra})
    return subprocess.run(
        ["make", "-s", "demo", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def refused(done: subprocess.CompletedProcess) -> bool:
    """make exits 2 when its recipe fails and names the recipe's own exit code."""
    return done.returncode == 2 and f"Error {demo.REFUSED}" in done.stderr


def user_warehouse(path: Path) -> Path:
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE SCHEMA mine")
        conn.execute(f"CREATE TABLE {USER_TABLE} AS SELECT range AS i FROM range(42)")
    return path


def user_rows(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(f"SELECT count(*) FROM {USER_TABLE}").fetchall()[0][0]


def test_a_warehouse_the_demo_did_not_create_survives(tmp_path):
    warehouse = user_warehouse(tmp_path / "my_warehouse.duckdb")
    home = tmp_path / "home"
    done = make_demo({"TITANIC_DUCKDB": str(warehouse), "DAGSTER_HOME": str(home)})
    assert refused(done), done.stdout + done.stderr
    assert "refusing" in done.stderr and USER_TABLE in done.stderr and "42 rows" in done.stderr
    assert "--reset" in done.stderr and "--keep" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert user_rows(warehouse) == 42
    assert not (home / "storage").exists()  # nothing ran


def test_an_instance_with_runs_the_demo_did_not_launch_is_refused(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")

    @dg.asset
    def something() -> int:
        return 1

    with instance_at(str(home)) as instance:
        assert dg.materialize([something], instance=instance).success
    assert demo.foreign_runs(home) == [
        f"1 runs in the Dagster instance {home} not launched by the demo"
    ]
    done = make_demo({"DAGSTER_HOME": str(home), "DEMO_DIR": str(tmp_path / "demo")})
    assert refused(done), done.stdout + done.stderr
    assert "not launched by the demo" in done.stderr
    with instance_at(str(home)) as instance:
        assert instance.get_runs_count() == 1


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, ("source CSV not found", "nope.csv")),
        ("pclass,sex,colour\n1,female,red\n", ("no known Titanic shape", "missing")),
    ],
)
def test_a_bad_source_file_ends_with_the_message_only(tmp_path, content, words):
    source = tmp_path / "nope.csv"
    if content is not None:
        source.write_text(content)
    done = make_demo({"TITANIC_SOURCE_CSV": str(source), "DEMO_DIR": str(tmp_path / "demo")})
    assert done.returncode == 2 and "Error 1" in done.stderr, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "historical_backfill failed" in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr
    # The message, the run id and the log's path; Dagster's events went to the file.
    assert len(done.stderr.strip().splitlines()) <= 5, done.stderr  # + make's "Error 1" line
    log = tmp_path / "demo" / "dagster_home" / demo.EVENT_LOG_NAME
    assert "STEP_FAILURE" in log.read_text() or "Traceback" in log.read_text()


@pytest.mark.slow
def test_full_demo_is_quiet_and_starts_over_only_on_its_own_data(tmp_path):
    demo_dir = tmp_path / "demo"
    done = make_demo({"DEMO_DIR": str(demo_dir)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    # One line per run (4 runs) plus the header and the summary; no Dagster event.
    assert len(out.splitlines()) <= 60, out
    assert out.count("  ok  ") == 4  # backfill, the day's 24 hours in one run, training, inference
    assert "DEBUG" not in out + done.stderr and "Traceback" not in out + done.stderr
    home, warehouse = demo_dir / "dagster_home", demo_dir / "warehouse.duckdb"
    log = (home / demo.EVENT_LOG_NAME).read_text()
    assert log.count("RUN_SUCCESS") == 4  # every run's events are in the file instead
    assert f'DAGSTER_HOME="{home}" TITANIC_DUCKDB="{warehouse}" make dev' in out
    # What the demo left is accounted for: starting over would delete only the demo's own data.
    recorded = json.loads(demo.marker_path(warehouse).read_text())["tables"]
    assert recorded["inference.predictions"] == 480
    assert demo.foreign_warehouse_data(warehouse) == [] and demo.foreign_runs(home) == []

    # A table added by someone else (e.g. while browsing it with `make dev`) is never deleted.
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("CREATE SCHEMA mine")
        conn.execute(f"CREATE TABLE {USER_TABLE} AS SELECT range AS i FROM range(42)")
    again = make_demo({"DEMO_DIR": str(demo_dir)})
    assert refused(again), again.stdout + again.stderr
    assert USER_TABLE in again.stderr
    assert user_rows(warehouse) == 42

    # --keep adds the demo's runs beside it, deleting nothing, and claims none of it: the marker
    # is gone, so the next plain demo still refuses (it would otherwise delete the user's table).
    kept = make_demo({"DEMO_DIR": str(demo_dir), "DEMO_ARGS": "--keep"})
    assert kept.returncode == 0, kept.stdout[-3000:] + kept.stderr[-3000:]
    assert user_rows(warehouse) == 42
    assert not demo.marker_path(warehouse).exists()
    last = make_demo({"DEMO_DIR": str(demo_dir)})
    assert refused(last) and "was not created by the demo" in last.stderr, last.stderr
    assert user_rows(warehouse) == 42


def test_rows_added_after_the_demo_are_not_its_to_delete(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("CREATE SCHEMA features")
        conn.execute(
            "CREATE TABLE features.synthetic_passengers AS SELECT range AS i FROM range(5)"
        )
    demo.record_marker(warehouse)
    assert demo.foreign_warehouse_data(warehouse) == []
    with duckdb.connect(str(warehouse)) as conn:  # e.g. `make dev` kept adding hours
        conn.execute("INSERT INTO features.synthetic_passengers VALUES (5), (6)")
    assert demo.foreign_warehouse_data(warehouse) == [
        f"table features.synthetic_passengers in {warehouse} has 7 rows, the demo left 5"
    ]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_hourly_runs_show_a_progress_bar_on_a_terminal(monkeypatch):
    out = _Terminal()
    monkeypatch.setattr("sys.stdout", out)
    demo.hourly(["h1", "h2", "h3"], lambda key: (f"run-{key}-0000", 0.1))
    text = out.getvalue()
    assert text.count("\r") == 4  # three updates and the closing line, all on one line
    assert "[########................]  1/3" in text and "3/3" in text
    assert text.rstrip().endswith("3 runs") and text.count("\n") == 1

"""Crash safety: SIGKILL a run in the middle of writing a partition.

A test-only worker (``_crash_worker.py``) runs the real feature_pipeline job for one hour and parks
at a chosen point inside the I/O manager's write (after the delete, after the insert, after the
commit) of the hour's passengers or of its features; the test then kills it with SIGKILL.
Afterwards the warehouse must open cleanly, each table must hold the old hour or the new one
(never a mix), the certified view must serve none of the hour (its certificate is withdrawn
before the passengers are rewritten, so new passengers are never served beside old features),
and a plain re-run must give exactly the rows of an undisturbed run.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from tests.reliability._support import PROJECT, project_env, wait_for
from titanic_assets import names
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.definitions import build_definitions

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

HOUR = "2026-11-05-13:00"
BATCH = "2026-11-05-13:00"
OLD = {"passengers_per_hour": 300, "seed": 0}
NEW = {"passengers_per_hour": 20_000, "seed": 1}  # big enough that the write is real work


def _config(settings: dict) -> dict:
    return {"ops": {names.SYNTHETIC_PASSENGERS_OP: {"config": settings}}}


def _run_hour(warehouse: str, settings: dict) -> None:
    defs = build_definitions(warehouse)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("feature_pipeline").execute_in_process(
            instance=instance, partition_key=HOUR, run_config=_config(settings)
        )
    assert result.success


def _snapshot(warehouse: str) -> dict[str, pd.DataFrame]:
    """The hour as stored: raw passengers, features, what the view serves, the ledger."""
    # Read-write open on purpose: it replays DuckDB's WAL, which is what "opens cleanly" means.
    with connect(warehouse) as conn:

        def frame(sql: str) -> pd.DataFrame:
            return conn.execute(sql, [BATCH]).df().reset_index(drop=True)

        return {
            "passengers": frame(
                "SELECT * FROM features.synthetic_passengers WHERE batch_id = ? "
                "ORDER BY passenger_id"
            ),
            "features": frame(
                "SELECT * FROM features.synthetic_features WHERE batch_id = ? ORDER BY passenger_id"
            ),
            "served": frame(
                "SELECT * FROM features.passenger_features WHERE batch_id = ? ORDER BY passenger_id"
            ),
            "ledger": frame(
                "SELECT suite, passed, evaluated_rows FROM features.quality_results "
                "WHERE batch_id = ? ORDER BY suite"
            ),
        }


def _copy(src: Path, dst: Path) -> str:
    shutil.copy(src, dst)
    wal = src.with_name(src.name + ".wal")
    if wal.exists():
        shutil.copy(wal, dst.with_name(dst.name + ".wal"))
    return str(dst)


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    """``base``: history + the hour written with OLD; ``reference``: base + an undisturbed NEW run."""
    root = tmp_path_factory.mktemp("crash")
    base = root / "base.duckdb"
    defs = build_definitions(str(base))
    with dg.instance_for_test() as instance:
        assert (
            defs.resolve_job_def("historical_backfill")
            .execute_in_process(instance=instance)
            .success
        )
    _run_hour(str(base), OLD)
    reference = _copy(base, root / "reference.duckdb")
    _run_hour(reference, NEW)
    return {
        "root": root,
        "base": base,
        "old": _snapshot(str(base)),
        "new": _snapshot(reference),
    }


def _assert_same(
    actual: dict, expected: dict, parts=("passengers", "features", "served", "ledger")
):
    for part in parts:
        pd.testing.assert_frame_equal(actual[part], expected[part], obj=part)


@pytest.mark.parametrize(
    ("asset", "point", "passengers", "features"),
    [
        ("synthetic_passengers", "after_delete", "old", "old"),
        ("synthetic_passengers", "after_insert", "old", "old"),
        # Committed passengers, features not yet rewritten: the two writes are separate steps
        # (separate transactions); the withdrawn certificate keeps the mix out of the view.
        ("synthetic_passengers", "after_commit", "new", "old"),
        ("synthetic_features", "after_insert", "new", "old"),
        ("synthetic_features", "after_commit", "new", "new"),  # checks not yet run
    ],
)
def test_sigkill_mid_write_leaves_old_or_new_never_half(
    warehouses, asset, point, passengers, features, tmp_path
):
    warehouse = _copy(warehouses["base"], tmp_path / "warehouse.duckdb")
    marker = tmp_path / "parked"
    env = project_env(tmp_path / "unused_home", warehouse)
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability._crash_worker", warehouse, HOUR,
         str(NEW["passengers_per_hour"]), str(NEW["seed"]), asset, point, str(marker)],
        cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:

        def parked() -> bool:
            if worker.poll() is not None:
                raise AssertionError(
                    f"worker exited early:\n{worker.stdout.read().decode()[-3000:]}"
                )
            return marker.exists()

        wait_for(parked, timeout_s=180, what=f"the worker to reach {asset}:{point}")
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)

    after = _snapshot(warehouse)
    _assert_same(after, warehouses[passengers], parts=("passengers",))
    _assert_same(after, warehouses[features], parts=("features",))
    # The hour was certified before the run (the old run passed its checks) ...
    assert not warehouses["old"]["ledger"].empty and not warehouses["old"]["served"].empty
    # ... and the killed run withdrew that certificate before its first write: nothing of the
    # hour is served until a run has rewritten both tables and passed the checks again.
    assert after["served"].empty and after["ledger"].empty

    # Recovery is a plain re-run of the hour: byte-for-byte the undisturbed result.
    _run_hour(warehouse, NEW)
    _assert_same(_snapshot(warehouse), warehouses["new"])

"""Scenario 6: backfills of the hourly feature assets through the real daemon (48 and 720 hours).

What a user does after a gap: select hours of ``features/synthetic_passengers`` and
``features/synthetic_features`` in the UI and materialize them. The webserver records an asset
backfill, the backfill daemon submits its runs according to the assets' backfill policy
(``HOURLY_BACKFILL_POLICY``: runs of several hours each), the run queue launches each as its own
process. Measured from the launch to the moment every run of the backfill has ended (all hours
written and checked); the daemon marks the backfill itself complete on its next 30-second
iteration, reported apart.

The backfills run one after the other on one webserver and daemon, over hours that do not
overlap, each checked for every passenger exactly once. The instance is the project's
dagster.yaml unchanged except a fresh home; automation is off so no schedule or sensor adds
runs of its own.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

#: The hours backfilled: two days well before "now" (no automation window).
START = datetime(2026, 11, 2)
KEYS = [["features", "synthetic_passengers"], ["features", "synthetic_features"]]
PER_HOUR = 20

RUN_TIMES = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    ... on Runs { results { runId status startTime endTime } }
  }
}
"""


def run(backfills: list[int], log) -> dict[int, dict]:
    """Each backfill of ``backfills`` hours in turn, on one live instance; figures per size."""
    from tests.e2e.conftest import start_live

    out: dict[int, dict] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench_backfill_") as tmp,
        start_live(Path(tmp), {"TITANIC_AUTOMATION": "off"}, test_speedups=False) as live,
    ):
        live.wait_run(live.launch("historical_backfill"), timeout=300)
        start, done_hours = START, 0
        for hours in backfills:
            out[hours] = _one(live, start, hours, done_hours, log)
            start += timedelta(hours=hours)
            done_hours += hours
    return out


def _one(live, start: datetime, hours: int, before: int, log) -> dict:
    """Backfill ``hours`` hours from ``start``; ``before`` hours are already in the warehouse."""
    from tests.e2e.conftest import BACKFILL_DONE
    from titanic_assets.data_layer.warehouse import connect

    partitions = [(start + timedelta(hours=h)).strftime("%Y-%m-%d-%H:%M") for h in range(hours)]
    log(f"  backfilling {hours} hours through the daemon")
    launched = time.time()
    backfill_id = live.launch_asset_backfill(KEYS, partitions)
    live.wait_for(
        f"backfill {backfill_id}",
        lambda: live.backfill_status(backfill_id) in BACKFILL_DONE,
        timeout=900 + 2 * hours,
    )
    status_s = time.time() - launched
    status = live.backfill_status(backfill_id)
    found = live.graphql(
        RUN_TIMES, {"filter": {"tags": [{"key": "dagster/backfill", "value": backfill_id}]}}
    )["runsOrError"]["results"]
    with connect(str(live.warehouse), read_only=True) as conn:
        rows, distinct, batches = conn.execute(
            "SELECT count(*), count(DISTINCT passenger_id), count(DISTINCT batch_id) "
            "FROM features.passenger_features WHERE source = 'synthetic'"
        ).fetchall()[0]
    if status not in {"COMPLETED", "COMPLETED_SUCCESS"} or any(
        r["status"] != "SUCCESS" for r in found
    ):
        raise RuntimeError(f"backfill {backfill_id} ended {status}: {found}")
    total = before + hours
    if (rows, distinct, batches) != (total * PER_HOUR, total * PER_HOUR, total):
        raise RuntimeError(
            f"expected {total * PER_HOUR} certified rows in {total} hours, got "
            f"{rows} ({distinct} distinct) in {batches}"
        )
    done_s = max(r["endTime"] for r in found) - launched
    log(f"  {hours} hours: {len(found)} runs, {done_s:.1f} s")
    return {
        "hours": hours,
        "runs": len(found),
        "backfill_s": round(done_s, 1),
        "backfill_marked_complete_s": round(status_s, 1),
        "run_seconds": sorted(round(r["endTime"] - r["startTime"], 1) for r in found),
        "certified_rows": rows - before * PER_HOUR,
    }

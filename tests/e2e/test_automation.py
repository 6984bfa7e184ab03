"""Hours and days as the live Dagster sees them (issue 12), through the webserver's GraphQL API.

The real webserver and daemon (``live`` in conftest.py) run the backfills, the automation
condition sensor, the retrain sensor and the freshness daemon; nothing here calls pipeline
code in-process. Each test leaves the instance as the next expects it (the module's tests run
in file order, the freshness test last: it needs a minute without new hours).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import (
    BACKFILL_DONE,
    LOCATION,
    REPOSITORY,
    LiveDagster,
)
from tests.warehouse_lock import hold_warehouse_lock
from titanic_assets import names
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.feature_pipeline.assets import HOURLY_BACKFILL_POLICY

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HOURS_KEYS = [["features", "synthetic_passengers"], ["features", "synthetic_features"]]
PER_HOUR = 20
#: An old day (never automated) plus six hours of the next: 30 hours, two runs of <= 24.
OLD_DAY = "2026-11-10"
OLD_HOURS = [f"{OLD_DAY}-{h:02d}:00" for h in range(24)] + [
    f"2026-11-11-{h:02d}:00" for h in range(6)
]

STALE_QUERY = """
query Stale($key: AssetKeyInput!, $partition: String!) {
  assetNodeOrError(assetKey: $key) {
    __typename
    ... on AssetNode {
      staleStatus(partition: $partition)
      staleCauses(partition: $partition) {
        key { path } partitionKey category reason dependency { path } dependencyPartitionKey
      }
    }
  }
}
"""

FRESHNESS_QUERY = """
query Fresh($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    __typename
    ... on AssetNode { freshnessStatusInfo { freshnessStatus } }
  }
}
"""

SENSOR_TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { ticks(limit: 50) { id status timestamp skipReason runIds } } }
  }
}
"""

REPORT_EVENT = """
mutation Report($params: ReportRunlessAssetEventsParams!) {
  reportRunlessAssetEvents(eventParams: $params) {
    __typename
    ... on PythonError { message }
  }
}
"""


#: The sensor Dagster runs for automation conditions (the predictions' day partitions).
AUTOMATION_SENSOR = "default_automation_condition_sensor"
#: Tick statuses of an evaluation that has finished.
FINISHED_TICK = {"SUCCESS", "SKIPPED"}


def _ticks(live: LiveDagster, sensor: str) -> list[dict]:
    """The sensor's latest ticks (newest first), as the UI's sensor page lists them."""
    selector = {
        "repositoryLocationName": LOCATION,
        "repositoryName": REPOSITORY,
        "sensorName": sensor,
    }
    found = live.graphql(SENSOR_TICKS, {"selector": selector})["sensorOrError"]
    assert found["__typename"] == "Sensor", found
    return found["sensorState"]["ticks"]


def _run_backfill(live: LiveDagster, partitions: list[str], timeout: float = 300) -> list:
    backfill_id = live.launch_asset_backfill(HOURS_KEYS, partitions)
    live.wait_for(
        f"backfill {backfill_id}",
        lambda: live.backfill_status(backfill_id) in BACKFILL_DONE,
        timeout,
    )
    runs = live.runs(tags={"dagster/backfill": backfill_id})
    assert runs and all(r.status == "SUCCESS" for r in runs), (runs, live.tails())
    return runs


def _rows_per_hour(live: LiveDagster, table: str, first: str, last: str) -> dict[str, int]:
    with connect(str(live.warehouse), read_only=True, timeout_s=60) as conn:
        rows = conn.execute(
            f"SELECT batch_id, count(*), count(DISTINCT passenger_id) FROM {table} "
            "WHERE batch_id BETWEEN ? AND ? GROUP BY 1",
            [first, last],
        ).fetchall()
    assert all(n == distinct for _, n, distinct in rows), rows  # no passenger twice
    return {batch: n for batch, n, _ in rows}


@pytest.fixture(scope="module")
def old_backfill(live: LiveDagster, first_cycle):
    return _run_backfill(live, OLD_HOURS)


def test_a_30_hour_backfill_runs_in_the_policys_chunks_with_every_hour_exact(live, old_backfill):
    ranges = sorted(
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in old_backfill
    )
    per_run = HOURLY_BACKFILL_POLICY.max_partitions_per_run
    assert per_run is not None
    chunks = [OLD_HOURS[i : i + per_run] for i in range(0, len(OLD_HOURS), per_run)]
    assert ranges == [(chunk[0], chunk[-1]) for chunk in chunks]
    for table in ("features.synthetic_passengers", "features.passenger_features"):
        counts = _rows_per_hour(live, table, OLD_HOURS[0], OLD_HOURS[-1])
        assert counts == {h: PER_HOUR for h in OLD_HOURS}, table


def test_a_day_scored_then_an_hour_rematerialized_shows_stale(live, old_backfill):
    live.wait_run(live.launch("inference_pipeline", partition=OLD_DAY))
    key = {"path": ["inference", "predictions"]}

    def causes() -> list[dict]:
        node = live.graphql(STALE_QUERY, {"key": key, "partition": OLD_DAY})["assetNodeOrError"]
        assert node["__typename"] == "AssetNode", node
        return node["staleCauses"] or []

    def hour_causes() -> list[dict]:
        # GraphQL names the root cause: the upstream partition whose data version is new.
        return [c for c in causes() if c["key"]["path"] == ["features", "synthetic_features"]]

    assert hour_causes() == [], "just scored: no hour of the day is newer than its scores"
    hour = f"{OLD_DAY}-05:00"
    other_seed = {"ops": {names.SYNTHETIC_PASSENGERS_OP: {"config": {"seed": 99}}}}
    live.wait_run(live.launch("feature_pipeline", other_seed, partition=hour))

    stale = live.wait_for("the day's predictions to show the new hour as a cause", hour_causes, 60)
    assert {c["partitionKey"] for c in stale} == {hour}, stale
    assert {c["category"] for c in stale} == {"DATA"}, stale
    status = live.graphql(STALE_QUERY, {"key": key, "partition": OLD_DAY})["assetNodeOrError"]
    assert status["staleStatus"] == "STALE", status
    # The old day is outside the automation window: it stays stale (shown, not re-scored). Only
    # a tick of the automation sensor that began after the day went stale can prove that.
    stale_at = time.time()
    live.wait_for(
        "an automation-sensor tick that evaluated the stale day",
        lambda: [
            t
            for t in _ticks(live, AUTOMATION_SENSOR)
            if t["timestamp"] > stale_at and t["status"] in FINISHED_TICK
        ],
        120,
    )
    rescored = [
        r
        for r in live.runs()
        if r.tags.get("dagster/from_automation_condition") == "true"
        and r.tags.get("dagster/partition") == OLD_DAY
    ]
    assert not rescored, rescored


def test_yesterdays_hours_all_in_make_automation_score_yesterday(live, old_backfill):
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    hours = [f"{yesterday}-{h:02d}:00" for h in range(24)]
    before = {r.run_id for r in live.runs()}
    runs = _run_backfill(live, hours)
    assert len(runs) == 1  # 24 hours: one run
    run = live.wait_succeeded(
        "yesterday's predictions requested by the automation condition",
        lambda r: (
            r.run_id not in before
            and r.tags.get("dagster/from_automation_condition") == "true"
            and r.tags.get("dagster/partition") == yesterday
        ),
    )
    assert run.tags["dagster/sensor_name"] == "default_automation_condition_sensor"


def test_a_busy_warehouse_tick_is_retried_not_dropped(live, old_backfill):
    def ticks() -> list[dict]:
        return _ticks(live, "retrain_on_new_passengers")

    def idle() -> bool:
        return not [r for r in live.runs() if r.status not in {"SUCCESS", "FAILURE", "CANCELED"}]

    live.wait_for("no run in progress (the lock below must not stall one)", idle, 300)
    holder = hold_warehouse_lock(live.warehouse)
    try:
        reported_at = time.time()
        params = {
            "eventType": "ASSET_MATERIALIZATION",
            "assetKey": {"path": ["features", "passenger_features"]},
            "description": "test: a feature-store update while another process holds the file",
        }
        done = live.graphql(REPORT_EVENT, {"params": params})["reportRunlessAssetEvents"]
        assert done["__typename"] == "ReportRunlessAssetEventsSuccess", done
        busy = live.wait_for(
            "a tick that met the lock",
            lambda: [
                t
                for t in ticks()
                if t["timestamp"] > reported_at and "busy" in (t["skipReason"] or "")
            ],
            90,
        )
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    busy_at = max(t["timestamp"] for t in busy)
    # The next ticks judge the same update (an @asset_sensor would say "no new materialization").
    judged = live.wait_for(
        "a tick that judged the update after the lock was released",
        lambda: [
            t
            for t in ticks()
            if t["timestamp"] > busy_at
            and t["status"] in FINISHED_TICK
            and "busy" not in (t["skipReason"] or "")
        ],
        90,
    )
    first = min(judged, key=lambda t: t["timestamp"])
    assert first["runIds"] or "new labelled passengers" in (first["skipReason"] or ""), first
    assert "no feature-store update" not in (first["skipReason"] or ""), first


def test_hourly_features_without_a_new_hour_are_reported_stale(live, old_backfill):
    """TITANIC_FEATURES_FRESH_MINUTES=1 here: a minute after the last hour, the freshness
    daemon marks features/synthetic_features as failing its policy (DEGRADED in the UI)."""
    live.set_schedule("hourly_synthetic_passengers", running=False)
    key = {"path": ["features", "synthetic_features"]}

    def status() -> str:
        node = live.graphql(FRESHNESS_QUERY, {"key": key})["assetNodeOrError"]
        return node["freshnessStatusInfo"]["freshnessStatus"]

    assert live.wait_for("the freshness verdict", lambda: status() == "DEGRADED", 240)

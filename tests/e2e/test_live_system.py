"""The live system, driven through the webserver's GraphQL API as the UI drives it.

The real ``dagster-webserver`` and ``dagster-daemon`` run as subprocesses (``live`` in
conftest.py). Runs go through the instance's run queue, the asset sensors and the schedule are
evaluated by the daemon: nothing here calls pipeline code in-process.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import LOCATION, REPOSITORY, LiveDagster
from titanic_assets import names
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.warehouse import connect, table_exists

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FEATURE_OPS_CONFIG = {"ops": {names.SYNTHETIC_PASSENGERS_OP: {"config": {"seed": 11}}}}

WORKSPACE_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name jobs { name } } }
          ... on PythonError { message stack }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""

INSTIGATORS_QUERY = """
query Instigators($repo: RepositorySelector!) {
  schedulesOrError(repositorySelector: $repo) {
    ... on Schedules { results { name cronSchedule defaultStatus } }
  }
  sensorsOrError(repositorySelector: $repo) {
    ... on Sensors { results { name minIntervalSeconds defaultStatus sensorState { status } } }
  }
}
"""

ASSET_GRAPH_QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    jobNames
    dependencyKeys { path }
  }
}
"""

ASSET_CHECKS_QUERY = """
{
  assetNodes {
    assetKey { path }
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name blocking } }
    }
  }
}
"""

CHECK_EXECUTIONS_QUERY = """
query Executions($key: AssetKeyInput!, $check: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $check, limit: 50) {
    runId
    status
    partition
    evaluation { success severity }
  }
}
"""

REPO = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}


def test_code_location_loads_without_errors(live: LiveDagster):
    workspace = live.wait_for(
        "the code location to load",
        lambda: (
            (entries := live.graphql(WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"])
            and all(e["loadStatus"] == "LOADED" for e in entries)
            and entries
        ),
    )
    assert [e["name"] for e in workspace] == [LOCATION]
    location = workspace[0]["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location
    jobs = {job["name"] for repo in location["repositories"] for job in repo["jobs"]}
    assert {"historical_backfill", "feature_pipeline", "training_pipeline"} <= jobs
    assert {"inference_pipeline", "promote_model"} <= jobs


def test_schedules_and_sensors_are_running_by_default(live: LiveDagster):
    data = live.graphql(INSTIGATORS_QUERY, {"repo": REPO})
    schedules = {s["name"]: s for s in data["schedulesOrError"]["results"]}
    sensors = {s["name"]: s for s in data["sensorsOrError"]["results"]}
    assert set(schedules) == {"hourly_synthetic_passengers"}
    assert set(sensors) == {
        "retrain_on_new_passengers",
        "retrain_on_model_degradation",
        "default_automation_condition_sensor",
    }
    # On by default (TITANIC_AUTOMATION); the feature schedule's current state is the
    # tests' business (first_cycle pauses it), the sensors are never touched.
    for instigator in [*schedules.values(), *sensors.values()]:
        assert instigator["defaultStatus"] == "RUNNING", instigator
    for instigator in sensors.values():
        assert instigator["sensorState"]["status"] == "RUNNING", instigator
    # The test-only knobs reached the code location (TITANIC_FEATURE_SCHEDULE_CRON,
    # TITANIC_SENSOR_INTERVAL_S): without them a schedule tick would take up to an hour.
    assert schedules["hourly_synthetic_passengers"]["cronSchedule"] == "* * * * *"
    assert all(s["minIntervalSeconds"] == 3 for s in sensors.values())


def test_backfill_then_sensors_train_and_score_by_themselves(live: LiveDagster, first_cycle):
    """Only the backfill was launched by hand; training came from the retrain sensor, and the
    new champion made the predictions' automation condition score today."""
    training, inference = first_cycle["training"], first_cycle["inference"]
    assert training.tags["titanic/trigger"] == "retrain_on_new_passengers"
    assert training.tags["titanic/baseline"] == "no champion"
    assert inference.tags["dagster/sensor_name"] == "default_automation_condition_sensor"
    assert inference.tags["dagster/partition"] == datetime.now(UTC).strftime("%Y-%m-%d")


def _new_hours(live: LiveDagster, count: int) -> list[str]:
    """The latest ``count`` complete hours with no synthetic passengers yet, after the champion's
    cutoff (the earlier e2e tests' backfills fill a window of recent hours that depends on the
    clock, and re-generating an hour replaces its passengers rather than adding any)."""
    table = names.SYNTHETIC_FEATURES_TABLE
    with connect(str(live.warehouse), read_only=True) as conn:
        hours_sql = f"SELECT DISTINCT date_trunc('hour', event_time) FROM {table}"
        taken = (
            {row[0] for row in conn.execute(hours_sql).fetchall()}
            if table_exists(conn, table)
            else set()
        )
        current = registry.champion(conn)
    cutoff = current.training_cutoff if current else None
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    hour -= timedelta(hours=2)  # the last complete hour is the schedule's
    found: list[datetime] = []
    while len(found) < count and (cutoff is None or hour > cutoff):
        if hour not in taken:
            found.append(hour)
        hour -= timedelta(hours=1)
    assert len(found) == count, f"no {count} free hours after the champion's cutoff {cutoff}"
    return [h.strftime("%Y-%m-%d-%H:00") for h in sorted(found)]


def test_feature_partitions_succeed_and_new_passengers_trigger_retraining(
    live: LiveDagster, first_cycle
):
    # Two hours as a user would launch them from the launchpad: hours no earlier test generated
    # (re-generating an hour replaces its passengers, so it adds none) and later than the
    # champion's cutoff. The schedule owns the last complete hour; these never collide with it.
    partitions = _new_hours(live, 2)
    before = {r.run_id for r in live.runs(job="training_pipeline")}
    run_ids = [live.launch("feature_pipeline", FEATURE_OPS_CONFIG, partition=p) for p in partitions]
    runs = [live.wait_run(run_id) for run_id in run_ids]
    assert [r.tags["dagster/partition"] for r in runs] == partitions

    # 2 x 20 synthetic passengers are newer than the champion's cutoff; the threshold is 30.
    retrain = live.wait_succeeded(
        "retraining on new passengers (baseline: the champion)",
        lambda r: (
            r.job == "training_pipeline"
            and r.run_id not in before
            and r.tags.get("dagster/sensor_name") == "retrain_on_new_passengers"
            and r.tags.get("titanic/baseline", "").startswith("v")
        ),
    )
    assert int(retrain.tags["titanic/new_labelled_rows"]) >= 30


SCHEDULE_TICKS_QUERY = """
query Ticks($selector: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $selector) {
    ... on Schedule { scheduleState { ticks(limit: 10) { status skipReason } } }
  }
}
"""


def _generated_hours(live: LiveDagster) -> set[datetime]:
    table = names.SYNTHETIC_FEATURES_TABLE
    with connect(str(live.warehouse), read_only=True) as conn:
        if not table_exists(conn, table):
            return set()
        sql = f"SELECT DISTINCT date_trunc('hour', event_time) FROM {table}"
        return {row[0] for row in conn.execute(sql).fetchall()}


def test_schedule_tick_requests_the_last_complete_hour_once(live: LiveDagster, first_cycle):
    """The feature schedule (every minute here) requests the last complete hour, once: a run
    while the hour is new, then ticks that skip it, naming it, once it is generated. (From 00:00
    to 00:59 UTC the last complete hour is yesterday's 23:00, which the automation tests'
    backfill of yesterday has generated already: then only the skips are seen.)"""
    target = datetime.now(UTC).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    target -= timedelta(hours=1)
    label = target.strftime("%Y-%m-%d-%H:%M")
    already = target in _generated_hours(live)
    live.set_schedule("hourly_synthetic_passengers", running=True)
    if not already:
        run = live.wait_succeeded(
            "a feature_pipeline run launched by hourly_synthetic_passengers",
            lambda r: (
                r.job == "feature_pipeline"
                and r.tags.get("dagster/schedule_name") == "hourly_synthetic_passengers"
            ),
            timeout=180,
        )
        assert run.tags["titanic/trigger"] == "schedule"
        assert run.tags["dagster/partition"] == label
    selector = {
        "repositoryLocationName": LOCATION,
        "repositoryName": REPOSITORY,
        "scheduleName": "hourly_synthetic_passengers",
    }

    def skipped_as_generated() -> bool:
        state = live.graphql(SCHEDULE_TICKS_QUERY, {"selector": selector})
        ticks = state["scheduleOrError"]["scheduleState"]["ticks"]
        reason = f"{label} is already generated"
        return any(t["status"] == "SKIPPED" and reason in (t["skipReason"] or "") for t in ticks)

    live.wait_for(f"a schedule tick skipping {label} as generated", skipped_as_generated, 180)
    scheduled = live.runs(tags={"dagster/schedule_name": "hourly_synthetic_passengers"})
    by_partition = [r.tags["dagster/partition"] for r in scheduled]
    assert len(by_partition) == len(set(by_partition)), "an hour was generated twice"
    assert by_partition.count(label) == (0 if already else 1)


def test_asset_graph_lineage_from_predictions_back_to_sources(live: LiveDagster):
    nodes = live.graphql(ASSET_GRAPH_QUERY)["assetNodes"]
    graph = {
        "/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]}
        for n in nodes
    }
    groups = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    assert set(groups.values()) == {"feature_pipeline", "training_pipeline", "inference_pipeline"}

    def upstream(asset: str) -> set[str]:
        seen, todo = set(), [asset]
        while todo:
            for dep in graph[todo.pop()]:
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    # The direct edges a newcomer follows in the UI.
    # A day's predictions: its hours of features (time-window mapping) and the champion, which
    # follows the registry.
    assert graph["inference/predictions"] == {"features/synthetic_features", "models/champion"}
    assert graph["models/champion"] == {"models/model_versions"}
    assert "inference/predictions" in graph["monitoring/model_performance"]
    assert "models/training_data" in graph["models/model_versions"]
    assert "features/passenger_features" in graph["models/training_data"]
    assert {"features/historical_features", "features/synthetic_features"} <= graph[
        "features/passenger_features"
    ]
    # ... and transitively, down to both sources: predictions <- model <- features <- sources.
    behind_predictions = upstream("inference/predictions")
    assert {
        "models/model_versions",
        "models/training_data",
        "features/passenger_features",
        "features/historical_passengers",
        "features/synthetic_passengers",
    } <= behind_predictions
    roots = {asset for asset in behind_predictions if not graph.get(asset)}
    assert roots, "the lineage must end at source assets"
    assert all(groups[r] == "feature_pipeline" for r in roots), roots
    assert groups["inference/predictions"] == "inference_pipeline"
    assert groups["models/model_versions"] == "training_pipeline"


def test_asset_check_results_passed(live: LiveDagster, first_cycle, scored_day):
    nodes = live.graphql(ASSET_CHECKS_QUERY)["assetNodes"]
    checks = {
        ("/".join(n["assetKey"]["path"]), c["name"]): c["blocking"]
        for n in nodes
        if n["assetChecksOrError"]["__typename"] == "AssetChecks"
        for c in n["assetChecksOrError"]["checks"]
    }
    assert ("features/historical_features", "integrity") in checks
    assert ("features/synthetic_features", "integrity") in checks
    assert ("models/model_versions", "champion_is_sound") in checks
    assert checks[("features/historical_features", "integrity")] is True  # blocking

    def executions(asset: str, check: str) -> list[dict]:
        return live.graphql(
            CHECK_EXECUTIONS_QUERY, {"key": {"path": asset.split("/")}, "check": check}
        )["assetCheckExecutions"]

    # Every blocking check that ran passed, and so did the champion's soundness check.
    must_pass = [
        ("features/historical_features", "integrity"),
        ("models/model_versions", "champion_is_sound"),
    ]
    for asset, check in must_pass:
        ran = executions(asset, check)
        assert ran, f"{asset} {check} never ran"
        assert all(e["status"] == "SUCCEEDED" for e in ran), (asset, check, ran)
        assert all(e["evaluation"]["success"] for e in ran), (asset, check, ran)
    # The backfill's distribution suite passes on the real 1912 list.
    historical = executions("features/historical_features", "distribution")
    assert historical and all(e["evaluation"]["success"] for e in historical), historical
    # The hourly checks judged their own partition (the hand-launched hours may still run), and
    # the hour generated for scored_day is among them, passed.
    hourly = [e for e in executions("features/synthetic_features", "integrity") if e["evaluation"]]
    assert f"{scored_day}-12:00" in {e["partition"] for e in hourly}, hourly
    assert all(e["partition"] and e["evaluation"]["success"] for e in hourly), hourly
    # Monitoring checks ran on the sensor-launched inference run (WARN-only; outcome is data).
    monitoring = executions("monitoring/model_performance", "accuracy_above_floor")
    assert any(e["runId"] == first_cycle["inference"].run_id for e in monitoring), monitoring

"""Closing the loop: re-score on a new champion, retrain on drift or an accuracy drop.

Both are asset sensors, so they only wake when their asset was materialized, and both read the
warehouse read-only with a short timeout: while a pipeline holds DuckDB's single writer lock
the tick is skipped (and the next one retries), instead of the daemon waiting on the lock.

* :func:`rescore_on_new_champion` — on ``models/model_versions``: if the run that materialized
  it made a (different) model the champion, request ``inference_pipeline`` for today's
  partition. A training run whose challenger lost changes nothing, and requests nothing.
* :func:`retrain_on_model_degradation` — on ``monitoring/model_performance``: if the champion's
  row for the monitored day fails :func:`titanic_assets.core.monitoring.verdict` (drift above
  the PSI ceiling, or accuracy below the floor with enough labels), request
  ``training_pipeline``. One request per (day, champion version): a retrained champion is
  judged afresh, and the same verdict never queues a second retraining.
"""

from datetime import UTC, datetime

import dagster as dg
import duckdb as duckdb_lib
import pandas as pd
from dagster_duckdb import DuckDBResource

from titanic_assets import names, settings
from titanic_assets.automation import sensor_interval, sensor_status
from titanic_assets.core import monitoring
from titanic_assets.core.training_set import REASON_DEGRADATION
from titanic_assets.data_layer.registry import champion, promotions
from titanic_assets.data_layer.warehouse import connect, table_exists
from titanic_assets.inference_pipeline.assets import (
    DAILY_PARTITIONS,
    MODEL_VERSIONS_KEY,
    PERFORMANCE_KEY,
    PERFORMANCE_TABLE,
)
from titanic_assets.inference_pipeline.jobs import JOB_NAME

TRAINING_JOB_NAME = names.TRAINING_JOB
#: A sensor tick must stay short: give up on a locked warehouse after this long.
SENSOR_CONNECT_TIMEOUT_S = 3.0
#: Actions of the promotions log that change the champion.
CHAMPION_ACTIONS = ("promote", "rollback")


class _WarehouseBusy(Exception):
    """The warehouse could not be opened read-only (locked by a writer, or not created yet)."""


def _read(database: str, reader):
    try:
        with connect(database, read_only=True, timeout_s=SENSOR_CONNECT_TIMEOUT_S) as conn:
            return reader(conn)
    except (FileNotFoundError, duckdb_lib.IOException, duckdb_lib.ConnectionException) as error:
        raise _WarehouseBusy(str(error).splitlines()[0]) from error


@dg.asset_sensor(
    asset_key=MODEL_VERSIONS_KEY,
    job_name=JOB_NAME,
    name="rescore_on_new_champion",
    minimum_interval_seconds=sensor_interval(30),
    default_status=sensor_status(),
    description=(
        "When a training run promotes a new champion, re-score the current day with it "
        "(inference_pipeline, today's partition)."
    ),
)
def rescore_on_new_champion(
    context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry, duckdb: DuckDBResource
):
    run_id = asset_event.run_id

    def read(conn):
        current = champion(conn) if table_exists(conn, names.MODEL_VERSIONS_TABLE) else None
        return current, promotions(conn)

    try:
        current, log = _read(duckdb.database, read)
    except _WarehouseBusy as error:
        return dg.SkipReason(f"warehouse not readable now, will retry: {error}")
    if current is None:
        return dg.SkipReason("no champion in the registry yet")
    decided = log[(log["action"].isin(CHAMPION_ACTIONS)) & (log["version"] == current.version)]
    promoted_here = bool((decided["run_id"] == run_id).any())
    trained_here = current.run_id == run_id
    if not (promoted_here or trained_here):
        return dg.SkipReason(f"run {run_id} did not change the champion (still v{current.version})")
    event_id = int(decided["event_id"].max()) if len(decided) else 0
    today = _today_partition()
    if today is None:
        return dg.SkipReason("today is outside the inference partitions")
    return dg.RunRequest(
        job_name=JOB_NAME,
        run_key=f"champion-v{current.version}-event{event_id}",
        partition_key=today,
        tags={
            "titanic/trigger": "new_champion",
            "titanic/model_version": str(current.version),
            "titanic/training_run": run_id,
        },
    )


@dg.asset_sensor(
    asset_key=PERFORMANCE_KEY,
    job_name=TRAINING_JOB_NAME,
    name="retrain_on_model_degradation",
    minimum_interval_seconds=sensor_interval(30),
    default_status=sensor_status(),
    description=(
        "When monitoring reports drift above TITANIC_PSI_CEILING or accuracy below "
        "TITANIC_ACCURACY_FLOOR for the champion, request a training_pipeline run."
    ),
)
def retrain_on_model_degradation(
    context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry, duckdb: DuckDBResource
):
    partition = asset_event.dagster_event.partition if asset_event.dagster_event else None

    def read(conn):
        if not table_exists(conn, PERFORMANCE_TABLE):
            return None, pd.DataFrame()
        current = champion(conn) if table_exists(conn, names.MODEL_VERSIONS_TABLE) else None
        if partition:
            rows = conn.execute(
                f"SELECT * FROM {PERFORMANCE_TABLE} WHERE day = ?",
                [datetime.strptime(partition, names.DAY_KEY_FORMAT)],
            ).df()
        else:
            rows = conn.execute(
                f"SELECT * FROM {PERFORMANCE_TABLE} "
                f"WHERE day = (SELECT max(day) FROM {PERFORMANCE_TABLE})"
            ).df()
        return current, rows

    try:
        current, rows = _read(duckdb.database, read)
    except _WarehouseBusy as error:
        return dg.SkipReason(f"warehouse not readable now, will retry: {error}")
    if current is None or rows.empty:
        return dg.SkipReason("no champion or no monitoring row to judge")
    mine = rows[rows["model_version"] == current.version]
    if mine.empty:
        return dg.SkipReason(
            f"monitoring rows are for versions {sorted(rows['model_version'].unique().tolist())}"
            f", not the champion v{current.version}: wait for it to be monitored"
        )
    row = mine.iloc[0].to_dict()
    reasons = monitoring.verdict(row, settings.load().thresholds())
    day = pd.Timestamp(row["day"]).strftime(names.DAY_KEY_FORMAT)
    if not reasons:
        return dg.SkipReason(f"champion v{current.version} healthy on {day}")
    context.log.info(f"requesting retraining: {'; '.join(reasons)}")
    return dg.RunRequest(
        job_name=TRAINING_JOB_NAME,
        run_key=f"retrain-{day}-v{current.version}",
        # Degradation: train on the regime that began with the degraded days (core.training_set).
        run_config={
            "ops": {
                "models__training_data": {
                    "config": {"reason": REASON_DEGRADATION, "degraded_day": day}
                }
            }
        },
        tags={
            "titanic/trigger": "monitoring",
            "titanic/monitored_day": day,
            "titanic/model_version": str(current.version),
            "titanic/reasons": "; ".join(reasons)[:250],
        },
    )


def _today_partition(now: datetime | None = None) -> str | None:
    key = (now or datetime.now(UTC)).strftime(names.DAY_KEY_FORMAT)
    return key if DAILY_PARTITIONS.has_partition_key(key) else None

"""Closing the loop: retrain on drift or an accuracy drop.

Re-scoring on a new champion is no longer a sensor: it is part of the predictions' automation
condition (inference_pipeline/automation.py), which needs neither run config nor a warehouse
read. :func:`retrain_on_model_degradation` stays a sensor because its decision reads the
monitoring row from the warehouse (the verdict is not part of Dagster's asset state) and its
run config is computed at the tick (the degraded day the retraining starts its regime from).

* :func:`retrain_on_model_degradation` — on each ``monitoring/model_performance``
  materialization: if the champion's row for the monitored day fails
  :func:`titanic_assets.core.monitoring.verdict` (drift above the PSI ceiling, or accuracy
  below the floor with enough labels), request ``training_pipeline``. One request per (day,
  champion version): a retrained champion is judged afresh, and the same verdict never queues
  a second retraining.

The warehouse is read read-only with a short timeout. While a pipeline holds DuckDB's single
writer lock the tick skips, and the sensor's own cursor (a storage id) stays before the
unjudged event, so the next tick judges it: no event is dropped (an ``@asset_sensor`` would
have moved past it).
"""

from datetime import datetime

import dagster as dg
import duckdb as duckdb_lib
import pandas as pd
from dagster_duckdb import DuckDBResource

from titanic_assets import names, settings
from titanic_assets.automation import sensor_interval, sensor_status, unprocessed_events
from titanic_assets.core import monitoring
from titanic_assets.core.training_set import REASON_DEGRADATION
from titanic_assets.data_layer.monitoring_store import performance_of_day
from titanic_assets.data_layer.registry import champion
from titanic_assets.data_layer.warehouse import connect, table_exists
from titanic_assets.inference_pipeline.assets import PERFORMANCE_KEY

TRAINING_JOB_NAME = names.TRAINING_JOB
#: A sensor tick must stay short: give up on a locked warehouse after this long.
SENSOR_CONNECT_TIMEOUT_S = 3.0


class _WarehouseBusy(Exception):
    """The warehouse could not be opened read-only (locked by a writer, or not created yet)."""


def _read(database: str, reader):
    try:
        with connect(database, read_only=True, timeout_s=SENSOR_CONNECT_TIMEOUT_S) as conn:
            return reader(conn)
    except (FileNotFoundError, duckdb_lib.IOException, duckdb_lib.ConnectionException) as error:
        raise _WarehouseBusy(str(error).splitlines()[0]) from error


@dg.sensor(
    job_name=TRAINING_JOB_NAME,
    name="retrain_on_model_degradation",
    minimum_interval_seconds=sensor_interval(30),
    default_status=sensor_status(),
    description=(
        "When monitoring reports drift above TITANIC_PSI_CEILING or accuracy below "
        "TITANIC_ACCURACY_FLOOR for the champion, request a training_pipeline run. Keeps its "
        "own cursor: an event it could not judge (warehouse busy) is judged on the next tick."
    ),
)
def retrain_on_model_degradation(context: dg.SensorEvaluationContext, duckdb: DuckDBResource):
    events = unprocessed_events(context, PERFORMANCE_KEY)
    if not events:
        return dg.SkipReason("no new monitoring results")
    requests: list[dg.RunRequest] = []
    notes: list[str] = []
    judged = context.cursor
    for record in events:
        try:
            outcome = _judge(context, duckdb.database, record.partition_key)
        except _WarehouseBusy as error:
            notes.append(f"warehouse not readable now, will retry: {error}")
            break  # this and later events stay after the cursor
        judged = str(record.storage_id)
        if isinstance(outcome, dg.RunRequest):
            requests.append(outcome)
        else:
            notes.append(outcome)
    return dg.SensorResult(
        run_requests=requests,
        cursor=judged,
        skip_reason=None if requests else "; ".join(notes[-3:]),
    )


def _judge(
    context: dg.SensorEvaluationContext, database: str, partition: str | None
) -> dg.RunRequest | str:
    """The retraining request for one monitored day, or why there is none."""

    day = datetime.strptime(partition, names.DAY_KEY_FORMAT) if partition else None

    def read(conn):
        current = champion(conn) if table_exists(conn, names.MODEL_VERSIONS_TABLE) else None
        return current, performance_of_day(conn, day)

    current, rows = _read(database, read)
    if current is None or rows.empty:
        return "no champion or no monitoring row to judge"
    mine = rows[rows["model_version"] == current.version]
    if mine.empty:
        return (
            f"monitoring rows are for versions {sorted(rows['model_version'].unique().tolist())}"
            f", not the champion v{current.version}: wait for it to be monitored"
        )
    row = mine.iloc[0].to_dict()
    reasons = monitoring.verdict(row, settings.load().thresholds())
    day = pd.Timestamp(row["day"]).strftime(names.DAY_KEY_FORMAT)
    if not reasons:
        return f"champion v{current.version} healthy on {day}"
    context.log.info(f"requesting retraining: {'; '.join(reasons)}")
    return dg.RunRequest(
        job_name=TRAINING_JOB_NAME,
        run_key=f"retrain-{day}-v{current.version}",
        # Degradation: train on the regime that began with the degraded days (core.training_set).
        run_config=names.op_config(
            names.TRAINING_DATA_OP, reason=REASON_DEGRADATION, degraded_day=day
        ),
        tags={
            "titanic/trigger": "monitoring",
            "titanic/monitored_day": day,
            "titanic/model_version": str(current.version),
            "titanic/reasons": "; ".join(reasons)[:250],
        },
    )

"""Retrain when enough new labelled passengers have arrived since the champion was trained.

The sensor wakes on each materialization of the feature store, counts labelled rows with
``event_time`` after the champion's ``training_cutoff`` (a count bounded by that cutoff, not by
the history: ``feature_store.new_labelled_rows``) and requests ``training_pipeline`` once that count reaches ``$TITANIC_RETRAIN_MIN_NEW_ROWS``
(default 500), or when there is no champion yet.

The run key is ``(champion version, how many thresholds' worth of new rows)``: while a training
run is pending, later feature-store updates map to the same key and are not requested again;
if the challenger loses, the next threshold's worth of rows earns another attempt.

Why a sensor and not an automation condition: the run needs config computed at the tick (the
training cutoff, fixed to the latest event_time counted) and the decision reads the warehouse.

It keeps its own cursor, the storage id of the last feature-store materialization it judged
(:func:`titanic_assets.automation.unprocessed_events`). The warehouse is opened read-only
with a short timeout; a locked or missing warehouse is a skip that leaves the cursor where it
was, so the next tick judges the same update again (an ``@asset_sensor`` would advance its
cursor on the skip and wait, silently, for the next hourly update).
"""

import dagster as dg
import duckdb as duckdb_lib
from dagster_duckdb import DuckDBResource

from titanic_assets import names, settings
from titanic_assets.automation import sensor_interval, sensor_status, unprocessed_events
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.feature_store import new_labelled_rows
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.training_pipeline.assets import PASSENGER_FEATURES
from titanic_assets.training_pipeline.jobs import training_pipeline

THRESHOLD_ENV = "TITANIC_RETRAIN_MIN_NEW_ROWS"
LOCK_TIMEOUT_S = 3.0


@dg.sensor(
    job=training_pipeline,
    minimum_interval_seconds=sensor_interval(60),
    default_status=sensor_status(),
    description=f"Retrain when ${THRESHOLD_ENV} (default "
    f"{settings.VARIABLES[THRESHOLD_ENV].default}) labelled passengers "
    "newer than the champion's training cutoff are in the feature store, or no champion exists. "
    "Judges each feature-store update; a busy warehouse is retried on the next tick.",
)
def retrain_on_new_passengers(context: dg.SensorEvaluationContext, duckdb: DuckDBResource):
    events = unprocessed_events(context, PASSENGER_FEATURES)
    if not events:
        return dg.SkipReason("no feature-store update since the last judged one")
    threshold = settings.load().retrain_min_new_rows
    try:
        with connect(duckdb.database, read_only=True, timeout_s=LOCK_TIMEOUT_S) as conn:
            current = registry.champion(conn)
            since = current.training_cutoff if current else None
            new_rows, latest = new_labelled_rows(conn, since)
    except FileNotFoundError as error:
        return dg.SkipReason(f"warehouse missing, will retry on the next tick: {error}")
    except duckdb_lib.Error as error:  # locked by a writer, or being created right now
        return dg.SkipReason(f"warehouse busy, will retry on the next tick: {error}")
    # The state now counted covers every update up to the latest: all are judged.
    judged = str(events[-1].storage_id)

    if current is None:
        baseline = "no champion"
    else:
        baseline = f"v{current.version} cutoff {since.isoformat() if since else 'unknown'}"
    # Checked before ``latest``: with a champion, ``latest`` is None when nothing is new.
    if current is not None and new_rows < threshold:
        return dg.SensorResult(
            skip_reason=f"{new_rows} new labelled passengers since {baseline}; "
            f"retraining at {threshold}",
            cursor=judged,
        )
    if latest is None:
        return dg.SensorResult(
            skip_reason="the feature store has no labelled passengers yet", cursor=judged
        )
    bucket = new_rows // threshold
    run_key = f"champion-{current.version if current else 'none'}-new-rows-x{bucket}"
    context.log.info(f"requesting training: {new_rows} new labelled passengers since {baseline}")
    request = dg.RunRequest(
        run_key=run_key,
        # The cutoff is fixed now, so the run trains on exactly what this tick counted.
        run_config=names.op_config(names.TRAINING_DATA_OP, cutoff=latest.isoformat()),
        tags={
            "titanic/trigger": "retrain_on_new_passengers",
            "titanic/new_labelled_rows": str(new_rows),
            "titanic/baseline": baseline,
        },
    )
    return dg.SensorResult(run_requests=[request], cursor=judged)

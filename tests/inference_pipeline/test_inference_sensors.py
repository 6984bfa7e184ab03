"""The loop-closing sensor: drift -> retraining request (re-scoring on a new champion is an
automation condition now: tests/inference_pipeline/test_automation.py).

A stand-in ``models/model_versions`` asset plays the training pipeline: it registers a model
through the real registry with its own run id and promotes it or not, so the champion sensor
sees exactly what a real training run leaves behind (a materialization plus registry rows).
"""

import dagster as dg
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from tests.inference_pipeline.test_inference_assets import (
    DAY,
    DRIFT_DAY,
    add_to_feature_store,
    generate_day,
    replay_day,
    run_inference,
    seed_champion,
)
from tests.warehouse_lock import hold_warehouse_lock
from titanic_assets import names
from titanic_assets.core.generator import DriftSpec
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.resources import warehouse_resources
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.inference_pipeline.definitions import defs as inference_defs
from titanic_assets.inference_pipeline.jobs import JOB_NAME
from titanic_assets.inference_pipeline.sensors import (
    TRAINING_JOB_NAME,
    retrain_on_model_degradation,
)


class StandInTraining(dg.Config):
    promote: bool = True


def _stand_in_training(historical: pd.DataFrame):
    @dg.asset(key=["models", "model_versions"], group_name="training_pipeline")
    def model_versions(context, config: StandInTraining, duckdb: DuckDBResource) -> None:
        with connect(duckdb.database) as conn:
            before = registry.champion(conn) if _has_registry(conn) else None
        version = seed_champion(duckdb.database, historical, run_id=context.run_id)
        if not config.promote and before is not None:
            with connect(duckdb.database) as conn:  # undo: the challenger lost
                registry.promote(conn, before.version, "challenger lost", run_id=None)
                conn.execute(
                    "DELETE FROM models.promotions WHERE version = ? AND action = 'promote'",
                    [version],
                )

    return model_versions


def _has_registry(conn) -> bool:
    from titanic_assets.data_layer.warehouse import table_exists

    return table_exists(conn, "models.model_versions")


def _definitions(training_asset, path: str) -> dg.Definitions:
    training = dg.Definitions(
        assets=[training_asset],
        resources=warehouse_resources(path),
        jobs=[
            dg.define_asset_job(
                TRAINING_JOB_NAME, selection=dg.AssetSelection.groups("training_pipeline")
            )
        ],
    )
    return dg.Definitions.merge(inference_defs, training)


def _train(asset, path, instance, promote: bool) -> None:
    dg.materialize(
        [asset],
        resources=warehouse_resources(path),
        instance=instance,
        run_config={"ops": {names.MODEL_VERSIONS_OP: {"config": {"promote": promote}}}},
    )


def _tick(sensor, instance, definitions, path, cursor=None):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=definitions,
        resources={"duckdb": DuckDBResource(database=path)},
    )
    return sensor.evaluate_tick(context)


@pytest.fixture
def training(historical_passengers):
    return _stand_in_training(historical_passengers)


def test_busy_warehouse_is_retried_on_the_next_tick(
    warehouse, instance, historical_passengers, training, monkeypatch
) -> None:
    from titanic_assets.inference_pipeline import sensors

    definitions = _definitions(training, warehouse)
    seed_champion(warehouse, historical_passengers)
    drift = DriftSpec(pclass_weights={1: 6.0}, age_shift_years=15.0)
    add_to_feature_store(warehouse, generate_day(historical_passengers, DRIFT_DAY, drift=drift))
    run_inference(warehouse, DRIFT_DAY, instance=instance)
    first = _tick(retrain_on_model_degradation, instance, definitions, warehouse)
    assert first.run_requests  # the verdict is "retrain": now replay it with the lock held

    monkeypatch.setattr(sensors, "SENSOR_CONNECT_TIMEOUT_S", 0.3)
    run_inference(warehouse, DRIFT_DAY, instance=instance)  # a new monitoring event
    holder = hold_warehouse_lock(warehouse)
    try:
        busy = _tick(retrain_on_model_degradation, instance, definitions, warehouse, first.cursor)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    assert not busy.run_requests
    assert "will retry" in busy.skip_message
    assert busy.cursor == first.cursor, "the unjudged event must stay after the cursor"
    # No new event: the next tick judges the one the busy tick could not read.
    retried = _tick(retrain_on_model_degradation, instance, definitions, warehouse, busy.cursor)
    assert [r.run_key for r in retried.run_requests] == [f"retrain-{DRIFT_DAY}-v1"]
    assert int(retried.cursor) > int(first.cursor)
    done = _tick(retrain_on_model_degradation, instance, definitions, warehouse, retried.cursor)
    assert not done.run_requests and "no new monitoring results" in done.skip_message


def test_drift_requests_retraining(warehouse, instance, historical_passengers, training) -> None:
    definitions = _definitions(training, warehouse)
    seed_champion(warehouse, historical_passengers)
    drift = DriftSpec(pclass_weights={1: 6.0}, age_shift_years=15.0)
    add_to_feature_store(warehouse, generate_day(historical_passengers, DRIFT_DAY, drift=drift))
    run_inference(warehouse, DRIFT_DAY, instance=instance)
    result = _tick(retrain_on_model_degradation, instance, definitions, warehouse)
    assert len(result.run_requests) == 1
    request = result.run_requests[0]
    assert request.job_name == TRAINING_JOB_NAME
    assert "drift" in request.tags["titanic/reasons"]
    assert request.run_key == f"retrain-{DRIFT_DAY}-v1"


def test_healthy_day_requests_nothing(warehouse, instance, historical_passengers, training):
    definitions = _definitions(training, warehouse)
    seed_champion(warehouse, historical_passengers)
    add_to_feature_store(warehouse, replay_day(historical_passengers, DAY))
    run_inference(warehouse, DAY, instance=instance)
    result = _tick(retrain_on_model_degradation, instance, definitions, warehouse)
    assert not result.run_requests
    assert "healthy" in result.skip_message


def test_definitions_load_when_merged_with_training(warehouse, training) -> None:
    definitions = _definitions(training, warehouse)
    definitions.get_repository_def().validate_loadable()
    job = definitions.get_job_def(JOB_NAME)
    assert job.partitions_def is not None
    sensor = definitions.get_sensor_def("retrain_on_model_degradation")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

"""Materializing hourly features for hours whose passengers were never generated fails at once,
naming the upstream asset, the hours and what to select (not with data-quality failures)."""

import dagster as dg
import pytest

from titanic_assets import names
from titanic_assets.data_layer.resources import warehouse_resources
from titanic_assets.feature_pipeline import assets
from titanic_assets.feature_pipeline.definitions import defs as feature_defs

FEATURES = dg.AssetKey(names.SYNTHETIC_FEATURES)
PASSENGERS = dg.AssetKey(names.SYNTHETIC_PASSENGERS)
FEATURE_ASSETS = [assets.synthetic_passengers, assets.synthetic_features]


def failure(result: dg.ExecuteInProcessResult) -> dg.Failure | str:
    """The failed step's message (what the UI shows on the step)."""
    assert not result.success
    (event,) = [e for e in result.all_events if e.is_step_failure]
    return event.step_failure_data.error.message


def test_features_alone_for_hours_never_generated_name_the_passengers(warehouse, instance):
    hour = "2026-11-27-05:00"
    result = dg.materialize(
        FEATURE_ASSETS,
        selection=[FEATURES],
        partition_key=hour,
        resources=warehouse_resources(warehouse),
        instance=instance,
        raise_on_error=False,
    )
    message = failure(result)
    assert "synthetic_passengers" in message and hour in message
    assert "were never materialized" in message and "feature_pipeline job" in message
    assert result.get_asset_check_evaluations() == []  # no GX verdict for an empty input


@pytest.fixture
def one_hour_generated(warehouse, instance) -> str:
    """The historical backfill, then the passengers of one hour (no features yet)."""
    defs = dg.Definitions.merge(
        feature_defs, dg.Definitions(resources=warehouse_resources(warehouse))
    )
    assert (
        defs.resolve_job_def(names.HISTORICAL_BACKFILL_JOB)
        .execute_in_process(instance=instance)
        .success
    )
    hour = "2026-11-27-05:00"
    assert dg.materialize(
        FEATURE_ASSETS,
        selection=[PASSENGERS],
        partition_key=hour,
        resources=warehouse_resources(warehouse),
        instance=instance,
        run_config=names.op_config(names.SYNTHETIC_PASSENGERS_OP, passengers_per_hour=5),
    ).success
    return hour


def test_a_range_names_only_its_missing_hours(one_hour_generated, warehouse, instance):
    result = dg.materialize(
        FEATURE_ASSETS,
        selection=[FEATURES],
        resources=warehouse_resources(warehouse),
        instance=instance,
        raise_on_error=False,
        tags={
            "dagster/asset_partition_range_start": "2026-11-27-04:00",
            "dagster/asset_partition_range_end": "2026-11-27-07:00",
        },
    )
    message = failure(result)
    assert (
        "partitions 2026-11-27-04:00, 2026-11-27-06:00...2026-11-27-07:00 (3 of the run's 4)"
        in message
    )
    assert one_hour_generated not in message.split("(")[0]
    assert result.get_asset_check_evaluations() == []
    # The generated hour alone goes through to its checks.
    assert dg.materialize(
        FEATURE_ASSETS,
        selection=[FEATURES],
        partition_key=one_hour_generated,
        resources=warehouse_resources(warehouse),
        instance=instance,
    ).success

"""The hourly schedule generates the last complete hour once, however often its cron ticks."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from titanic_assets.definitions import build_definitions
from titanic_assets.feature_pipeline import assets
from titanic_assets.feature_pipeline.jobs import hourly_synthetic_passengers

TICK = datetime(2026, 11, 20, 14, 1, tzinfo=UTC)
HOUR = "2026-11-20-13:00"


def _tick(instance: dg.DagsterInstance):
    repository = build_definitions(":memory:").get_repository_def()
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=TICK, repository_def=repository
    )
    return hourly_synthetic_passengers.evaluate_tick(context)


def test_the_last_complete_hour_is_requested_then_skipped_once_generated():
    with dg.instance_for_test() as instance:
        [reason] = _tick(instance).skip_message.splitlines()  # no history yet
        assert "historical_backfill" in reason

        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=assets.HISTORICAL_PASSENGERS)
        )
        [request] = _tick(instance).run_requests
        assert request.partition_key == HOUR

        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=assets.SYNTHETIC_PASSENGERS, partition=HOUR)
        )
        result = _tick(instance)
        assert not result.run_requests
        assert result.skip_message == f"{HOUR} is already generated"

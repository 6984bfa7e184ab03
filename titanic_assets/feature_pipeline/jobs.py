"""Feature pipeline jobs and the hourly schedule.

``historical_backfill`` loads the passenger list once (or again, from a user's CSV);
``feature_pipeline`` is the hourly job: one hour of synthetic passengers, its features and
checks, then the feature store view. Both run in-process: their steps are small, and the
multiprocess executor would spend more time starting processes than working.
"""

import dagster as dg

from titanic_assets import names
from titanic_assets.automation import feature_schedule_cron, schedule_status
from titanic_assets.feature_pipeline import assets
from titanic_assets.partitions import HOURLY_PARTITIONS

historical_backfill = dg.define_asset_job(
    name=names.HISTORICAL_BACKFILL_JOB,
    selection=dg.AssetSelection.assets(
        assets.RAW_HISTORICAL,
        assets.HISTORICAL_PASSENGERS,
        assets.REJECTED_HISTORICAL,
        assets.HISTORICAL_FEATURES,
        assets.PASSENGER_FEATURES,
    ),
    executor_def=dg.in_process_executor,
    description="Backfill the historical passenger list into the feature store.",
)

feature_pipeline = dg.define_asset_job(
    name=names.FEATURE_JOB,
    selection=dg.AssetSelection.assets(
        assets.SYNTHETIC_PASSENGERS, assets.SYNTHETIC_FEATURES, assets.PASSENGER_FEATURES
    ),
    executor_def=dg.in_process_executor,
    description="One hour of synthetic passengers -> features -> GX checks -> feature store.",
)


@dg.schedule(
    name="hourly_synthetic_passengers",
    cron_schedule=feature_schedule_cron(),
    job=feature_pipeline,
    execution_timezone="UTC",
    default_status=schedule_status(),
    description="At the top of each hour, generate the hour that just ended "
    "(cron: $TITANIC_FEATURE_SCHEDULE_CRON, default '0 * * * *').",
)
def hourly_synthetic_passengers(context: dg.ScheduleEvaluationContext):
    # The last complete hour at the tick. A schedule's run key only dedupes within one tick, so
    # a faster cron (e.g. every minute) would re-generate the same hour each tick: skip an hour
    # that is already materialized (re-generating one is a deliberate launchpad/backfill act).
    scheduled = context.scheduled_execution_time.timestamp()
    hour = HOURLY_PARTITIONS.get_partition_key_for_timestamp(scheduled - 3600)
    if not HOURLY_PARTITIONS.has_partition_key(hour):
        return dg.SkipReason(f"{hour} is before the first hourly partition")
    done = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=assets.SYNTHETIC_PASSENGERS, asset_partitions=[hour]),
        limit=1,
    )
    if done.records:
        return dg.SkipReason(f"{hour} is already generated")
    # The generator learns from the historical list: until it is loaded, skip with a reason
    # instead of launching a run that can only fail (a skipped hour can be backfilled later).
    if context.instance.get_latest_materialization_event(assets.HISTORICAL_PASSENGERS) is None:
        return dg.SkipReason("no historical passengers yet: run the historical_backfill job first")
    return dg.RunRequest(run_key=hour, partition_key=hour, tags={"titanic/trigger": "schedule"})

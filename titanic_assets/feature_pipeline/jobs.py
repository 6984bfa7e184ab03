"""Feature pipeline jobs and the hourly schedule.

``historical_backfill`` loads the passenger list once (or again, from a user's CSV);
``feature_pipeline`` is the hourly job: one hour of synthetic passengers, its features and
checks, then the feature store view. Both run in-process: their steps are small, and the
multiprocess executor would spend more time starting processes than working.
"""

import dagster as dg

from titanic_assets.automation import schedule_status
from titanic_assets.feature_pipeline import assets

historical_backfill = dg.define_asset_job(
    name="historical_backfill",
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
    name="feature_pipeline",
    selection=dg.AssetSelection.assets(
        assets.SYNTHETIC_PASSENGERS, assets.SYNTHETIC_FEATURES, assets.PASSENGER_FEATURES
    ),
    executor_def=dg.in_process_executor,
    description="One hour of synthetic passengers -> features -> GX checks -> feature store.",
)

hourly_synthetic_passengers = dg.build_schedule_from_partitioned_job(
    feature_pipeline,
    name="hourly_synthetic_passengers",
    description="At the top of each hour, generate the hour that just ended.",
    default_status=schedule_status(),
)

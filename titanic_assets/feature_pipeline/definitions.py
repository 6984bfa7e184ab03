"""The feature pipeline's Dagster definitions (resources are added at the top level)."""

import dagster as dg

from titanic_assets.feature_pipeline import assets, jobs

defs = dg.Definitions(
    assets=[
        assets.historical_passengers,
        assets.historical_features,
        assets.synthetic_passengers,
        assets.synthetic_features,
        assets.passenger_features,
    ],
    jobs=[jobs.historical_backfill, jobs.feature_pipeline],
    schedules=[jobs.hourly_synthetic_passengers],
)

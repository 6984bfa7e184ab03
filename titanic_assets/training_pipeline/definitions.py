"""The training pipeline's Dagster definitions (resources are added at the top level)."""

import dagster as dg

from titanic_assets.training_pipeline import assets, champion, jobs, sensors

defs = dg.Definitions(
    assets=[assets.training_data, assets.model_version, champion.champion_spec],
    jobs=[jobs.training_pipeline, jobs.promote_model],
    sensors=[sensors.retrain_on_new_passengers],
)

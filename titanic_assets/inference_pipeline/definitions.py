"""The inference pipeline's definitions, without resources.

The top-level ``titanic_assets.definitions`` merges this with the other pipelines and the shared
warehouse resources (``io_manager``, ``duckdb``). Loadable only in that merge: the retraining
sensor targets the ``training_pipeline`` job, which the training pipeline defines.
"""

from __future__ import annotations

import dagster as dg

from titanic_assets.inference_pipeline.assets import model_performance, predictions
from titanic_assets.inference_pipeline.jobs import inference_pipeline
from titanic_assets.inference_pipeline.sensors import retrain_on_model_degradation

defs = dg.Definitions(
    assets=[predictions, model_performance],
    jobs=[inference_pipeline],
    sensors=[retrain_on_model_degradation],
)

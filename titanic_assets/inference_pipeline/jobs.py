"""The ``inference_pipeline`` job.

It has no schedule: when a day is scored is declared on the assets themselves (their
automation conditions, inference_pipeline/automation.py); the job stays for hand launches.
"""

import dagster as dg

from titanic_assets import names
from titanic_assets.inference_pipeline.assets import GROUP

JOB_NAME = names.INFERENCE_JOB

#: Predictions then monitoring for one day. In-process: two small steps, and the multiprocess
#: executor would spend more time starting processes than scoring.
inference_pipeline = dg.define_asset_job(
    name=JOB_NAME,
    selection=dg.AssetSelection.groups(GROUP),
    executor_def=dg.in_process_executor,
    description="Score one day's passengers with the champion, then compute monitoring figures.",
)

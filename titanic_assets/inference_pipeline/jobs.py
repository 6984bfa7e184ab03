"""The ``inference_pipeline`` job and its daily schedule."""

from datetime import timedelta

import dagster as dg

from titanic_assets import names
from titanic_assets.automation import schedule_status
from titanic_assets.inference_pipeline.assets import DAILY_PARTITIONS, GROUP

JOB_NAME = names.INFERENCE_JOB

#: Predictions then monitoring for one day. In-process: two small steps, and the multiprocess
#: executor would spend more time starting processes than scoring.
inference_pipeline = dg.define_asset_job(
    name=JOB_NAME,
    selection=dg.AssetSelection.groups(GROUP),
    partitions_def=DAILY_PARTITIONS,
    executor_def=dg.in_process_executor,
    description="Score one day's passengers with the champion, then compute monitoring figures.",
)


@dg.schedule(
    name="inference_pipeline_daily",
    cron_schedule="30 0 * * *",
    job=inference_pipeline,
    execution_timezone="UTC",
    default_status=schedule_status(),
    description=(
        "At 00:30 UTC, score the day that just ended. The half hour leaves time for the feature "
        "pipeline's last hourly partition (23:00) to be generated and certified."
    ),
)
def inference_pipeline_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = (context.scheduled_execution_time - timedelta(days=1)).strftime(names.DAY_KEY_FORMAT)
    return dg.RunRequest(
        run_key=f"daily-{day}", partition_key=day, tags={"titanic/trigger": "schedule"}
    )

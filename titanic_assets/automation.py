"""How schedules and sensors behave in a live instance (values from :mod:`titanic_assets.settings`).

* ``TITANIC_AUTOMATION`` — schedules, sensors and the automation condition sensor (which
  evaluates the assets' ``AutomationCondition``s) start RUNNING in a fresh instance, so that
  `make dev`, left alone, keeps the three pipelines turning. Set it to ``off`` to start them
  all stopped (then switch them on in the UI).
* ``TITANIC_FEATURE_SCHEDULE_CRON`` — when the feature schedule ticks (default ``0 * * * *``,
  the top of each hour, UTC). Each tick requests the last *complete* hour, once (the hour is
  the run key), so a faster cron such as ``* * * * *`` (a demo, the end-to-end tests) shows a
  tick within a minute without generating any hour twice.
* ``TITANIC_SENSOR_INTERVAL_S`` — the minimum seconds between evaluations of every asset
  sensor, overriding each sensor's production default (30-60 s). The end-to-end tests use a
  few seconds.

Sensors that must read the warehouse keep their own cursor (:func:`unprocessed_events`): an
``@asset_sensor`` advances its cursor even when a tick skips, so "warehouse busy, will retry"
would silently drop the event; these sensors move the cursor only past events they judged.

All are read when the code location loads (a bad value stops the load, naming the variable):
restart `make dev` (or reload the location in the UI) after changing them.
"""

import dagster as dg

from titanic_assets import settings


def schedule_status() -> dg.DefaultScheduleStatus:
    return (
        dg.DefaultScheduleStatus.RUNNING
        if settings.load().automation
        else dg.DefaultScheduleStatus.STOPPED
    )


def sensor_status() -> dg.DefaultSensorStatus:
    return (
        dg.DefaultSensorStatus.RUNNING
        if settings.load().automation
        else dg.DefaultSensorStatus.STOPPED
    )


def feature_schedule_cron() -> str:
    """The feature schedule's cron: ``$TITANIC_FEATURE_SCHEDULE_CRON``, else hourly."""
    return settings.load().feature_schedule_cron


def sensor_interval(default: int) -> int:
    """Seconds between a sensor's evaluations: ``$TITANIC_SENSOR_INTERVAL_S`` or ``default``."""
    return settings.load().sensor_interval(default)


#: The name Dagster gives its own default automation sensor; kept so the docs' name applies.
AUTOMATION_SENSOR_NAME = "default_automation_condition_sensor"


def automation_condition_sensor() -> dg.AutomationConditionSensorDefinition:
    """The sensor that evaluates every asset's automation condition (the UI's Automation tab
    shows each evaluation). Declared rather than left to Dagster's implicit default so that
    ``TITANIC_AUTOMATION`` and ``TITANIC_SENSOR_INTERVAL_S`` apply to it like to the others."""
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR_NAME,
        target=dg.AssetSelection.all(),
        default_status=sensor_status(),
        minimum_interval_seconds=sensor_interval(30),
        description="Evaluates the assets' automation conditions: scores a day once its hours "
        "are in, re-scores on a changed hour or a new champion (inference_pipeline/automation.py).",
    )


def unprocessed_events(
    context: dg.SensorEvaluationContext, key: dg.AssetKey, limit: int = 25
) -> list[dg.EventLogRecord]:
    """Materializations of ``key`` after the sensor's cursor (a storage id), oldest first.

    With no cursor yet (the first tick), only the latest materialization: what happened before
    the sensor existed is judged once, as a whole, not replayed event by event. The caller
    advances the cursor (``SensorResult(cursor=...)``) only past events it has judged, so a
    tick that could not read the warehouse leaves them for the next tick.
    """
    if context.cursor is None:
        return list(context.instance.fetch_materializations(key, limit=1).records)
    records_filter = dg.AssetRecordsFilter(asset_key=key, after_storage_id=int(context.cursor))
    result = context.instance.fetch_materializations(records_filter, limit=limit, ascending=True)
    return list(result.records)

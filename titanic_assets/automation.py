"""How schedules and sensors behave in a live instance; every knob is an environment variable.

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

All are read when the code location loads: restart `make dev` (or reload the location in the
UI) after changing them.
"""

import os

import dagster as dg

AUTOMATION_ENV = "TITANIC_AUTOMATION"
FEATURE_SCHEDULE_CRON_ENV = "TITANIC_FEATURE_SCHEDULE_CRON"
SENSOR_INTERVAL_ENV = "TITANIC_SENSOR_INTERVAL_S"

#: The hourly feature schedule's production cron: the top of each hour (UTC).
DEFAULT_FEATURE_SCHEDULE_CRON = "0 * * * *"


def automation_enabled() -> bool:
    return os.environ.get(AUTOMATION_ENV, "on").strip().lower() not in {"off", "0", "false", "no"}


def schedule_status() -> dg.DefaultScheduleStatus:
    return (
        dg.DefaultScheduleStatus.RUNNING
        if automation_enabled()
        else dg.DefaultScheduleStatus.STOPPED
    )


def sensor_status() -> dg.DefaultSensorStatus:
    return (
        dg.DefaultSensorStatus.RUNNING if automation_enabled() else dg.DefaultSensorStatus.STOPPED
    )


def feature_schedule_cron() -> str:
    """The feature schedule's cron: ``$TITANIC_FEATURE_SCHEDULE_CRON``, else hourly.

    Not validated here: Dagster rejects an invalid cron string when the location loads, with
    the schedule's name, which beats silently falling back to hourly.
    """
    return os.environ.get(FEATURE_SCHEDULE_CRON_ENV, "").strip() or DEFAULT_FEATURE_SCHEDULE_CRON


def sensor_interval(default: int) -> int:
    """Seconds between a sensor's evaluations: ``$TITANIC_SENSOR_INTERVAL_S`` or ``default``."""
    raw = os.environ.get(SENSOR_INTERVAL_ENV, "").strip()
    try:
        return max(1, int(raw)) if raw else default
    except ValueError:
        return default


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

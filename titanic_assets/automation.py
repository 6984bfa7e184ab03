"""How schedules and sensors behave in a live instance; every knob is an environment variable.

* ``TITANIC_AUTOMATION`` — schedules and sensors start RUNNING in a fresh instance, so that
  `make dev`, left alone, keeps the three pipelines turning. Set it to ``off`` to start them
  stopped (then switch them on in the UI).
* ``TITANIC_FEATURE_SCHEDULE_CRON`` — when the feature schedule ticks (default ``0 * * * *``,
  the top of each hour, UTC). Each tick requests the last *complete* hour, once (the hour is
  the run key), so a faster cron such as ``* * * * *`` (a demo, the end-to-end tests) shows a
  tick within a minute without generating any hour twice.
* ``TITANIC_SENSOR_INTERVAL_S`` — the minimum seconds between evaluations of every asset
  sensor, overriding each sensor's production default (30-60 s). The end-to-end tests use a
  few seconds.

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

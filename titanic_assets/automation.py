"""How schedules and sensors behave in a live instance (values from :mod:`titanic_assets.settings`).

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

"""Whether schedules and sensors start running in a fresh instance.

They default to RUNNING so that `make dev`, left alone, keeps the three pipelines turning.
Set ``TITANIC_AUTOMATION=off`` to start them stopped (then switch them on in the UI).
"""

import os

import dagster as dg

AUTOMATION_ENV = "TITANIC_AUTOMATION"


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

"""The inference assets' automation conditions, evaluated as the automation sensor does.

Events are reported to a real (temporary) instance, as runs would write them; the conditions
are evaluated with ``dg.evaluate_automation_conditions``, carrying the cursor from tick to
tick like the sensor. No warehouse is needed: the conditions only read the asset graph state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from titanic_assets.definitions import build_definitions
from titanic_assets.inference_pipeline.automation import CHAMPION, HOURLY_FEATURES, PREDICTIONS

PERFORMANCE = dg.AssetKey(["monitoring", "model_performance"])


@pytest.fixture
def instance(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


@pytest.fixture(scope="module")
def defs(tmp_path_factory):
    return build_definitions(str(tmp_path_factory.mktemp("wh") / "warehouse.duckdb"))


class Ticks:
    """Successive evaluations with the sensor's cursor; returns what each tick requests."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
        self.defs, self.instance, self.cursor = defs, instance, None

    def __call__(self) -> dict[dg.AssetKey, set[str]]:
        result = dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor
        )
        self.cursor = result.cursor
        return {
            key: set(result.get_requested_partitions(key))
            for key in (PREDICTIONS, PERFORMANCE)
            if result.get_num_requested(key)
        }


def _hours(day: datetime, count: int = 24) -> list[str]:
    return [(day + timedelta(hours=h)).strftime("%Y-%m-%d-%H:%M") for h in range(count)]


def _materialize(instance, key: dg.AssetKey, partitions) -> None:
    for partition in partitions:
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))


def _scored(instance, day: str) -> None:
    """The day's inference run finished (predictions and monitoring)."""
    _materialize(instance, PREDICTIONS, [day])
    _materialize(instance, PERFORMANCE, [day])


def _midnight(days_ago: int) -> datetime:
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)


def test_a_day_is_scored_once_its_last_hour_is_in_and_again_after_an_hour_changes(defs, instance):
    yesterday = _midnight(1)
    day = yesterday.strftime("%Y-%m-%d")
    tick = Ticks(defs, instance)
    assert tick() == {}

    _materialize(instance, HOURLY_FEATURES, _hours(yesterday, 23))
    assert tick() == {}, "23 of 24 hours: the day is not complete yet"

    _materialize(instance, HOURLY_FEATURES, _hours(yesterday)[23:])
    assert tick() == {PREDICTIONS: {day}, PERFORMANCE: {day}}
    assert tick() == {}, "requested once, not on every tick"

    _scored(instance, day)
    assert tick() == {}
    _materialize(instance, HOURLY_FEATURES, [_hours(yesterday)[7]])  # a re-materialized hour
    assert tick() == {PREDICTIONS: {day}, PERFORMANCE: {day}}


def test_old_days_are_not_automated(defs, instance):
    old = _midnight(5)
    tick = Ticks(defs, instance)
    tick()
    _materialize(instance, HOURLY_FEATURES, _hours(old))
    assert tick() == {}


def test_a_new_champion_rescores_today(defs, instance):
    today = _midnight(0).strftime("%Y-%m-%d")
    tick = Ticks(defs, instance)
    tick()
    instance.report_runless_asset_event(dg.AssetMaterialization(CHAMPION))
    assert tick() == {PREDICTIONS: {today}, PERFORMANCE: {today}}
    assert tick() == {}


def test_the_automation_sensor_is_on_by_default_and_off_with_the_switch(monkeypatch):
    from titanic_assets.automation import AUTOMATION_SENSOR_NAME, automation_condition_sensor

    monkeypatch.delenv("TITANIC_AUTOMATION", raising=False)
    sensor = automation_condition_sensor()
    assert sensor.name == AUTOMATION_SENSOR_NAME
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    monkeypatch.setenv("TITANIC_AUTOMATION", "off")
    assert automation_condition_sensor().default_status == dg.DefaultSensorStatus.STOPPED

"""The retrain sensor: no champion -> train; new rows below/above threshold; locked warehouse."""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from tests.warehouse_lock import hold_warehouse_lock
from titanic_assets import names, settings
from titanic_assets.core.features import FEATURE_COLUMNS, FEATURE_STORE_COLUMNS
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.resources import warehouse_resources
from titanic_assets.data_layer.warehouse import connect, ensure_schemas
from titanic_assets.training_pipeline import sensors
from titanic_assets.training_pipeline.assets import PASSENGER_FEATURES
from titanic_assets.training_pipeline.definitions import defs as training_defs

HISTORICAL_CUTOFF = datetime(1912, 4, 11, 12)


@pytest.fixture(scope="module")
def real(historical_features: pd.DataFrame) -> pd.DataFrame:
    """The titanic3 list as feature rows (a copy of the session's, store columns)."""
    return historical_features[list(FEATURE_STORE_COLUMNS)].copy()


def store_with_new_rows(path: str, real: pd.DataFrame, n_new: int) -> None:
    """The historical passengers plus ``n_new`` synthetic ones in 2026 (20 per hour)."""
    new = real.sample(n=n_new, replace=True, random_state=0).reset_index(drop=True)
    new["passenger_id"] = [f"syn-{i:06d}" for i in range(n_new)]
    new["event_time"] = (
        pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(n_new) // 20, unit="h")
    ).astype("datetime64[us]")
    new["source"] = "synthetic"
    frame = pd.concat([real, new], ignore_index=True)
    with connect(path) as conn:
        ensure_schemas(conn)
        conn.register("f", frame)
        conn.execute("CREATE OR REPLACE TABLE features.passenger_features AS SELECT * FROM f")
        conn.unregister("f")


def register_champion(path: str, cutoff: datetime = HISTORICAL_CUTOFF) -> None:
    """A registry row with ``cutoff`` (the artifact is not loaded by the sensor)."""
    with connect(path) as conn:
        version = registry.register_version(
            conn, model_bytes=b"{}", params={}, features=list(FEATURE_COLUMNS),
            metrics={"accuracy": 0.8, "f1": 0.7}, training_rows=1000,
            training_cutoff=cutoff, training_data_hash="h", training_profile={},
            run_id=None,
        )  # fmt: skip
        registry.promote(conn, version, "test")


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def tick(instance, path: str, cursor: str | None = None, materialize: bool = True):
    if materialize:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=PASSENGER_FEATURES))
    definitions = dg.Definitions.merge(
        training_defs, dg.Definitions(resources=warehouse_resources(path))
    )
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=definitions,
        resources={"duckdb": warehouse_resources(path)["duckdb"]},
    )
    assert context.cursor == cursor  # None on the first tick
    return sensors.retrain_on_new_passengers.evaluate_tick(context)


def test_no_champion_requests_first_training_with_a_fixed_cutoff(tmp_path, real, instance):
    path = str(tmp_path / "wh.duckdb")
    store_with_new_rows(path, real, 40)
    result = tick(instance, path)
    [request] = result.run_requests
    assert request.run_key == "champion-none-new-rows-x2"
    cutoff = request.run_config["ops"][names.TRAINING_DATA_OP]["config"]["cutoff"]
    assert cutoff == "2026-01-01T01:00:00"
    assert request.job_name in (None, "training_pipeline")
    # The sensor moved its cursor past the event it judged; no new event -> skip.
    assert result.cursor is not None
    again = tick(instance, path, cursor=result.cursor, materialize=False)
    assert not again.run_requests and "no feature-store update" in again.skip_message


def test_threshold_below_skips_above_requests(tmp_path, real, instance, monkeypatch):
    monkeypatch.setenv(sensors.THRESHOLD_ENV, "300")
    path = str(tmp_path / "wh.duckdb")
    store_with_new_rows(path, real, 299)
    register_champion(path)
    below = tick(instance, path)
    assert not below.run_requests
    assert "299 new labelled passengers since v1" in below.skip_message
    store_with_new_rows(path, real, 650)
    above = tick(instance, path, cursor=below.cursor)
    [request] = above.run_requests
    assert request.run_key == "champion-1-new-rows-x2"
    assert request.tags["titanic/new_labelled_rows"] == "650"
    # Historical rows (before the champion's cutoff) do not count as new.
    monkeypatch.setenv(sensors.THRESHOLD_ENV, "651")
    assert not tick(instance, path, cursor=above.cursor).run_requests


def test_a_champion_newer_than_every_row_counts_none_new(tmp_path, real, instance):
    # The count is bounded by the cutoff: nothing after it is zero rows (and no latest time),
    # a skip that says so, not "no labelled passengers yet".
    path = str(tmp_path / "wh.duckdb")
    store_with_new_rows(path, real, 40)
    register_champion(path, cutoff=datetime(2026, 1, 1, 1))
    result = tick(instance, path)
    assert not result.run_requests
    assert "0 new labelled passengers since v1 cutoff 2026-01-01T01:00:00" in result.skip_message


def test_default_threshold_is_500_and_a_bad_one_fails_the_tick(tmp_path, instance, monkeypatch):
    monkeypatch.delenv(sensors.THRESHOLD_ENV, raising=False)
    assert settings.load().retrain_min_new_rows == 500
    # No silent fallback: a bad value fails the tick, naming the variable and the value.
    monkeypatch.setenv(sensors.THRESHOLD_ENV, "not a number")
    with pytest.raises(Exception, match="TITANIC_RETRAIN_MIN_NEW_ROWS='not a number'"):
        tick(instance, str(tmp_path / "wh.duckdb"))


def test_missing_or_locked_warehouse_is_a_skip(tmp_path, real, instance, monkeypatch):
    path = str(tmp_path / "wh.duckdb")
    missing = tick(instance, path)
    assert not missing.run_requests and "does not exist yet" in missing.skip_message
    store_with_new_rows(path, real, 10)
    monkeypatch.setattr(sensors, "LOCK_TIMEOUT_S", 0.3)
    holder = hold_warehouse_lock(path)
    try:
        locked = tick(instance, path, cursor=missing.cursor)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    assert not locked.run_requests and "warehouse busy" in locked.skip_message
    # The busy tick did not consume the update: once the writer (another process) is gone,
    # the next tick requests training for it, with no new feature-store update needed.
    assert locked.cursor == missing.cursor
    retried = tick(instance, path, cursor=locked.cursor, materialize=False)
    assert retried.run_requests, retried.skip_message

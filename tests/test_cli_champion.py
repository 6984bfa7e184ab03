"""`titanic promote` / `titanic rollback` lead to the same re-scoring as the promote_model job.

The CLI changes the registry, then reports a ``models/champion`` event to the instance at
``$DAGSTER_HOME``; the predictions' automation condition (evaluated here as its sensor does)
then requests today's partition.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from tests.data_layer.test_registry import _register, frame, model_bytes  # noqa: F401
from titanic_assets import cli
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.definitions import build_definitions
from titanic_assets.inference_pipeline.automation import CHAMPION, PREDICTIONS


@pytest.fixture
def two_versions(tmp_path, model_bytes, monkeypatch):  # noqa: F811
    path = str(tmp_path / "wh.duckdb")
    with connect(path) as conn:
        registry.ensure_registry(conn)
        registry.promote(conn, _register(conn, model_bytes), "first")
        _register(conn, model_bytes, 0.81)
    monkeypatch.setenv("TITANIC_DUCKDB", path)
    return path


def _requested_today(defs, instance, cursor):
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    return set(result.get_requested_partitions(PREDICTIONS)), result.cursor


def test_cli_promote_and_rollback_request_rescoring(two_versions, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    defs = build_definitions(two_versions)
    with dg.DagsterInstance.get() as instance:
        requested, cursor = _requested_today(defs, instance, None)
        assert requested == set()

        assert cli.main(["promote", "2", "--reason", "better on recent days"]) == 0
        [event] = instance.fetch_materializations(CHAMPION, limit=5).records
        assert event.asset_materialization.metadata["champion_version"].value == 2
        requested, cursor = _requested_today(defs, instance, cursor)
        assert requested == {today}

        # The requested run scored today; the sensor ticks on (nothing more to do) ...
        instance.report_runless_asset_event(dg.AssetMaterialization(PREDICTIONS, partition=today))
        requested, cursor = _requested_today(defs, instance, cursor)
        assert requested == set()
        # ... until the champion changes again.
        assert cli.main(["rollback", "--reason", "v2 regressed"]) == 0
        latest = instance.fetch_materializations(CHAMPION, limit=1).records[0]
        assert latest.asset_materialization.metadata["champion_version"].value == 1
        requested, cursor = _requested_today(defs, instance, cursor)
        assert requested == {today}


def test_cli_without_dagster_home_says_nothing_was_reported(two_versions, monkeypatch, capsys):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert cli.main(["promote", "2", "--reason", "by hand"]) == 0
    assert "DAGSTER_HOME is not set" in capsys.readouterr().err

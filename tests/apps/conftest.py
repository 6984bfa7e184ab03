"""A small real warehouse for the app tests: the three pipelines run in-process over two days.

Day 1 is scored by the first champion; then a second version is trained and promoted by hand
(a logged reason, as ``titanic promote`` does) and day 2 is scored by it, so the monitoring
figures have two days and two model versions to show.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import pytest

from titanic_assets import names
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.definitions import build_definitions

PERFORMANCE_KEY = dg.AssetKey(["monitoring", "model_performance"])
DAYS = ("2026-11-25", "2026-11-26")
HOURS = {"2026-11-25": ("05:00", "06:00"), "2026-11-26": ("07:00",)}
PER_HOUR = 30


def synthetic(per_hour: int = PER_HOUR) -> dict:
    return {"ops": {names.SYNTHETIC_PASSENGERS_OP: {"config": {"passengers_per_hour": per_hour}}}}


def cutoff(day: str) -> dict:
    return {"ops": {names.TRAINING_DATA_OP: {"config": {"cutoff": f"{day}T00:00"}}}}


@dataclass(frozen=True)
class AppCycle:
    warehouse: str
    #: Metadata of the last ``monitoring/model_performance`` materialization (day 2).
    performance_metadata: dict


@pytest.fixture(scope="package")
def app_cycle(tmp_path_factory) -> AppCycle:
    root = tmp_path_factory.mktemp("app_warehouse")
    warehouse = str(root / "app_warehouse.duckdb")
    (root / "home").mkdir()
    defs = build_definitions(warehouse)
    with dg.instance_for_test(temp_dir=str(root / "home")) as instance:

        def run(job: str, **kwargs) -> dg.ExecuteInProcessResult:
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, **kwargs)
            assert result.success, job
            return result

        run("historical_backfill")
        for day in DAYS:
            for hour in HOURS[day]:
                run("feature_pipeline", partition_key=f"{day}-{hour}", run_config=synthetic())
        run("training_pipeline", run_config=cutoff(DAYS[0]))
        run("inference_pipeline", partition_key=DAYS[0])
        run("training_pipeline", run_config=cutoff(DAYS[1]))
        with connect(warehouse) as conn:
            newest = int(
                conn.execute("SELECT max(version) FROM models.model_versions").fetchall()[0][0]
            )
            if registry.champion(conn).version != newest:
                registry.promote(conn, newest, "test: serve the newest version on day 2")
        result = run("inference_pipeline", partition_key=DAYS[1])
    [performance] = [
        event.materialization
        for event in result.get_asset_materialization_events()
        if event.materialization.asset_key == PERFORMANCE_KEY
    ]
    return AppCycle(warehouse, dict(performance.metadata))


@pytest.fixture(scope="package")
def app_warehouse(app_cycle: AppCycle) -> str:
    return app_cycle.warehouse

"""The feature pipeline's wiring, run for real against a temporary warehouse and instance."""

import json

import dagster as dg
import pytest

from titanic_assets import names
from titanic_assets.core.schema import normalise_source
from titanic_assets.data_layer.resources import warehouse_resources
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.feature_pipeline.definitions import defs as feature_defs

HOUR = "2026-11-27-05:00"


def build(warehouse: str) -> dg.Definitions:
    return dg.Definitions.merge(
        feature_defs, dg.Definitions(resources=warehouse_resources(warehouse))
    )


def run(defs, job, instance, **kwargs) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance, raise_on_error=False, **kwargs
    )


def query(warehouse: str, sql: str, params=None):
    with connect(warehouse, read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def counts(warehouse: str) -> dict:
    return dict(
        query(warehouse, "SELECT source, count(*) FROM features.passenger_features GROUP BY 1")
    )


def synthetic_config(n: int = 20, **drift) -> dict:
    return {"ops": {names.SYNTHETIC_PASSENGERS_OP: {"config": {"passengers_per_hour": n, **drift}}}}


@pytest.fixture
def backfilled(warehouse, instance):
    defs = build(warehouse)
    result = run(defs, "historical_backfill", instance)
    assert result.success
    return defs


def test_backfill_certifies_all_historical_passengers(backfilled, warehouse, instance):
    assert counts(warehouse) == {"historical": 1309}
    raw = query(warehouse, "SELECT count(*) FROM features.raw_historical_passengers")[0][0]
    rejected = query(warehouse, "SELECT count(*) FROM features.rejected_historical_passengers")[0][
        0
    ]
    assert (raw, rejected) == (1309, 0)
    evaluations = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey(["features", "historical_features"]), "integrity")]
    )
    assert len(evaluations) == 1


def test_hourly_partition_is_idempotent(backfilled, warehouse, instance):
    for _ in range(2):
        assert run(
            backfilled,
            "feature_pipeline",
            instance,
            partition_key=HOUR,
            run_config=synthetic_config(25),
        ).success
    rows = query(
        warehouse,
        "SELECT count(*), count(DISTINCT passenger_id) FROM features.passenger_features "
        "WHERE source = 'synthetic'",
    )[0]
    assert rows == (25, 25)
    raw = query(warehouse, "SELECT count(*) FROM features.synthetic_passengers")[0][0]
    assert raw == 25
    ids_first = query(
        warehouse, "SELECT passenger_id FROM features.synthetic_passengers ORDER BY 1"
    )
    assert run(
        backfilled,
        "feature_pipeline",
        instance,
        partition_key=HOUR,
        run_config=synthetic_config(25),
    ).success
    assert (
        query(warehouse, "SELECT passenger_id FROM features.synthetic_passengers ORDER BY 1")
        == ids_first
    )


def test_hour_touches_only_its_own_rows(backfilled, warehouse, instance):
    run(
        backfilled,
        "feature_pipeline",
        instance,
        partition_key=HOUR,
        run_config=synthetic_config(10),
    )
    run(
        backfilled,
        "feature_pipeline",
        instance,
        partition_key="2026-11-27-06:00",
        run_config=synthetic_config(7),
    )
    per_batch = dict(
        query(warehouse, "SELECT batch_id, count(*) FROM features.synthetic_features GROUP BY 1")
    )
    assert per_batch == {"2026-11-27-05:00": 10, "2026-11-27-06:00": 7}


def test_corrupted_hour_fails_blocking_check_and_is_withheld(backfilled, warehouse, instance):
    assert run(
        backfilled,
        "feature_pipeline",
        instance,
        partition_key=HOUR,
        run_config=synthetic_config(30),
    ).success
    assert counts(warehouse)["synthetic"] == 30
    with connect(warehouse) as conn:  # corrupt the stored raw hour
        corrupted = [
            r[0]
            for r in conn.execute(
                "SELECT passenger_id FROM features.synthetic_passengers LIMIT 3"
            ).fetchall()
        ]
        conn.execute(
            "UPDATE features.synthetic_passengers SET pclass = 4, age = 300 "
            "WHERE list_contains(?, passenger_id)",
            [corrupted],
        )
    result = dg.materialize(
        _assets_and_checks(),
        selection=dg.AssetSelection.assets(["features", "synthetic_features"]),
        partition_key=HOUR,
        resources=warehouse_resources(warehouse),
        instance=instance,
        raise_on_error=False,
    )
    failed = {e.check_name: e for e in result.get_asset_check_evaluations() if not e.passed}
    integrity = failed["integrity"]  # (mean age 300 also trips the distribution warning)
    assert integrity.severity == dg.AssetCheckSeverity.ERROR
    assert integrity.metadata["expectations_failed"].value >= 2
    summary = integrity.metadata["failed_summary"].value
    assert "pclass" in summary and "age" in summary
    # The verdict names the failing rows, found by GX's queries in the warehouse.
    by_expectation = {f["expectation"]: f for f in integrity.metadata["failed_expectations"].value}
    pclass = by_expectation["expect_column_values_to_be_in_set(pclass)"]
    assert pclass["unexpected_count"] == 3
    assert sorted(pclass["failing_rows"]) == sorted(corrupted)
    assert all(pid in summary for pid in corrupted)
    assert "synthetic" not in counts(warehouse)  # the hour left the feature store
    ledger = query(
        warehouse,
        "SELECT passed FROM features.quality_results WHERE batch_id = ? AND suite = 'integrity'",
        [HOUR],
    )
    assert ledger == [(False,)]


def _assets_and_checks() -> list:
    from titanic_assets.feature_pipeline import assets

    return [
        assets.historical_passengers,
        assets.historical_features,
        assets.synthetic_passengers,
        assets.synthetic_features,
        assets.passenger_features,
    ]


def test_kaggle_csv_from_run_config(warehouse, instance, titanic3_raw, tmp_path):
    from tests.core.test_schema import kaggle_frame

    path = tmp_path / "train.csv"
    kaggle_frame(titanic3_raw).to_csv(path, index=False)
    result = run(
        build(warehouse),
        "historical_backfill",
        instance,
        run_config={"ops": {"historical_passengers": {"config": {"source_csv": str(path)}}}},
    )
    assert result.success
    assert counts(warehouse) == {"historical": 891}


def test_bad_csv_fails_clearly_and_leaves_warehouse_as_it_was(
    backfilled, warehouse, instance, tmp_path
):
    path = tmp_path / "bad.csv"
    path.write_text("pclass,sex,colour\n1,female,red\n")
    result = run(
        backfilled,
        "historical_backfill",
        instance,
        run_config={"ops": {"historical_passengers": {"config": {"source_csv": str(path)}}}},
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "missing" in failure.message and "colour" in failure.message
    assert counts(warehouse) == {"historical": 1309}


def test_rejected_rows_are_kept_and_counted(warehouse, instance, titanic3_raw, tmp_path):
    raw = titanic3_raw.head(100).copy()
    raw.loc[3, "fare"] = "-1"
    raw.loc[4, "sex"] = "unknown"
    path = tmp_path / "some.csv"
    raw.to_csv(path, index=False)
    result = run(
        build(warehouse),
        "historical_backfill",
        instance,
        run_config={"ops": {"historical_passengers": {"config": {"source_csv": str(path)}}}},
    )
    assert result.success
    rejected = query(
        warehouse,
        "SELECT passenger_id, reject_reasons FROM "
        "features.rejected_historical_passengers ORDER BY 1",
    )
    ids = normalise_source(raw)[0]["passenger_id"]
    reasons = dict(rejected)
    assert sorted(reasons) == sorted([ids[3], ids[4]])
    assert "fare" in reasons[ids[3]] and "sex" in reasons[ids[4]]
    assert counts(warehouse) == {"historical": 98}


def test_drift_config_reaches_the_generator(backfilled, warehouse, instance):
    config = synthetic_config(400, drift_pclass_weights={"1": 10.0})
    assert run(
        backfilled, "feature_pipeline", instance, partition_key=HOUR, run_config=config
    ).success
    first_class = query(
        warehouse, "SELECT avg((pclass = 1)::INT) FROM features.synthetic_passengers"
    )[0][0]
    assert first_class > 0.6


def test_extra_columns_stay_raw_and_leaks_are_flagged(warehouse, instance, titanic3_raw, tmp_path):
    raw = titanic3_raw.head(200).assign(deck="C", who="woman")
    raw["alive"] = raw["survived"].map({"1": "yes", "0": "no"})
    path = tmp_path / "derived.csv"
    raw.to_csv(path, index=False)
    result = run(
        build(warehouse),
        "historical_backfill",
        instance,
        run_config={"ops": {"historical_passengers": {"config": {"source_csv": str(path)}}}},
    )
    assert result.success
    assert counts(warehouse) == {"historical": 200}
    record = query(warehouse, "SELECT record FROM features.raw_historical_passengers LIMIT 1")[0][0]
    assert {"deck", "who", "alive"} <= set(json.loads(record))  # kept as loaded
    for table in ("historical_passengers", "historical_features"):
        columns = {
            r[0]
            for r in query(
                warehouse,
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'features' AND table_name = ?",
                [table],
            )
        }
        assert columns and not columns & {"deck", "who", "alive"}, table
    materialization = instance.get_latest_materialization_event(
        dg.AssetKey(["features", "historical_passengers"])
    ).asset_materialization
    assert materialization.metadata["extra_columns"].value == ["deck", "who", "alive"]
    assert materialization.metadata["label_leak_columns"].value == ["alive"]

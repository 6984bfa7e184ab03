"""The main tables' Columns tables in the Dagster UI describe every column, from one home
(:mod:`titanic_assets.core.columns`)."""

import dagster as dg
import pytest

from titanic_assets import names
from titanic_assets.core.columns import COLUMN_DESCRIPTIONS, describe
from titanic_assets.core.features import FEATURE_STORE_COLUMNS
from titanic_assets.core.monitoring import PERFORMANCE_COLUMNS
from titanic_assets.core.predict import PREDICTION_TYPES, SHADOW_PREDICTION_TYPES
from titanic_assets.core.schema import PASSENGER_COLUMNS
from titanic_assets.core.segments import SEGMENT_COLUMNS
from titanic_assets.core.shadow import COMPARISON_COLUMNS
from titanic_assets.data_layer.io_manager import table_schema
from titanic_assets.data_layer.registry import ensure_registry
from titanic_assets.data_layer.resources import warehouse_resources
from titanic_assets.data_layer.warehouse import connect, ensure_schemas, table_columns
from titanic_assets.feature_pipeline.definitions import defs as feature_defs
from titanic_assets.inference_pipeline.assets import _prediction_schema


def undescribed(schema: dg.TableSchema) -> list[str]:
    return [c.name for c in schema.columns if not (c.description or "").strip()]


@pytest.mark.parametrize(
    "columns",
    [
        PASSENGER_COLUMNS,
        FEATURE_STORE_COLUMNS,
        tuple(PREDICTION_TYPES),
        PERFORMANCE_COLUMNS,
        tuple(SHADOW_PREDICTION_TYPES),
        SEGMENT_COLUMNS,
        COMPARISON_COLUMNS,
    ],
    ids=[
        "passengers",
        "feature_store",
        "predictions",
        "model_performance",
        "shadow_predictions",
        "segment_performance",
        "shadow_comparison",
    ],
)
def test_every_column_of_a_main_table_is_described(columns) -> None:
    assert [c for c in columns if describe(c) is None] == []


def test_the_registry_and_the_prediction_schema_are_described(warehouse) -> None:
    with connect(warehouse) as conn:
        ensure_schemas(conn)
        ensure_registry(conn)
        versions = table_columns(conn, names.MODEL_VERSIONS_TABLE)
    assert "artifact_sha256" in dict(versions)
    assert undescribed(table_schema(versions)) == []
    assert undescribed(_prediction_schema()) == []


def test_a_column_of_no_main_table_has_no_description() -> None:
    """The check above can fail: an unknown column comes back undescribed."""
    assert "not_a_column" not in COLUMN_DESCRIPTIONS
    assert undescribed(table_schema([("not_a_column", "VARCHAR")])) == ["not_a_column"]


def test_materialized_feature_tables_show_described_columns(warehouse, instance) -> None:
    defs = dg.Definitions.merge(
        feature_defs, dg.Definitions(resources=warehouse_resources(warehouse))
    )
    result = defs.resolve_job_def(names.HISTORICAL_BACKFILL_JOB).execute_in_process(
        instance=instance
    )
    assert result.success
    for key in (names.HISTORICAL_PASSENGERS, names.HISTORICAL_FEATURES, names.PASSENGER_FEATURES):
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        schema = event.asset_materialization.metadata["dagster/column_schema"].value
        assert len(schema.columns) > 5, key
        assert undescribed(schema) == [], key

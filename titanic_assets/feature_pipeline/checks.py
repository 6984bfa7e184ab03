"""Great Expectations suites as Dagster asset checks on the feature tables.

Per feature asset, two checks:

* ``integrity`` — keys, domains, labels, row count. BLOCKING with severity ERROR: a failure stops
  downstream assets in the run, and its verdict is written to the warehouse's quality ledger,
  which keeps the batch out of ``features.passenger_features`` (so out of training and scoring).
* ``distribution`` — survival rate, female share, mean age, class mix within sample-size-aware
  bands. WARN: odd but possible batches are flagged, not withheld.

The synthetic checks are partitioned like their asset: each hour is judged on its own rows.
"""

import json

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from titanic_assets.core.schema import HISTORICAL_BATCH
from titanic_assets.data_layer.feature_store import (
    BLOCKING_SUITE,
    HISTORICAL_FEATURES,
    SYNTHETIC_FEATURES,
    record_quality_result,
)
from titanic_assets.data_layer.resources import open_warehouse
from titanic_assets.data_layer.warehouse import WAREHOUSE_POOL
from titanic_assets.feature_pipeline import assets
from titanic_assets.feature_pipeline.partitions import HOURLY_PARTITIONS

DISTRIBUTION_SUITE = "distribution"


def _check_result(
    context: dg.AssetCheckExecutionContext,
    duckdb: DuckDBResource,
    *,
    table: str,
    batch_id: str,
    asset_key: dg.AssetKey,
    suite_name: str,
) -> dg.AssetCheckResult:
    from titanic_assets.core import quality

    validate = (
        quality.validate_integrity
        if suite_name == BLOCKING_SUITE
        else quality.validate_distribution
    )
    with open_warehouse(duckdb) as conn:
        frame: pd.DataFrame = conn.execute(
            f"SELECT * FROM {table} WHERE batch_id = ?", [batch_id]
        ).df()
        result = validate(frame)
        summary = result.as_metadata()
        record_quality_result(
            conn,
            batch_id=batch_id,
            asset=asset_key.to_user_string(),
            suite=suite_name,
            passed=result.success,
            evaluated_rows=result.evaluated_rows,
            failed_expectations=summary["failed"],
            run_id=context.run.run_id,
        )
    severity = (
        dg.AssetCheckSeverity.ERROR if suite_name == BLOCKING_SUITE else dg.AssetCheckSeverity.WARN
    )
    return dg.AssetCheckResult(
        passed=result.success,
        severity=severity,
        metadata={
            "batch_id": batch_id,
            "rows_evaluated": result.evaluated_rows,
            "expectations": summary["n_expectations"],
            "expectations_failed": summary["n_failed"],
            "failed_expectations": dg.MetadataValue.json(summary["failed"]),
            "failed_summary": dg.MetadataValue.md(_failed_md(summary["failed"])),
        },
    )


def _failed_md(failed: list[dict]) -> str:
    if not failed:
        return "All expectations met."
    lines = ["| expectation | failing rows | examples / observed |", "|---|---|---|"]
    for item in failed:
        shown = item.get("examples") or item.get("observed")
        lines.append(
            f"| {item['expectation']} | {item.get('unexpected_count', 0)} | "
            f"{json.dumps(shown, default=str)} |"
        )
    return "\n".join(lines)


_SUITE_TEXT = {
    BLOCKING_SUITE: "GX integrity suite: ids unique and present, values in their domains, label "
    "0/1, rows > 0. Blocking: a failed batch is kept out of the feature store.",
    DISTRIBUTION_SUITE: "GX distribution suite: survival rate, female share, mean age and class "
    "mix within bands that widen for small samples. Warns only.",
}


def _quality_check(
    asset_key: dg.AssetKey,
    table: str,
    suite_name: str,
    partitions_def: dg.PartitionsDefinition | None,
) -> dg.AssetChecksDefinition:
    """One suite as one check; partitioned checks judge their own hour (batch) only."""

    @dg.asset_check(
        asset=asset_key,
        name=suite_name,
        blocking=suite_name == BLOCKING_SUITE,
        partitions_def=partitions_def,
        description=_SUITE_TEXT[suite_name],
        pool=WAREHOUSE_POOL,
    )
    def _check(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource):
        batch_id = (
            assets.batch_id_for(context.partition_key) if partitions_def else HISTORICAL_BATCH
        )
        return _check_result(
            context,
            duckdb,
            table=table,
            batch_id=batch_id,
            asset_key=asset_key,
            suite_name=suite_name,
        )

    return _check


QUALITY_CHECKS = [
    _quality_check(assets.HISTORICAL_FEATURES, HISTORICAL_FEATURES, suite, None)
    for suite in (BLOCKING_SUITE, DISTRIBUTION_SUITE)
] + [
    _quality_check(assets.SYNTHETIC_FEATURES, SYNTHETIC_FEATURES, suite, HOURLY_PARTITIONS)
    for suite in (BLOCKING_SUITE, DISTRIBUTION_SUITE)
]

"""Great Expectations suites as Dagster asset checks on the feature tables.

Per feature asset, two checks:

* ``integrity`` — keys, domains, labels, row count. BLOCKING with severity ERROR: a failure stops
  downstream assets in the run, and its verdict is written to the warehouse's quality ledger,
  which keeps the batch out of ``features.passenger_features`` (so out of training and scoring).
* ``distribution`` — survival rate, female share, mean age, class mix within sample-size-aware
  bands. WARN: odd but possible batches are flagged, not withheld.

The synthetic checks are partitioned like their asset: each hour is judged on its own rows (a run
of many hours judges them all in two GX validations, with the verdicts each hour gets alone).
Both suites run where the rows are: GX's SQL engine queries the batches in the warehouse the
asset has just written (``data_layer.validation.validate_batches_in_warehouse``), so no rows
are loaded into Python.

The checks are the feature asset's own (``check_specs``), evaluated by its step right after the
I/O manager has committed the rows: a separate check step would cost each feature run a step
start, a claim on the warehouse pool and a warehouse connection more. Trade-off: a check cannot
be launched alone from the UI; re-materializing the asset (or the hour) judges it again.
"""

import json

import dagster as dg
import duckdb

from titanic_assets.core.quality import SuiteResult
from titanic_assets.data_layer.feature_store import record_suite_results
from titanic_assets.data_layer.validation import validate_batches_in_warehouse
from titanic_assets.names import BLOCKING_SUITE, DISTRIBUTION_SUITE


def judge_batches(
    context: dg.AssetExecutionContext,
    conn: duckdb.DuckDBPyConnection,
    batches: dict[str | None, str],
    *,
    asset_key: dg.AssetKey,
    table: str,
    partitioned: bool,
):
    """Both suites on each batch's rows in ``table``; each verdict goes to the ledger, then to
    Dagster.

    ``batches`` maps a partition key (or None, unpartitioned) to its batch id. A run of many
    hours (a backfill) judges every hour on its own rows, records every hour in the ledger
    (which certifies hours, not runs), and reports every hour as that partition's check
    evaluation; a single-hour run reports as a plain ``AssetCheckResult``. ``conn`` is the
    step's open warehouse connection, which sees the rows the I/O manager has committed.
    """
    # All batches in two GX validations, with the verdicts each would get alone: a backfill's
    # run of hundreds of hours does not pay two validations an hour.
    judged = validate_batches_in_warehouse(conn, table, list(batches.values()))
    verdicts = [(partition, batch_id, judged[batch_id]) for partition, batch_id in batches.items()]
    record_suite_results(  # the run's hours in one transaction of two statements
        conn,
        {batch_id: results for _, batch_id, results in verdicts},
        asset=asset_key.to_user_string(),
        run_id=context.run.run_id,
    )
    per_partition = partitioned and len(verdicts) > 1
    for partition, batch_id, results in verdicts:
        for suite_name, result in results.items():
            yield _check_event(
                asset_key, suite_name, result, batch_id, partition if per_partition else None
            )
    if per_partition:
        # The step's check outputs must still be emitted (they order the blocking check before
        # downstream steps); the verdicts themselves are the per-hour evaluations above.
        for suite_name in (BLOCKING_SUITE, DISTRIBUTION_SUITE):
            key = dg.AssetCheckKey(asset_key, suite_name)
            yield dg.Output(None, output_name=_output_name(key))


def _check_event(
    asset_key: dg.AssetKey,
    suite_name: str,
    result: SuiteResult,
    batch_id: str,
    partition: str | None,
) -> dg.AssetCheckResult | dg.AssetCheckEvaluation:
    """One suite's verdict on one batch as Dagster reports it: the step's check result, or,
    for one hour of a run of many (``partition``), that hour's own evaluation (an
    ``AssetCheckResult`` can only speak for the run's whole partition range). A failed
    blocking evaluation still fails the step after all are reported, so downstream steps do
    not run."""
    blocking = suite_name == BLOCKING_SUITE
    severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN
    summary = result.as_metadata()
    metadata = {
        "batch_id": batch_id,
        "rows_evaluated": result.evaluated_rows,
        "expectations": summary["n_expectations"],
        "expectations_failed": summary["n_failed"],
        "failed_expectations": dg.MetadataValue.json(summary["failed"]),
        "failed_summary": dg.MetadataValue.md(_failed_md(summary["failed"])),
    }
    verdict = {
        "asset_key": asset_key,
        "check_name": suite_name,
        "passed": result.success,
        "severity": severity,
        "metadata": metadata,
    }
    if partition is None:
        return dg.AssetCheckResult(**verdict)
    return dg.AssetCheckEvaluation(**verdict, blocking=blocking, partition=partition)


def _output_name(key: dg.AssetCheckKey) -> str:
    """The op output Dagster gives a check (``AssetCheckSpec.get_python_identifier``)."""
    return f"{key.asset_key.to_python_identifier()}_{key.name}".replace(".", "_")


def _failed_md(failed: list[dict]) -> str:
    if not failed:
        return "All expectations met."
    lines = [
        "| expectation | failing rows | examples / observed | e.g. passenger_id |",
        "|---|---|---|---|",
    ]
    for item in failed:
        shown = item.get("examples") or item.get("observed")
        lines.append(
            f"| {item['expectation']} | {item.get('unexpected_count', 0)} | "
            f"{json.dumps(shown, default=str)} | "
            f"{', '.join(str(r) for r in item.get('failing_rows') or [])} |"
        )
    return "\n".join(lines)


_SUITE_TEXT = {
    BLOCKING_SUITE: "GX integrity suite: ids unique and present, values in their domains, label "
    "0/1, rows > 0. Blocking: a failed batch is kept out of the feature store.",
    DISTRIBUTION_SUITE: "GX distribution suite: survival rate, female share, mean age and class "
    "mix within bands that widen for small samples. Warns only.",
}


def quality_check_specs(
    asset_key: dg.AssetKey, partitions_def: dg.PartitionsDefinition | None
) -> list[dg.AssetCheckSpec]:
    """The two checks of a feature asset: ``integrity`` blocking with severity ERROR,
    ``distribution`` a WARN; both evaluated by :func:`judge_batches` in the asset's step."""
    # ``partitions_def`` on a check spec is a preview feature of Dagster 1.13 (it warns once at
    # load). It is kept on purpose: without it the hourly checks are unpartitioned, so the UI
    # and GraphQL show one verdict for the asset rather than a verdict per hour, and a failed
    # hour could not be told apart from the hours around it. Stable alternative considered:
    # an unpartitioned check whose metadata lists hours; it loses the per-partition status.
    return [
        dg.AssetCheckSpec(
            name=suite_name,
            asset=asset_key,
            description=_SUITE_TEXT[suite_name],
            blocking=suite_name == BLOCKING_SUITE,
            partitions_def=partitions_def,
        )
        for suite_name in (BLOCKING_SUITE, DISTRIBUTION_SUITE)
    ]

"""Feature pipeline assets: historical backfill, hourly synthetic passengers, feature store.

Lineage in the graph is what each step really reads:

    raw_historical_passengers ─┐
    historical_passengers ─────┼─► historical_features ─┐
    rejected_historical_... ───┘                         ├─► passenger_features (certified view)
    synthetic_passengers (hourly) ─► synthetic_features ─┘
"""

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from titanic_assets import names, settings
from titanic_assets.core.backfill import BackfillError, load_historical, synthetic_hours
from titanic_assets.core.features import FEATURE_COLUMNS, FEATURE_STORE_COLUMNS, build_features
from titanic_assets.core.generator import DriftSpec, batch_id_for
from titanic_assets.core.sources import resolve_source
from titanic_assets.data_layer.feature_store import (
    ensure_feature_store,
    feature_store_counts,
    feature_store_sample,
    read_table,
    withdraw_certificates,
)
from titanic_assets.data_layer.io_manager import column_schema
from titanic_assets.data_layer.resources import open_warehouse
from titanic_assets.data_layer.warehouse import table_exists
from titanic_assets.feature_pipeline import checks
from titanic_assets.names import WAREHOUSE_POOL
from titanic_assets.partitions import HOURLY_PARTITIONS, require_upstream_partitions

GROUP = names.FEATURE_GROUP
OWNERS = ["team:data-platform"]


RAW_HISTORICAL = dg.AssetKey(names.RAW_HISTORICAL)
HISTORICAL_PASSENGERS = dg.AssetKey(names.HISTORICAL_PASSENGERS)
REJECTED_HISTORICAL = dg.AssetKey(names.REJECTED_HISTORICAL)
HISTORICAL_FEATURES = dg.AssetKey(names.HISTORICAL_FEATURES)
SYNTHETIC_PASSENGERS = dg.AssetKey(names.SYNTHETIC_PASSENGERS)
SYNTHETIC_FEATURES = dg.AssetKey(names.SYNTHETIC_FEATURES)
PASSENGER_FEATURES = dg.AssetKey(names.PASSENGER_FEATURES)


class HistoricalSourceConfig(dg.Config):
    source_csv: str | None = Field(
        default=None,
        description="CSV to backfill from (Kaggle or titanic3 shape). Default: "
        "$TITANIC_SOURCE_CSV, else the packaged 1,309-passenger titanic3 list.",
    )


class SyntheticPassengersConfig(dg.Config):
    passengers_per_hour: int = Field(default=20, ge=0, le=5_000_000)
    seed: int = Field(default=0, description="Same seed and hour -> same passengers.")
    drift_pclass_weights: dict[str, float] = Field(
        default_factory=dict,
        description='Re-weight the class mix, e.g. {"3": 5.0}. Empty = 1912 mix.',
    )
    drift_age_shift_years: float = Field(default=0.0, description="Add this to every age.")
    drift_concept_shift: float = Field(
        default=0.0, description="0..1: blend survival odds toward their opposite."
    )

    def drift(self) -> DriftSpec:
        try:
            weights = {int(k): float(v) for k, v in self.drift_pclass_weights.items()}
        except ValueError as error:
            raise dg.Failure(f"drift_pclass_weights keys must be 1, 2 or 3: {error}") from error
        return DriftSpec(weights, self.drift_age_shift_years, self.drift_concept_shift)


def _lineage_to_passengers(upstream: dg.AssetKey) -> dg.TableColumnLineage:
    """Each feature column derives from the passenger fields it is computed from."""
    sources = {
        "is_female": ["sex"],
        "family_size": ["sibsp", "parch"],
        "is_alone": ["sibsp", "parch"],
        "embarked_c": ["embarked"],
        "embarked_q": ["embarked"],
        "embarked_s": ["embarked"],
    }
    deps = {}
    for column in FEATURE_STORE_COLUMNS:
        inputs = sources.get(column, [column])
        deps[column] = [dg.TableColumnDep(asset_key=upstream, column_name=c) for c in inputs]
    return dg.TableColumnLineage(deps_by_column=deps)


_HISTORICAL_OUT = {"kinds": {"pandas", "duckdb", "csv"}, "owners": OWNERS, "code_version": "1"}


@dg.multi_asset(
    outs={
        "raw_historical_passengers": dg.AssetOut(
            key=RAW_HISTORICAL,
            description="Every source row exactly as loaded (JSON of the text cells), so any "
            "later doubt can be settled against the file.",
            **_HISTORICAL_OUT,
        ),
        "historical_passengers": dg.AssetOut(
            key=HISTORICAL_PASSENGERS,
            description="Accepted historical passengers in the normalised passenger schema, "
            "with a stable passenger_id and their boarding time as event_time.",
            **_HISTORICAL_OUT,
        ),
        "rejected_historical_passengers": dg.AssetOut(
            key=REJECTED_HISTORICAL,
            description="Source rows that broke the schema, with every reason. "
            "rows in = accepted + rejected.",
            **_HISTORICAL_OUT,
        ),
    },
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
)
def historical_passengers(context: dg.AssetExecutionContext, config: HistoricalSourceConfig):
    """Backfill the real passenger list (or a user's CSV) into the warehouse."""
    source = resolve_source(config.source_csv, settings.load().source_csv)
    try:
        load = load_historical(source.path)
    except BackfillError as error:
        raise dg.Failure(description=str(error), metadata={"source": str(source.path)}) from error
    if load.leaks:
        context.log.warning(
            f"{source.path}: columns {load.leaks} restate the survival label (leakage); kept in "
            "the raw table only, never a model input"
        )
    accepted, rejected = load.accepted, load.rejected
    context.log.info(
        f"{source.description}: {len(load.raw)} rows in, {len(accepted)} accepted, "
        f"{len(rejected)} rejected"
    )
    loaded_at = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    common = {
        "source": source.description,
        "source_shape": load.shape,
        "rows_in": len(load.raw),
        # Extra columns are kept in the raw records only; no feature reads them.
        "extra_columns": dg.MetadataValue.json(load.extras),
        "label_leak_columns": dg.MetadataValue.json(load.leaks),
    }
    yield dg.Output(load.raw_records(loaded_at), "raw_historical_passengers", metadata=common)
    yield dg.Output(
        accepted,
        "historical_passengers",
        metadata={
            **common,
            "rows_accepted": len(accepted),
            "rows_rejected": len(rejected),
            "survival_rate": float(accepted["survived"].mean()),
        },
    )
    yield dg.Output(
        load.rejected_records(loaded_at),
        "rejected_historical_passengers",
        metadata={
            **common,
            "rows_rejected": len(rejected),
            "examples": dg.MetadataValue.md(_examples_md(rejected)),
        },
    )


@dg.asset(
    key=HISTORICAL_FEATURES,
    ins={"passengers": dg.AssetIn(key=HISTORICAL_PASSENGERS)},
    description="Model inputs for the historical passengers, computed by the one shared "
    "feature function (core.features.build_features).",
    group_name=GROUP,
    kinds={"pandas", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version="1",
    metadata={"dagster/column_lineage": _lineage_to_passengers(HISTORICAL_PASSENGERS)},
    check_specs=checks.quality_check_specs(HISTORICAL_FEATURES, None),
)
def historical_features(
    context: dg.AssetExecutionContext, passengers: pd.DataFrame, duckdb: DuckDBResource
):
    # One connection for the step, open while the I/O manager writes (see synthetic_features).
    with open_warehouse(duckdb) as conn:
        withdraw_certificates(conn, [names.HISTORICAL_BATCH])
        yield dg.Output(build_features(passengers))  # written (committed) before the checks run
        yield from checks.judge_batches(
            context,
            conn,
            {None: names.HISTORICAL_BATCH},
            asset_key=HISTORICAL_FEATURES,
            table=names.HISTORICAL_FEATURES_TABLE,
            partitioned=False,
        )


#: A backfill of many hours runs as runs of up to a week each (a month: 5 runs), not one run per
#: hour: a launched run costs seconds before its first step works (a process, Dagster, the code
#: location, GX), while generating an hour at the default rate costs milliseconds, and the
#: checks judge all of a run's hours in two GX validations. A week bounds what one run holds
#: (at 10,000 passengers an hour, 1.7 million). Each run writes its hours in ONE warehouse
#: transaction (the I/O manager's delete-and-insert of the run's time window), so every hour
#: is either its old or its new version, never half; metadata and check verdicts are still
#: recorded per hour (per partition) below.
HOURLY_BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=7 * 24)


def _hourly_freshness() -> dg.FreshnessPolicy:
    """Late when no new hour arrived for $TITANIC_FEATURES_FRESH_MINUTES (default two hours; the
    schedule adds one every hour), warning at three quarters of it (from a minute up). The daemon evaluates it and
    the UI shows it on the asset (the end-to-end test shortens it to see a stale asset)."""
    fail = timedelta(minutes=settings.load().features_fresh_minutes)
    warn = fail * 3 / 4
    # Dagster refuses a warning window under a minute: a very short policy has none.
    return dg.FreshnessPolicy.time_window(
        fail_window=fail, warn_window=warn if warn >= timedelta(minutes=1) else None
    )


@dg.asset(
    key=SYNTHETIC_PASSENGERS,
    # Read by the asset itself, in the connection that withdraws the hours' certificates: as an
    # I/O-manager input it cost the step a second warehouse connection (DuckDB opens a database
    # in ~15 ms) and two more events, to read the same table.
    deps=[HISTORICAL_PASSENGERS],
    partitions_def=HOURLY_PARTITIONS,
    backfill_policy=HOURLY_BACKFILL_POLICY,
    metadata={"partition_expr": "event_time"},
    description="New passengers for each hour, drawn from a generator learned from the "
    "training split of the historical list (who travels, and how survival depends on sex, "
    "class, age and fare; holdout passengers never shape it). "
    "Deterministic per partition; re-materializing an hour replaces it. A run may cover a "
    "range of hours (backfills): each hour is generated as if run alone.",
    group_name=GROUP,
    kinds={"pandas", "duckdb", "numpy"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    # 2: the survival model is fitted to its exact optimum and draws are vectorised, so a seed
    # gives other passengers than under version 1 (same distributions).
    code_version="2",
)
def synthetic_passengers(
    context: dg.AssetExecutionContext,
    config: SyntheticPassengersConfig,
    duckdb: DuckDBResource,
) -> Iterator[dg.Output[pd.DataFrame]]:
    # The hour's passengers and its features are two writes (two steps, two transactions). Withdraw
    # the hours' certificates before the first one: a run killed between them leaves new
    # passengers beside the old features, and the certified view then serves neither until a
    # re-run has rewritten the features and passed the checks again.
    # The connection stays open while the I/O manager writes the output: the write's connection
    # then joins this open database instead of opening the file again (DuckDB takes ~15 ms to
    # open one, and each last close checkpoints it).
    with open_warehouse(duckdb) as conn:
        withdraw_certificates(conn, [batch_id_for(hour) for hour in context.partition_keys])
        historical = _historical_passengers(conn)
        yield _generated(context, config, historical)


def _generated(
    context: dg.AssetExecutionContext, config: SyntheticPassengersConfig, historical: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    """The run's hours of passengers, with their metadata and data version."""
    try:
        drift = config.drift()
        hours = context.partition_keys
        frames, generator = synthetic_hours(
            historical,
            [datetime.strptime(hour, names.HOUR_KEY_FORMAT) for hour in hours],
            config.passengers_per_hour,
            seed=config.seed,
            drift=drift,
        )
    except ValueError as error:  # no history, bad drift settings, a generator bug: say which
        raise dg.Failure(str(error)) from error
    for hour, accepted in zip(hours, frames, strict=True):
        context.add_asset_metadata(
            {
                "hour": hour,
                "dagster/partition_row_count": len(accepted),
                "survival_rate": float(accepted["survived"].mean()) if len(accepted) else 0.0,
            },
            partition_key=hour,
        )
    combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return dg.Output(
        combined,
        data_version=_generation_version(config, context.partition_keys, historical),
        metadata={
            "hours_in_run": len(frames),
            "seed": config.seed,
            "drifted": drift.is_drifted,
            "drift": json.dumps(
                {
                    "pclass_weights": config.drift_pclass_weights,
                    "age_shift_years": config.drift_age_shift_years,
                    "concept_shift": config.drift_concept_shift,
                }
            ),
            # The generator learns from the training split only (holdout excluded).
            "generator_fitted_on": len(generator.templates),
        },
    )


@dg.asset(
    key=SYNTHETIC_FEATURES,
    ins={"passengers": dg.AssetIn(key=SYNTHETIC_PASSENGERS)},
    partitions_def=HOURLY_PARTITIONS,
    backfill_policy=HOURLY_BACKFILL_POLICY,
    freshness_policy=_hourly_freshness(),
    metadata={
        "partition_expr": "event_time",
        "dagster/column_lineage": _lineage_to_passengers(SYNTHETIC_PASSENGERS),
    },
    description="Model inputs for each hour of synthetic passengers: the same feature function "
    "as the historical rows, reading only the run's hours (cost independent of history).",
    group_name=GROUP,
    kinds={"pandas", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version="1",
    check_specs=checks.quality_check_specs(SYNTHETIC_FEATURES, HOURLY_PARTITIONS),
)
def synthetic_features(
    context: dg.AssetExecutionContext, passengers: pd.DataFrame, duckdb: DuckDBResource
):
    hours = context.partition_keys
    rows = _rows_per_hour(hours, passengers)
    # Hours never generated fail here, naming them, before anything is withdrawn or judged.
    require_upstream_partitions(
        context, SYNTHETIC_PASSENGERS, [h for h in hours if rows[h]], job=names.FEATURE_JOB
    )
    # One warehouse connection for the whole step: it withdraws the certificates, stays open
    # while the I/O manager writes (whose connection then joins this open database rather than
    # opening the file again), and the checks judge the committed rows through it.
    with open_warehouse(duckdb) as conn:
        withdraw_certificates(conn, [batch_id_for(hour) for hour in hours])
        features = build_features(passengers)
        for hour in hours if len(hours) > 1 else ():
            context.add_asset_metadata(
                {"dagster/partition_row_count": rows[hour]}, partition_key=hour
            )
        yield dg.Output(features)  # written (committed) by the I/O manager before the checks run
        yield from checks.judge_batches(
            context,
            conn,
            {hour: batch_id_for(hour) for hour in hours},
            asset_key=SYNTHETIC_FEATURES,
            table=names.SYNTHETIC_FEATURES_TABLE,
            partitioned=True,
        )


def _rows_per_hour(hours: Sequence[str], passengers: pd.DataFrame) -> dict[str, int]:
    """Passengers per hour of the run (one count over the batch ids for a range of hours)."""
    if len(hours) == 1:
        return {hours[0]: len(passengers)}
    counts = passengers["batch_id"].value_counts() if "batch_id" in passengers else {}
    return {hour: int(counts.get(batch_id_for(hour), 0)) for hour in hours}


@dg.asset(
    key=PASSENGER_FEATURES,
    deps=[HISTORICAL_FEATURES, SYNTHETIC_FEATURES],
    description="THE feature store: one row per passenger, historical and synthetic alike, "
    "showing only batches whose blocking data-quality suite passed. A DuckDB view, so "
    "publishing an hour costs nothing and the history is never copied.",
    group_name=GROUP,
    kinds={"duckdb", "view"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version="1",
    metadata={
        "dagster/table_name": names.FEATURE_VIEW,
        "dagster/column_lineage": dg.TableColumnLineage(
            deps_by_column={
                c: [
                    dg.TableColumnDep(asset_key=HISTORICAL_FEATURES, column_name=c),
                    dg.TableColumnDep(asset_key=SYNTHETIC_FEATURES, column_name=c),
                ]
                for c in FEATURE_STORE_COLUMNS
            }
        ),
    },
)
def passenger_features(duckdb: DuckDBResource) -> dg.MaterializeResult:
    with open_warehouse(duckdb) as conn:
        ensure_feature_store(conn)
        counts = feature_store_counts(conn)
        sample = feature_store_sample(conn)
    certified = counts["historical_certified"] + counts["synthetic_certified"]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": certified,
            "dagster/column_schema": column_schema(sample),
            **{k: v for k, v in counts.items()},
            "model_inputs": json.dumps(list(FEATURE_COLUMNS)),
        }
    )


def _historical_passengers(conn) -> pd.DataFrame:
    """The accepted historical passengers, as the I/O manager would load them (whole table)."""
    if not table_exists(conn, names.HISTORICAL_PASSENGERS_TABLE):
        raise dg.Failure(
            f"no historical passengers yet ({names.HISTORICAL_PASSENGERS_TABLE} is missing): "
            "run the historical_backfill job first"
        )
    return read_table(conn, names.HISTORICAL_PASSENGERS_TABLE)


def _generation_version(
    config: SyntheticPassengersConfig, hours: Sequence[str], historical: pd.DataFrame
) -> dg.DataVersion:
    """What the hours' passengers are a function of: generator settings, hours, and the list
    the generator learned from (the generator is deterministic given these).

    Dagster would otherwise derive the version from the code version and the input's version
    alone, so re-generating an hour with another seed or drift would keep its version, and the
    days scored from the old passengers would not show as unsynced.
    """
    learned_from = int(pd.util.hash_pandas_object(historical, index=False).sum())
    text = f"{json.dumps(config.model_dump(), sort_keys=True)}|{','.join(hours)}|{learned_from}"
    return dg.DataVersion(hashlib.sha256(text.encode()).hexdigest()[:16])


def _examples_md(rejected: pd.DataFrame, limit: int = 10) -> str:
    if rejected.empty:
        return "No rows rejected."
    lines = ["| passenger_id | reasons |", "|---|---|"]
    for row in rejected.head(limit).itertuples():
        lines.append(f"| {row.passenger_id} | {row.reject_reasons} |")
    return "\n".join(lines)

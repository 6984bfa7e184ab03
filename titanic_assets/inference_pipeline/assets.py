"""Daily batch inference and monitoring assets.

``inference/predictions`` scores one day of certified feature-store rows with the champion
loaded at run time; ``monitoring/model_performance`` compares those predictions with the labels
and the scored passengers with the model's own training profile. Both are daily partitions, and
re-running a day replaces that day. Predictions are written by batch scoring itself
(:mod:`titanic_assets.data_layer.batch_scoring`: only numbers go to XGBoost and back, the ids
are joined to the scores inside DuckDB) and handed to monitoring within the run; monitoring is
written through the warehouse I/O manager.
"""

import math
from datetime import timedelta
from typing import Any

import dagster as dg
import duckdb as duckdb_lib
import pandas as pd
from dagster_duckdb import DuckDBResource

from titanic_assets import names, settings
from titanic_assets.core import calibration, figures, monitoring, promotion, shadow
from titanic_assets.core.columns import describe
from titanic_assets.core.features import (
    FEATURE_COLUMNS,
    LABEL_COLUMN,
    MissingFeatureInputError,
)
from titanic_assets.core.predict import PREDICTION_TYPES, UNKNOWN_OUTCOME, outcome_word
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.batch_scoring import (
    ScoredDay,
    ScoringError,
    score_day,
)
from titanic_assets.data_layer.day_monitoring import monitor_scored_day
from titanic_assets.data_layer.monitoring_store import read_shadow_comparison
from titanic_assets.data_layer.registry import NoChampionError, RegistryError, load_champion
from titanic_assets.data_layer.resources import open_warehouse
from titanic_assets.data_layer.shadow_scoring import load_shadows
from titanic_assets.inference_pipeline import automation, checks
from titanic_assets.inference_pipeline import history as history_lib
from titanic_assets.names import WAREHOUSE_POOL
from titanic_assets.partitions import DAILY_PARTITIONS
from titanic_assets.training_pipeline.champion import champion_changed

GROUP = names.INFERENCE_GROUP
OWNERS = ["team:ml-platform"]

FEATURES_KEY = dg.AssetKey(names.PASSENGER_FEATURES)
MODEL_VERSIONS_KEY = dg.AssetKey(names.MODEL_VERSIONS)
PREDICTIONS_KEY = automation.PREDICTIONS
#: The hours behind a day: each daily partition maps to its 24 hourly feature partitions.
HOURLY_FEATURES_KEY = automation.HOURLY_FEATURES
CHAMPION_KEY = automation.CHAMPION
PERFORMANCE_KEY = checks.PERFORMANCE_KEY

FEATURE_VIEW = names.FEATURE_VIEW
PERFORMANCE_TABLE = names.PERFORMANCE_TABLE


HISTORY_ROWS = 15


# --- predictions ---------------------------------------------------------------------------


def _prediction_lineage() -> dg.TableColumnLineage:
    """Every prediction column traced to the feature-store column or registry column behind it."""

    def features(*columns: str) -> list[dg.TableColumnDep]:
        return [dg.TableColumnDep(asset_key=HOURLY_FEATURES_KEY, column_name=c) for c in columns]

    def model(*columns: str) -> list[dg.TableColumnDep]:  # the champion's registry row
        return [dg.TableColumnDep(asset_key=CHAMPION_KEY, column_name=c) for c in columns]

    scored = [*features(*FEATURE_COLUMNS), *model("version", "artifact")]
    return dg.TableColumnLineage(
        deps_by_column={
            "passenger_id": features("passenger_id"),
            "event_time": features("event_time"),
            "source": features("source"),
            "batch_id": features("batch_id"),
            "model_version": model("version"),
            "predicted_survived": scored,
            "survival_probability": scored,
        }
    )


def _prediction_schema() -> dg.TableSchema:
    notes = {
        "predicted_survived": " (0/1)",
        "predicted_at": " (UTC)",
        "run_id": " (Dagster run)",
    }
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=c, type=f"{kind}{notes.get(c, '')}", description=describe(c))
            for c, kind in PREDICTION_TYPES.items()
        ]
    )


@dg.asset(
    key=PREDICTIONS_KEY,
    group_name=GROUP,
    description=(
        "One row per passenger of the day and scoring: the champion model at run time scores "
        "the day's certified feature-store rows (features computed by the same build_features "
        "as training). Every row names its model_version. Re-running a day replaces it. The "
        "newest challengers trained after the champion (at most two) score the same rows into "
        "inference.shadow_predictions, never served."
    ),
    partitions_def=DAILY_PARTITIONS,
    # What a day really reads: its 24 hours of features (through the certified view, which
    # drops hours that failed their blocking checks) and the champion. Not the unpartitioned
    # view asset: it is re-published every hour and would mark every day unsynced; nor
    # models/model_versions, which also changes when a challenger loses.
    deps=[
        dg.AssetDep(HOURLY_FEATURES_KEY, partition_mapping=dg.TimeWindowPartitionMapping()),
        CHAMPION_KEY,
    ],
    automation_condition=automation.predictions_condition(),
    freshness_policy=dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
    ),
    metadata={
        "partition_expr": "event_time",
        "dagster/column_schema": _prediction_schema(),
        "dagster/column_lineage": _prediction_lineage(),
    },
    kinds={"duckdb", "xgboost", "pandas"},
    io_manager_key=names.SCORED_DAY_IO_MANAGER,
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version="1",
)
def predictions(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.Output[ScoredDay]:
    # Written by batch scoring itself, not through the I/O manager: only numbers go to XGBoost
    # and back, and the ids are joined to the scores inside DuckDB (data_layer.batch_scoring).
    start, end = context.partition_time_window
    with open_warehouse(duckdb) as conn:
        version, model = _load_champion_or_fail(conn)
        shadows, refused = load_shadows(conn, version.version)
        for number, why in refused.items():
            context.log.warning(f"shadow v{number} not scored: {why}")
        try:
            day = score_day(
                conn,
                start,
                end,
                model=model,
                version=version,
                run_id=context.run_id,
                shadows=shadows,
            )
        except MissingFeatureInputError as error:
            raise dg.Failure(
                description=(
                    f"cannot score with model version {version.version}: {error}. The feature "
                    "store no longer provides an input this model was trained on; retrain or "
                    "fix features."
                ),
                allow_retries=False,
            ) from error
        except ScoringError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from error
    metadata: dict[str, Any] = {
        "model_version": dg.MetadataValue.int(int(version.version)),
        "model_accuracy_holdout": dg.MetadataValue.float(float(version.accuracy)),
        "dagster/column_lineage": _prediction_lineage(),
        "dagster/column_schema": _prediction_schema(),
        "dagster/partition_row_count": dg.MetadataValue.int(day.rows),
        "rows": dg.MetadataValue.int(day.rows),
        "shadow_versions": dg.MetadataValue.json(sorted(day.shadows)),
    }
    skipped = {**refused, **day.shadow_skipped}
    if skipped:
        metadata["shadow_skipped"] = dg.MetadataValue.json({str(k): v for k, v in skipped.items()})
    if day.rows == 0:
        context.log.info(f"no certified passengers between {start} and {end}: empty partition")
        metadata["reason"] = dg.MetadataValue.text(
            f"no certified passengers in {FEATURE_VIEW} with event_time in [{start}, {end}) "
            "(no arrivals, or their hours failed the blocking data-quality checks)"
        )
    else:
        metadata.update(_prediction_metadata(day))
    # The scored numbers go to monitoring through the I/O manager (the rows are written).
    return dg.Output(day, metadata=metadata)


def _prediction_metadata(day: ScoredDay) -> dict[str, Any]:
    return {
        "predicted_survival_rate": dg.MetadataValue.float(day.predicted_survival_rate),
        "latest_passenger": dg.MetadataValue.md(latest_passenger_md(day.latest)),
        "recent_predictions": dg.MetadataValue.md(history_md(day.latest)),
    }


def latest_passenger_md(joined: pd.DataFrame) -> str:
    """The course dashboard's headline: the latest passenger's prediction against the outcome."""
    if joined.empty:
        return "_no passengers_"
    row = joined.sort_values(["event_time", "passenger_id"]).iloc[-1]
    predicted = outcome_word(row["predicted_survived"])
    actual = outcome_word(row.get(LABEL_COLUMN))
    verdict = "" if actual == UNKNOWN_OUTCOME else (" ✅" if predicted == actual else " ❌")
    return (
        f"**{row['passenger_id']}** at {row['event_time']}: predicted **{predicted}** "
        f"(p={float(row['survival_probability']):.2f}, model v{int(row['model_version'])}), "
        f"actual **{actual}**{verdict}"
    )


def history_md(joined: pd.DataFrame, limit: int = HISTORY_ROWS) -> str:
    """The most recent predictions of the day with their outcomes, as a Markdown table."""
    recent = joined.sort_values(["event_time", "passenger_id"]).tail(limit).iloc[::-1]
    lines = [
        "| passenger | event_time | class | sex | age | p(survive) | predicted | actual |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in recent.iterrows():
        age = "?" if pd.isna(r.get("age")) else f"{float(r['age']):.0f}"
        sex = "female" if r.get("is_female") == 1 else "male"
        actual = "?" if pd.isna(r.get(LABEL_COLUMN)) else int(r[LABEL_COLUMN])
        lines.append(
            f"| {r['passenger_id']} | {r['event_time']} | {int(r['pclass'])} | {sex} | {age} "
            f"| {float(r['survival_probability']):.2f} | {int(r['predicted_survived'])} "
            f"| {actual} |"
        )
    return "\n".join(lines)


def _load_champion_or_fail(conn):
    """The champion and its verified model, or a dg.Failure that says what to do."""
    try:
        return load_champion(conn)
    except NoChampionError as error:
        raise dg.Failure(
            description=f"no champion model to score with: {error}", allow_retries=False
        ) from error
    except RegistryError as error:  # checksum mismatch or unloadable artifact
        raise dg.Failure(
            description=f"refusing to score with the champion: {error}", allow_retries=False
        ) from error
    except duckdb_lib.CatalogException as error:
        raise dg.Failure(
            description=(
                "no model registry in the warehouse yet (models.model_versions is missing): "
                "run the training_pipeline job first"
            ),
            allow_retries=False,
        ) from error


# --- monitoring ----------------------------------------------------------------------------


@dg.asset(
    key=PERFORMANCE_KEY,
    group_name=GROUP,
    description=(
        "Per day and model version: predictions, labelled count, accuracy, precision, recall, "
        "F1, Brier score and ECE (10 equal-width bins) with the reliability table, confusion "
        "counts, predicted vs actual survival rate, and feature drift (PSI per feature) of the "
        "scored passengers against that model version's training profile. The same step "
        "writes monitoring.segment_performance (sex x class) and monitoring.shadow_comparison "
        "(champion vs shadows on the same labelled passengers), and may promote a shadow on "
        "live evidence (docs/model-monitoring.md)."
    ),
    # The day's predictions: an input whose I/O manager hands over the numbers the scoring
    # step of the same run scored, else reads the stored day back (data_layer.io_manager).
    ins={"day": dg.AssetIn(PREDICTIONS_KEY)},
    deps=[
        dg.AssetDep(HOURLY_FEATURES_KEY, partition_mapping=dg.TimeWindowPartitionMapping()),
        MODEL_VERSIONS_KEY,
    ],
    partitions_def=DAILY_PARTITIONS,
    automation_condition=automation.monitoring_condition(),
    metadata={
        "partition_expr": "day",
        "dagster/column_lineage": dg.TableColumnLineage(
            deps_by_column={
                "model_version": [dg.TableColumnDep(PREDICTIONS_KEY, "model_version")],
                "accuracy": [
                    dg.TableColumnDep(PREDICTIONS_KEY, "predicted_survived"),
                    dg.TableColumnDep(HOURLY_FEATURES_KEY, LABEL_COLUMN),
                ],
                "max_psi": [
                    *(dg.TableColumnDep(HOURLY_FEATURES_KEY, c) for c in FEATURE_COLUMNS),
                    dg.TableColumnDep(MODEL_VERSIONS_KEY, "training_profile"),
                ],
            }
        ),
    },
    check_specs=checks.PERFORMANCE_CHECK_SPECS,
    kinds={"duckdb", "pandas"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version="1",
)
def model_performance(context: dg.AssetExecutionContext, day: ScoredDay, duckdb: DuckDBResource):
    start, end = context.partition_time_window
    config = settings.load()
    # One warehouse connection for the step: it stays open while the I/O manager writes the
    # day, whose connection then joins this open database instead of opening the file again
    # (as in the feature and training assets; DuckDB takes ~15 ms to open a file).
    with open_warehouse(duckdb) as conn:
        monitored = monitor_scored_day(conn, day, start, end)
        performance = monitored.performance
        metadata: dict[str, Any] = _promote_on_live_evidence(context, conn, monitored.comparison)
        if performance.empty:
            metadata["reason"] = dg.MetadataValue.text(
                f"no predictions for {context.partition_key}: nothing to monitor"
            )
        else:
            live = figures.live_calibration(day.scored)
            metadata.update(_performance_metadata(performance, day.latest))
            metadata.update(history_lib.cross_day_metadata(monitored.other_days, performance))
            metadata.update(_model_metadata(live, monitored.cells, monitored.comparison))
            charts = figures.day_figures(performance, monitored.history, monitored.other_days, live)
            metadata.update({name: dg.MetadataValue.md(md) for name, md in charts.items()})
        yield dg.Output(performance, metadata=metadata)
    yield from checks.evaluate(performance, config.thresholds())
    yield from checks.evaluate_model(performance, monitored.cells, config.model_thresholds())


def _promote_on_live_evidence(
    context: dg.AssetExecutionContext, conn, comparison: pd.DataFrame
) -> dict[str, Any]:
    """Apply :func:`titanic_assets.core.promotion.decide_live` to the day's shadows, newest
    first; a promotion goes through the registry's compare-and-set and is logged with
    evidence ``live_shadow``, and the champion's event re-scores downstream."""
    metadata: dict[str, Any] = {}
    for number in sorted(comparison["shadow_version"].unique(), reverse=True):
        history = read_shadow_comparison(conn, shadow_version=int(number))

        def judge(current, _model, _error, number=int(number), history=history):
            if current is None or current.version >= number:
                return False, f"v{number} is no longer a shadow", "live_shadow"
            days = history[history["champion_version"] == current.version]
            decision = promotion.decide_live(number, current.version, days.to_dict("records"))
            return decision.promote, decision.reason, decision.evidence

        promoted, reason, _ = registry.decide_champion(
            conn, int(number), judge, run_id=context.run_id, log_decline=False
        )
        metadata[f"live_decision_v{int(number)}"] = dg.MetadataValue.text(reason)
        if promoted:
            context.log.info(reason)
            context.log_event(
                champion_changed(int(number), reason, f"monitoring run {context.run_id}")
            )
            break
    return metadata


def _model_metadata(
    live: figures.LiveCalibration, cells: pd.DataFrame, comparison: pd.DataFrame
) -> dict[str, Any]:
    """Calibration figures, segments and the shadow comparison."""
    metadata: dict[str, Any] = {
        "ece_bins": dg.MetadataValue.int(calibration.ECE_BINS),
        "segments": dg.MetadataValue.md(segments_md(cells)),
        "shadow_comparison": dg.MetadataValue.md(shadow.comparison_md(comparison)),
    }
    for name in ("brier", "ece"):
        if live.figures[name] is not None:
            metadata[name] = dg.MetadataValue.float(live.figures[name])
    for row in comparison.itertuples(index=False):
        prefix = f"shadow_v{row.shadow_version}"
        for name in ("accuracy_difference", "accuracy_se"):
            value = float(getattr(row, name))
            if math.isfinite(value):
                metadata[f"{prefix}_{name}"] = dg.MetadataValue.float(value)
    return metadata


def segments_md(cells: pd.DataFrame) -> str:
    """The day's segments per version as a Markdown table."""
    if cells.empty:
        return "_no scored passengers_"
    lines = [
        "| version | segment | labelled | accuracy | predicted survival | actual survival |",
        "|---|---|---|---|---|---|",
    ]

    def rate(value: float) -> str:
        return "-" if pd.isna(value) else f"{value:.3f}"

    for r in cells.itertuples(index=False):
        lines.append(
            f"| v{r.model_version} | {r.segment} | {r.n_labelled} | {rate(r.accuracy)} "
            f"| {rate(r.predicted_survival_rate)} | {rate(r.actual_survival_rate)} |"
        )
    return "\n".join(lines)


def _performance_metadata(performance: pd.DataFrame, latest: pd.DataFrame) -> dict[str, Any]:
    """Numbers the UI charts over time, and the day's latest passenger."""
    # The row of the version that scored most of the day is the headline.
    main = monitoring.main_rows(performance).iloc[-1]
    metadata: dict[str, Any] = {
        "model_version": dg.MetadataValue.int(int(main["model_version"])),
        "n_predictions": dg.MetadataValue.int(int(performance["n_predictions"].sum())),
        "n_labelled": dg.MetadataValue.int(int(performance["n_labelled"].sum())),
    }
    for name in ("accuracy", "f1", "max_psi", "survival_rate_shift"):
        value = float(main[name])
        if math.isfinite(value):
            metadata[name] = dg.MetadataValue.float(value)
    metadata["latest_passenger"] = dg.MetadataValue.md(latest_passenger_md(latest))
    return metadata

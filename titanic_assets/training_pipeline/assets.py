"""Training pipeline assets: a point-in-time training set, then a registered model version.

    features/passenger_features ─► models/training_data ─► models/model_versions (registry)
                                                              │
                                                              └─ champion/challenger decision

Thin adapters: the rules live in the library — splits, the regime window and the checks in
:mod:`titanic_assets.core.training_set`, training and evaluation in
:mod:`titanic_assets.core.training`, the promotion rule in :mod:`titanic_assets.core.promotion`,
the reads in :mod:`titanic_assets.data_layer.training_store` and the atomic register/decide in
:mod:`titanic_assets.data_layer.registry`. Here: config, error translation, metadata.
"""

from collections.abc import Iterator
from datetime import datetime

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from titanic_assets import names, settings
from titanic_assets.core.features import LABEL_COLUMN
from titanic_assets.core.figures import training_figures
from titanic_assets.core.model import TrainingParams
from titanic_assets.core.training import TrainedModel, fit_and_evaluate
from titanic_assets.core.training_set import (
    EVAL_WINDOW_HOURS,
    MAX_TRAINING_ROWS,
    REASON_DEGRADATION,
    TrainingSetError,
    assign_splits,
    content_hash,
    parse_cutoff,
    validate_training_rows,
    widen_window,
)
from titanic_assets.data_layer import registry, training_store
from titanic_assets.data_layer.cards import model_card
from titanic_assets.data_layer.io_manager import table_schema
from titanic_assets.data_layer.resources import open_warehouse
from titanic_assets.data_layer.warehouse import table_columns
from titanic_assets.names import CHAMPION_CHECK, WAREHOUSE_POOL
from titanic_assets.training_pipeline.champion import champion_changed

GROUP = names.TRAINING_GROUP
OWNERS = ["team:ml"]

PASSENGER_FEATURES = dg.AssetKey(names.PASSENGER_FEATURES)
TRAINING_DATA = dg.AssetKey(names.TRAINING_DATA)
MODEL_VERSIONS = dg.AssetKey(names.MODEL_VERSIONS)

#: Below this, a holdout of ~20% is too small to compare models on.
MIN_TRAINING_ROWS = 50
METRIC_KEYS = (
    "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "cv_accuracy", "brier", "ece",
)  # fmt: skip

_DEFAULTS = TrainingParams()


class TrainingDataConfig(dg.Config):
    cutoff: str | None = Field(
        default=None,
        description="ISO timestamp (UTC if no offset): use only passengers with event_time <= "
        "cutoff. Default: now. Re-running with the same cutoff gives the same training set.",
    )
    min_rows: int = Field(default=MIN_TRAINING_ROWS, ge=10)
    max_rows: int = Field(
        default=MAX_TRAINING_ROWS,
        ge=10,
        description="Read at most about this many labelled passengers; past it, synthetic "
        "ones are sampled by a hash of their id (core.training_set: the rule and why).",
    )
    reason: str = Field(
        default="on_demand",
        description=f"Why this run trains. '{REASON_DEGRADATION}' (set by the "
        "retrain_on_model_degradation sensor, with degraded_day) trains from the start of the "
        "degraded regime; otherwise the champion's training window is kept (all history if it "
        "had none).",
    )
    degraded_day: str | None = Field(
        default=None, description="The monitored day that failed (YYYY-MM-DD)."
    )
    regime_start: str | None = Field(
        default=None, description="Explicit start of the training window (ISO); overrides."
    )


class ModelConfig(dg.Config):
    """XGBoost hyperparameters (defaults: :class:`TrainingParams`) and the evaluation window."""

    n_estimators: int = Field(default=_DEFAULTS.n_estimators, ge=1, le=5000)
    max_depth: int = Field(default=_DEFAULTS.max_depth, ge=1, le=12)
    learning_rate: float = Field(default=_DEFAULTS.learning_rate, gt=0, le=1)
    subsample: float = Field(default=_DEFAULTS.subsample, gt=0, le=1)
    colsample_bytree: float = Field(default=_DEFAULTS.colsample_bytree, gt=0, le=1)
    min_child_weight: float = Field(default=_DEFAULTS.min_child_weight, ge=0)
    reg_lambda: float = Field(default=_DEFAULTS.reg_lambda, ge=0)
    seed: int = Field(default=_DEFAULTS.seed)
    n_jobs: int = Field(default=_DEFAULTS.n_jobs, ge=1, le=64)
    cv_folds: int = Field(default=5, ge=2, le=20, description="Stratified CV folds (train rows).")
    eval_window_hours: float = Field(
        default=EVAL_WINDOW_HOURS,
        gt=0,
        description="The 'recent' evaluation set: holdout passengers of the last N hours.",
    )

    def params(self) -> TrainingParams:
        values = self.model_dump()
        values.pop("cv_folds")
        values.pop("eval_window_hours")
        return TrainingParams(**values)


#: Evaluated by the registry step itself, on the connection that has just registered and
#: decided (one step and one warehouse connection less per training run than a separate check).
CHAMPION_CHECK_SPEC = dg.AssetCheckSpec(
    CHAMPION_CHECK,
    asset=MODEL_VERSIONS,
    description="Exactly one champion, its artifact verifies, and no id/leakage column is a "
    "model input.",
)


def _window_start(conn, config: TrainingDataConfig) -> datetime | None:
    """The requested window: explicit, degraded regime, or the champion's (library rules)."""
    if config.regime_start:
        return parse_cutoff(config.regime_start)
    if config.reason == REASON_DEGRADATION and config.degraded_day:
        return training_store.degradation_regime_start(
            conn, parse_cutoff(config.degraded_day), settings.load().thresholds()
        )
    return training_store.champion_window_start(conn)


@dg.asset(
    key=TRAINING_DATA,
    deps=[PASSENGER_FEATURES],
    group_name=GROUP,
    kinds={"duckdb", "pandas"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version="2",
    description="Labelled passengers from the feature store with event_time <= cutoff "
    "(point in time), with a stable per-passenger holdout and the training window "
    "(all history, or the regime since a detected degradation).",
    metadata={"dagster/table_name": names.TRAINING_DATA_TABLE},
)
def training_data(
    context: dg.AssetExecutionContext, config: TrainingDataConfig, duckdb: DuckDBResource
) -> Iterator[dg.Output[pd.DataFrame]]:
    # One warehouse connection for the step: it stays open while the I/O manager writes the
    # output, whose connection then joins this open database instead of opening the file again
    # (as in the feature assets; DuckDB takes ~15 ms to open a file).
    with open_warehouse(duckdb) as conn:
        yield _training_output(context, config, conn)


def _training_output(
    context: dg.AssetExecutionContext, config: TrainingDataConfig, conn
) -> dg.Output[pd.DataFrame]:
    try:
        cutoff = parse_cutoff(config.cutoff)
        frame = training_store.read_training_rows(conn, cutoff, config.max_rows)
        start = widen_window(frame["event_time"], _window_start(conn, config))
        frame = assign_splits(frame, start)
        validate_training_rows(frame, config.min_rows)
    except TrainingSetError as error:
        raise dg.Failure(str(error)) from error
    digest = content_hash(frame)
    # Handed to model_version with the frame when it comes straight from this step (the I/O
    # manager's in-run hand-over keeps attrs); a frame read back from the table is re-hashed.
    frame.attrs.update(content_sha256=digest, reason=config.reason)
    splits = frame["split"].value_counts().to_dict()
    context.log.info(f"{len(frame)} labelled passengers up to {cutoff.isoformat()}: {splits}")
    return dg.Output(
        frame,
        metadata={
            "rows": dg.MetadataValue.int(len(frame)),
            **{f"{k}_rows": dg.MetadataValue.int(int(v)) for k, v in splits.items()},
            "cutoff": dg.MetadataValue.text(cutoff.isoformat()),
            "reason": dg.MetadataValue.text(config.reason),
            "window_start": dg.MetadataValue.text(start.isoformat() if start else "all history"),
            "latest_event_time": dg.MetadataValue.text(
                pd.Timestamp(frame["event_time"].max()).isoformat()
            ),
            "survival_rate": dg.MetadataValue.float(float(frame[LABEL_COLUMN].mean())),
            "sample_fraction": dg.MetadataValue.float(frame.attrs.get("sample_fraction", 1.0)),
            "sources": dg.MetadataValue.json(frame["source"].value_counts().to_dict()),
            "content_sha256": dg.MetadataValue.text(digest),
        },
    )


@dg.asset(
    key=MODEL_VERSIONS,
    ins={"training_data": dg.AssetIn(key=TRAINING_DATA)},
    group_name=GROUP,
    kinds={"xgboost", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version="2",
    description="Trains XGBoost on the training window, evaluates on the holdout, the recent "
    "window and stratified CV, registers a signed version in models.model_versions and, in "
    "one compare-and-set decision, promotes it if core.promotion's rule says it beats the "
    "champion on the same rows.",
    metadata={"dagster/table_name": names.MODEL_VERSIONS_TABLE},
    check_specs=[CHAMPION_CHECK_SPEC],
)
def model_version(
    context: dg.AssetExecutionContext,
    config: ModelConfig,
    duckdb: DuckDBResource,
    training_data: pd.DataFrame,
) -> dg.MaterializeResult:
    try:
        trained = fit_and_evaluate(
            training_data, config.params(), config.cv_folds, config.eval_window_hours
        )
    except TrainingSetError as error:
        raise dg.Failure(str(error)) from error
    run_id = context.run.run_id
    with open_warehouse(duckdb) as conn:
        version = registry.register_version(conn, **trained.registration(run_id))
        promoted, decision, current = registry.decide_champion(
            conn, version, trained.judge(version), run_id=run_id
        )
        problems = registry.champion_problems(conn)
        card = model_card(conn, version)
        columns = table_columns(conn, names.MODEL_VERSIONS_TABLE)
    context.log.info(decision)
    if promoted:  # batch predictions re-score on this event (training_pipeline/champion.py)
        context.log_event(champion_changed(version, decision, f"training run {run_id}"))
    champion = version if promoted else (current.version if current else 0)
    metadata = model_metadata(trained, version, run_id, promoted, decision, champion)
    metadata["model_card"] = dg.MetadataValue.md(card)
    metadata["dagster/column_schema"] = dg.MetadataValue.table_schema(table_schema(columns))
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[champion_check_result(problems)],
    )


def model_metadata(
    trained: TrainedModel, version: int, run_id: str, promoted: bool, decision: str, champion: int
) -> dict[str, dg.MetadataValue]:
    """What the UI shows for a version: figures, decision, both models on both sets, charts."""
    metrics = trained.metrics
    numeric = {
        key: dg.MetadataValue.float(float(metrics[key]))
        for key in (*METRIC_KEYS, "recent_accuracy")
        if metrics.get(key) is not None
    }
    charts = training_figures(trained, version)
    return {
        "version": dg.MetadataValue.int(version),
        **numeric,
        "promoted": dg.MetadataValue.bool(promoted),
        "champion_version": dg.MetadataValue.int(champion),
        "decision": dg.MetadataValue.text(decision),
        "champion_comparison": dg.MetadataValue.md(_comparison_md(trained, version)),
        **{name: dg.MetadataValue.md(md) for name, md in charts.items()},
        "training_rows": dg.MetadataValue.int(len(trained.train)),
        "holdout_rows": dg.MetadataValue.int(len(trained.holdout)),
        "recent_rows": dg.MetadataValue.int(len(trained.recent)),
        "training_cutoff": dg.MetadataValue.text(trained.lineage["latest_event_time"]),
        "training_window": dg.MetadataValue.json(trained.lineage),
        "training_data_sha256": dg.MetadataValue.text(trained.data_hash),
        "params": dg.MetadataValue.json(trained.params.to_dict()),
        "run_id": dg.MetadataValue.text(run_id),
    }


def _comparison_md(trained: TrainedModel, version: int) -> str:
    """Both models' accuracy on both evaluation sets (same rows for both), with McNemar z."""
    lines = [
        "Same rows for both models (recent = holdout passengers of the last "
        f"{trained.lineage['eval_window_hours']:g} h; holdout = all holdout passengers):",
        "",
        f"| set | rows | v{version} (challenger) | champion | challenger-only right | "
        "champion-only right | z |",
        "|---|---|---|---|---|---|---|",
    ]
    if not trained.comparisons:
        recent = trained.metrics.get("recent_accuracy")
        lines.append(
            f"| recent | {len(trained.recent)} | "
            f"{'-' if recent is None else f'{recent:.4f}'} | - | - | - | - |"
        )
        lines.append(f"| holdout | {len(trained.holdout)} | {trained.metrics['accuracy']:.4f} "
                     "| - | - | - | - |")  # fmt: skip
    for c in trained.comparisons:
        mine = "-" if c.challenger_accuracy is None else f"{c.challenger_accuracy:.4f}"
        theirs = "-" if c.champion_accuracy is None else f"{c.champion_accuracy:.4f}"
        lines.append(f"| {c.name} | {c.n} | {mine} | {theirs} | {c.wins} | {c.losses} | "
                     f"{c.z:+.2f} |")  # fmt: skip
    return "\n".join(lines)


def champion_check_result(problems: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=MODEL_VERSIONS,
        check_name=CHAMPION_CHECK,
        passed=not problems,
        metadata={"problems": dg.MetadataValue.text("; ".join(problems) or "none")},
    )

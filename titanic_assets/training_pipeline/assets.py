"""Training pipeline assets: a point-in-time training set, then a registered model version.

    features/passenger_features ─► models/training_data ─► models/model_versions (registry)
                                                              │
                                                              └─ champion/challenger decision

The training set is everything labelled in the feature store up to a cutoff, with a stable
per-passenger train/holdout split (see :func:`titanic_assets.core.model.holdout_mask`). The
model asset trains on the train rows, evaluates on the holdout, registers a version, and
promotes it only if it is at least as accurate as the current champion on THIS holdout.
"""

import hashlib
import json
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from titanic_assets import names
from titanic_assets.core.drift import feature_profile
from titanic_assets.core.features import FEATURE_STORE_COLUMNS, FORBIDDEN_INPUTS, LABEL_COLUMN
from titanic_assets.core.metrics import classification_metrics
from titanic_assets.core.model import (
    TrainingParams,
    cross_val_accuracy,
    feature_importance,
    holdout_mask,
    model_to_bytes,
    predict_proba,
    train_model,
)
from titanic_assets.core.plots import bar_chart_md, confusion_matrix_md
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.resources import open_warehouse
from titanic_assets.data_layer.warehouse import table_exists
from titanic_assets.names import FEATURE_VIEW, WAREHOUSE_POOL

GROUP = names.TRAINING_GROUP
OWNERS = ["team:ml"]

PASSENGER_FEATURES = dg.AssetKey(names.PASSENGER_FEATURES)
TRAINING_DATA = dg.AssetKey(names.TRAINING_DATA)
MODEL_VERSIONS = dg.AssetKey(names.MODEL_VERSIONS)

#: Below this, a holdout of ~20% is too small to compare models on.
MIN_TRAINING_ROWS = 50
METRIC_KEYS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "cv_accuracy")

_DEFAULTS = TrainingParams()


class TrainingDataConfig(dg.Config):
    cutoff: str | None = Field(
        default=None,
        description="ISO timestamp (UTC if no offset): use only passengers with event_time <= "
        "cutoff. Default: now. Re-running with the same cutoff gives the same training set.",
    )
    min_rows: int = Field(default=MIN_TRAINING_ROWS, ge=10)


class ModelConfig(dg.Config):
    """XGBoost hyperparameters (defaults: :class:`TrainingParams`)."""

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

    def params(self) -> TrainingParams:
        values = self.model_dump()
        values.pop("cv_folds")
        return TrainingParams(**values)


def parse_cutoff(value: str | None) -> datetime:
    """The cutoff as naive UTC (the warehouse's event_time convention); default now."""
    if value is None or not str(value).strip():
        return datetime.now(UTC).replace(tzinfo=None)
    try:
        stamp = pd.Timestamp(str(value).strip())
    except ValueError as error:
        raise dg.Failure(
            f"cutoff {value!r} is not an ISO timestamp (e.g. 2026-01-31T12:00)"
        ) from error
    if pd.isna(stamp):
        raise dg.Failure(f"cutoff {value!r} is not an ISO timestamp")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def content_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of the rows (sorted by passenger) and column names: the training data's identity."""
    ordered = frame.sort_values("passenger_id").reset_index(drop=True)
    digest = hashlib.sha256(json.dumps(list(ordered.columns)).encode())
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def read_training_rows(conn, cutoff: datetime) -> pd.DataFrame:
    """Labelled feature-store rows with event_time <= cutoff; fails naming missing columns."""
    if not table_exists(conn, FEATURE_VIEW):
        raise dg.Failure(
            f"{FEATURE_VIEW} does not exist: materialize the feature pipeline first "
            "(historical_backfill, then feature_pipeline)"
        )
    present = {
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'features' AND table_name = 'passenger_features'"
        ).fetchall()
    }
    missing = [c for c in FEATURE_STORE_COLUMNS if c not in present]
    if missing:
        raise dg.Failure(
            f"{FEATURE_VIEW} lacks columns the model needs: {missing}. The feature store and "
            "titanic_assets.core.features disagree; re-materialize the feature pipeline.",
            metadata={"missing_columns": json.dumps(missing)},
        )
    columns = ", ".join(f'"{c}"' for c in FEATURE_STORE_COLUMNS)  # constants, not user input
    return conn.execute(
        f"SELECT {columns} FROM {FEATURE_VIEW} "
        f"WHERE event_time <= ? AND {LABEL_COLUMN} IS NOT NULL ORDER BY passenger_id",
        [cutoff],
    ).df()


def validate_training_rows(frame: pd.DataFrame, min_rows: int) -> None:
    """Refuse what cannot make a trustworthy model, before anything is written."""
    if len(frame) < min_rows:
        raise dg.Failure(
            f"only {len(frame)} labelled passengers up to the cutoff; at least {min_rows} are "
            "needed to train and hold out a fair evaluation set (move the cutoff later, or "
            "run the feature pipeline)"
        )
    for name, part in (("training set", frame), ("train split", frame[frame["split"] == "train"])):
        classes = sorted(part[LABEL_COLUMN].unique().tolist())
        if len(classes) < 2:
            raise dg.Failure(
                f"the {name} holds a single class {classes}: a classifier cannot learn survival "
                "from it (check the labels in the feature store)"
            )
    if (frame["split"] == "holdout").sum() == 0:
        raise dg.Failure("the holdout split is empty: nothing to evaluate the model on")


@dg.asset(
    key=TRAINING_DATA,
    deps=[PASSENGER_FEATURES],
    group_name=GROUP,
    kinds={"duckdb", "pandas"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version="1",
    description="Labelled passengers from the feature store with event_time <= cutoff "
    "(point in time), with a stable per-passenger train/holdout split.",
    metadata={"dagster/table_name": names.TRAINING_DATA_TABLE},
)
def training_data(
    context: dg.AssetExecutionContext, config: TrainingDataConfig, duckdb: DuckDBResource
) -> dg.Output[pd.DataFrame]:
    cutoff = parse_cutoff(config.cutoff)
    with open_warehouse(duckdb) as conn:
        frame = read_training_rows(conn, cutoff)
    frame["split"] = "train"
    frame.loc[holdout_mask(frame["passenger_id"]), "split"] = "holdout"
    validate_training_rows(frame, config.min_rows)
    digest = content_hash(frame)
    # Handed to model_version with the frame when it comes straight from this step (the I/O
    # manager's in-run hand-over keeps attrs); a frame read back from the table is re-hashed.
    frame.attrs["content_sha256"] = digest
    latest = frame["event_time"].max()
    context.log.info(f"{len(frame)} labelled passengers up to {cutoff.isoformat()}")
    return dg.Output(
        frame,
        metadata={
            "rows": dg.MetadataValue.int(len(frame)),
            "train_rows": dg.MetadataValue.int(int((frame["split"] == "train").sum())),
            "holdout_rows": dg.MetadataValue.int(int((frame["split"] == "holdout").sum())),
            "cutoff": dg.MetadataValue.text(cutoff.isoformat()),
            "latest_event_time": dg.MetadataValue.text(pd.Timestamp(latest).isoformat()),
            "survival_rate": dg.MetadataValue.float(float(frame[LABEL_COLUMN].mean())),
            "sources": dg.MetadataValue.json(frame["source"].value_counts().to_dict()),
            "content_sha256": dg.MetadataValue.text(digest),
        },
    )


def _comparison_md(rows: list[tuple[str, dict]]) -> str:
    keys = ("accuracy", "f1", "roc_auc", "log_loss")
    lines = ["| model | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for name, metrics in rows:
        cells = [("-" if metrics.get(k) is None else f"{metrics[k]:.4f}") for k in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dg.asset(
    key=MODEL_VERSIONS,
    ins={"training_data": dg.AssetIn(key=TRAINING_DATA)},
    group_name=GROUP,
    kinds={"xgboost", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version="1",
    description="Trains XGBoost on the train split, evaluates on the holdout (plus stratified "
    "CV), registers a version in models.model_versions and promotes it if it is at least as "
    "accurate as the current champion on the same holdout.",
    metadata={"dagster/table_name": names.MODEL_VERSIONS_TABLE},
)
def model_version(
    context: dg.AssetExecutionContext,
    config: ModelConfig,
    duckdb: DuckDBResource,
    training_data: pd.DataFrame,
) -> dg.MaterializeResult:
    params = config.params()
    features = list(params.feature_columns)
    validate_training_rows(training_data, min_rows=2)
    train = training_data[training_data["split"] == "train"]
    holdout = training_data[training_data["split"] == "holdout"]

    model = train_model(train, params)
    metrics = classification_metrics(holdout[LABEL_COLUMN], predict_proba(model, holdout, features))
    folds = min(config.cv_folds, int(train[LABEL_COLUMN].value_counts().min()))
    metrics["cv_accuracy"] = cross_val_accuracy(train, params, folds) if folds >= 2 else None
    metrics["cv_folds"] = folds
    metrics["holdout_rows"] = len(holdout)
    cutoff = pd.Timestamp(training_data["event_time"].max()).to_pydatetime()
    data_hash = training_data.attrs.get("content_sha256") or content_hash(training_data)
    run_id = context.run.run_id

    with open_warehouse(duckdb) as conn:
        registry.ensure_registry(conn)
        current = registry.champion(conn)
        champion_metrics = None
        champion_error = None
        if current is not None:
            try:
                _, champion_model = registry.load_model(conn, current.version)
                champion_prob = predict_proba(champion_model, holdout, current.features)
                champion_metrics = classification_metrics(holdout[LABEL_COLUMN], champion_prob)
            except (registry.ArtifactIntegrityError, KeyError, ValueError) as error:
                champion_error = str(error)
        version = registry.register_version(
            conn,
            model_bytes=model_to_bytes(model),
            params=params.to_dict(),
            features=features,
            metrics=metrics,
            training_rows=len(train),
            training_cutoff=cutoff,
            training_data_hash=data_hash,
            training_profile=feature_profile(train, features),
            run_id=run_id,
        )
        promoted, decision = _decide(version, metrics, current, champion_metrics, champion_error)
        if promoted:
            registry.promote(conn, version, decision, run_id=run_id)
    context.log.info(decision)

    comparison = [(f"v{version} (challenger)", metrics)]
    if current is not None and champion_metrics is not None:
        comparison.append((f"v{current.version} (champion)", champion_metrics))
    importance = feature_importance(model)
    numeric = {
        key: dg.MetadataValue.float(float(metrics[key]))
        for key in METRIC_KEYS
        if metrics.get(key) is not None
    }
    return dg.MaterializeResult(
        metadata={
            "version": dg.MetadataValue.int(version),
            **numeric,
            "promoted": dg.MetadataValue.bool(promoted),
            "champion_version": dg.MetadataValue.int(
                version if promoted else (current.version if current else 0)
            ),
            "decision": dg.MetadataValue.text(decision),
            "champion_comparison": dg.MetadataValue.md(
                "Holdout of this run (same rows for both models):\n\n" + _comparison_md(comparison)
            ),
            "confusion_matrix": dg.MetadataValue.md(
                confusion_matrix_md(
                    metrics["tn"],
                    metrics["fp"],
                    metrics["fn"],
                    metrics["tp"],
                    f"v{version} holdout (n={metrics['n']})",
                )
            ),
            "feature_importance": dg.MetadataValue.md(
                bar_chart_md(
                    list(importance), list(importance.values()), "Feature importance", "gain share"
                )
            ),
            "training_rows": dg.MetadataValue.int(len(train)),
            "holdout_rows": dg.MetadataValue.int(len(holdout)),
            "training_cutoff": dg.MetadataValue.text(cutoff.isoformat()),
            "training_data_sha256": dg.MetadataValue.text(data_hash),
            "params": dg.MetadataValue.json(params.to_dict()),
            "run_id": dg.MetadataValue.text(run_id),
        }
    )


def _decide(
    version: int,
    metrics: dict,
    current: registry.ModelVersion | None,
    champion_metrics: dict | None,
    champion_error: str | None,
) -> tuple[bool, str]:
    """Champion/challenger: promote iff the challenger is at least as accurate on this holdout."""
    if current is None:
        return True, f"v{version} promoted: first model, no champion yet"
    if champion_metrics is None:
        return False, (
            f"v{version} registered but NOT promoted: champion v{current.version} could not be "
            f"evaluated ({champion_error}); compare and promote by hand (promote_model job)"
        )
    challenger, incumbent = metrics["accuracy"], champion_metrics["accuracy"]
    scores = f"holdout accuracy {challenger:.4f} vs champion v{current.version} {incumbent:.4f}"
    if challenger > incumbent:
        return True, f"v{version} promoted: {scores}"
    if challenger == incumbent:
        return True, f"v{version} promoted: tie on {scores}; the newer model wins ties"
    return False, f"v{version} not promoted: {scores}; v{current.version} stays champion"


@dg.asset_check(
    asset=MODEL_VERSIONS,
    pool=WAREHOUSE_POOL,
    description="Exactly one champion, its artifact verifies, and no id/leakage column is a "
    "model input.",
)
def champion_is_sound(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with open_warehouse(duckdb) as conn:
        versions = registry.list_versions(conn)
        champions = int(versions["is_champion"].sum()) if not versions.empty else 0
        problems = []
        if champions != 1:
            problems.append(f"{champions} champions (expected exactly 1)")
        else:
            try:
                registry.load_champion(conn)
            except registry.RegistryError as error:
                problems.append(str(error))
    for row in versions.itertuples():
        leaked = sorted(set(json.loads(row.features)) & FORBIDDEN_INPUTS)
        if leaked:
            problems.append(f"v{row.version} uses forbidden inputs {leaked}")
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"problems": dg.MetadataValue.text("; ".join(problems) or "none")},
    )

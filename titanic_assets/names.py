"""Every shared name, declared once: warehouse tables, asset keys, check suites, jobs, groups.

Why one module: a key written in three modules (``features/passenger_features`` was) drifts
the day one of them is renamed, and the lineage silently breaks. Here an asset's key IS its
table's ``schema.table`` split in two, so the Dagster graph and the warehouse cannot disagree.

No imports at all, so every layer can use it: ``core`` (suite names), the data layer and the
CLI (table names, without paying for a Dagster import), the pipelines (keys, jobs, groups) and
the benchmarks. Dagster objects built from these names live beside their users: asset keys
as ``dg.AssetKey(names.X)`` and the time partitions in :mod:`titanic_assets.partitions`
(which builds them from :data:`PARTITIONS_START`).
"""

from __future__ import annotations

#: An asset key as its path, e.g. ``("features", "passenger_features")``.
AssetPath = tuple[str, ...]


def key(table: str) -> AssetPath:
    """The asset key path of a warehouse table: ``"schema.table"`` -> ``("schema", "table")``."""
    return tuple(table.split("."))


# --- warehouse schemas --------------------------------------------------------------------------

FEATURES_SCHEMA = "features"
MODELS_SCHEMA = "models"
INFERENCE_SCHEMA = "inference"
MONITORING_SCHEMA = "monitoring"
SCHEMAS = (FEATURES_SCHEMA, MODELS_SCHEMA, INFERENCE_SCHEMA, MONITORING_SCHEMA)

# --- tables (each asset-backed one is also an asset key, see ``key``) ----------------------------

RAW_HISTORICAL_TABLE = "features.raw_historical_passengers"
HISTORICAL_PASSENGERS_TABLE = "features.historical_passengers"
REJECTED_HISTORICAL_TABLE = "features.rejected_historical_passengers"
HISTORICAL_FEATURES_TABLE = "features.historical_features"
SYNTHETIC_PASSENGERS_TABLE = "features.synthetic_passengers"
SYNTHETIC_FEATURES_TABLE = "features.synthetic_features"
#: THE feature store (a view over the feature tables, certified batches only).
FEATURE_VIEW = "features.passenger_features"
#: The data-quality ledger that gates the feature store (no asset of its own).
QUALITY_LEDGER = "features.quality_results"
TRAINING_DATA_TABLE = "models.training_data"
MODEL_VERSIONS_TABLE = "models.model_versions"
#: The promotions log of the registry (no asset of its own).
PROMOTIONS_TABLE = "models.promotions"
#: The registry's compare-and-set champion record (no asset of its own).
CHAMPION_STATE_TABLE = "models.champion_state"
PREDICTIONS_TABLE = "inference.predictions"
#: Challengers scored beside the champion, never served (written by the predictions step).
SHADOW_PREDICTIONS_TABLE = "inference.shadow_predictions"
PERFORMANCE_TABLE = "monitoring.model_performance"
#: Per day, model version and segment (sex x ticket class), written by the monitoring step.
SEGMENT_PERFORMANCE_TABLE = "monitoring.segment_performance"
#: Per day: the champion and each shadow on the same labelled passengers (monitoring step).
SHADOW_COMPARISON_TABLE = "monitoring.shadow_comparison"

# --- asset keys ---------------------------------------------------------------------------------

RAW_HISTORICAL = key(RAW_HISTORICAL_TABLE)
HISTORICAL_PASSENGERS = key(HISTORICAL_PASSENGERS_TABLE)
REJECTED_HISTORICAL = key(REJECTED_HISTORICAL_TABLE)
HISTORICAL_FEATURES = key(HISTORICAL_FEATURES_TABLE)
SYNTHETIC_PASSENGERS = key(SYNTHETIC_PASSENGERS_TABLE)
SYNTHETIC_FEATURES = key(SYNTHETIC_FEATURES_TABLE)
PASSENGER_FEATURES = key(FEATURE_VIEW)
TRAINING_DATA = key(TRAINING_DATA_TABLE)
MODEL_VERSIONS = key(MODEL_VERSIONS_TABLE)
#: The registry's champion as an asset (external: an event each time the champion changes).
CHAMPION = (MODELS_SCHEMA, "champion")
PREDICTIONS = key(PREDICTIONS_TABLE)
MODEL_PERFORMANCE = key(PERFORMANCE_TABLE)

# --- data-quality suites (GX suite names, asset check names, ledger ``suite`` values) -----------

#: Blocking: a batch that fails it stays out of the feature store.
INTEGRITY_SUITE = "integrity"
#: Warn only.
DISTRIBUTION_SUITE = "distribution"
#: The suite whose verdict certifies a batch.
BLOCKING_SUITE = INTEGRITY_SUITE
#: The quality-ledger batch id of the historical backfill (hours use "YYYY-MM-DD-HH:00").
HISTORICAL_BATCH = "historical"

# --- monitoring checks --------------------------------------------------------------------------

ACCURACY_CHECK = "accuracy_above_floor"
DRIFT_CHECK = "drift_below_ceiling"
CALIBRATION_CHECK = "calibration_within_ceiling"
SEGMENT_CHECK = "segments_near_overall"
#: Asset check on models/model_versions: one champion, a verifying artifact, no leaked input.
CHAMPION_CHECK = "champion_is_sound"

# --- jobs and groups ----------------------------------------------------------------------------

FEATURE_GROUP = "feature_pipeline"
TRAINING_GROUP = "training_pipeline"
INFERENCE_GROUP = "inference_pipeline"

HISTORICAL_BACKFILL_JOB = "historical_backfill"
FEATURE_JOB = "feature_pipeline"
TRAINING_JOB = "training_pipeline"
PROMOTE_JOB = "promote_model"
INFERENCE_JOB = "inference_pipeline"

#: The resource key of the I/O manager that hands a scored day from scoring to monitoring.
SCORED_DAY_IO_MANAGER = "scored_day_io_manager"

#: The Dagster concurrency pool of every step that opens the warehouse (limit 1 in dagster.yaml).
WAREHOUSE_POOL = "duckdb"

# --- partitions ---------------------------------------------------------------------------------

#: First hourly and daily partition (Dagster partition definitions must be stable).
PARTITIONS_START = "2026-11-01"
#: The hourly partition key format, and the batch id an hour's rows carry.
HOUR_KEY_FORMAT = "%Y-%m-%d-%H:%M"
HOUR_BATCH_FORMAT = "%Y-%m-%d-%H:00"
DAY_KEY_FORMAT = "%Y-%m-%d"

# --- op names (run-config keys) -----------------------------------------------------------------


def op_name(asset: AssetPath) -> str:
    """The op Dagster builds for an asset, the key of its config under ``run_config["ops"]``."""
    return "__".join(asset)


SYNTHETIC_PASSENGERS_OP = op_name(SYNTHETIC_PASSENGERS)
TRAINING_DATA_OP = op_name(TRAINING_DATA)
MODEL_VERSIONS_OP = op_name(MODEL_VERSIONS)
PREDICTIONS_OP = op_name(PREDICTIONS)
PERFORMANCE_OP = op_name(MODEL_PERFORMANCE)


def op_config(op: str, **config: object) -> dict[str, dict]:
    """``run_config`` that sets ``config`` on one op: ``{"ops": {op: {"config": config}}}``."""
    return {"ops": {op: {"config": config}}}

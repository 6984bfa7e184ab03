"""Reads behind a training run: labelled feature-store rows, monitoring history, the regime.

Storage only; the rules (splits, windows, checks) are in :mod:`titanic_assets.core.training_set`.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from titanic_assets.core.features import FEATURE_STORE_COLUMNS, LABEL_COLUMN
from titanic_assets.core.monitoring import Thresholds
from titanic_assets.core.schema import SOURCE_HISTORICAL
from titanic_assets.core.training_set import (
    MAX_TRAINING_ROWS,
    SAMPLE_BUCKETS,
    TrainingSetError,
    regime_start,
    sample_buckets,
)
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.feature_store import FEATURE_VIEW
from titanic_assets.data_layer.warehouse import table_exists

PERFORMANCE_TABLE = "monitoring.model_performance"


def read_training_rows(
    conn: duckdb.DuckDBPyConnection, cutoff: datetime, max_rows: int = MAX_TRAINING_ROWS
) -> pd.DataFrame:
    """Labelled feature-store rows with event_time <= cutoff; fails naming missing columns.

    At most about ``max_rows`` of them: past that, synthetic passengers are sampled by a hash of
    their id (the rule and why: :mod:`titanic_assets.core.training_set`); the fraction read is
    in the frame's ``attrs["sample_fraction"]`` (1.0: all of them).
    """
    if not table_exists(conn, FEATURE_VIEW):
        raise TrainingSetError(
            f"{FEATURE_VIEW} does not exist: materialize the feature pipeline first "
            "(historical_backfill, then feature_pipeline)"
        )
    schema, name = FEATURE_VIEW.split(".")
    present = {
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchall()
    }
    missing = [c for c in FEATURE_STORE_COLUMNS if c not in present]
    if missing:
        raise TrainingSetError(
            f"{FEATURE_VIEW} lacks columns the model needs: {missing}. The feature store and "
            "titanic_assets.core.features disagree; re-materialize the feature pipeline."
        )
    columns = ", ".join(f'"{c}"' for c in FEATURE_STORE_COLUMNS)  # constants, not user input
    labelled = f"event_time <= ? AND {LABEL_COLUMN} IS NOT NULL"
    total = conn.execute(f"SELECT count(*) FROM {FEATURE_VIEW} WHERE {labelled}", [cutoff])
    buckets = sample_buckets(int(total.fetchall()[0][0]), max_rows)
    sample, params = "", [cutoff]
    if buckets is not None:
        sample = f" AND (source = ? OR hash(passenger_id) % {SAMPLE_BUCKETS} < ?)"
        params += [SOURCE_HISTORICAL, buckets]
    frame = conn.execute(
        f"SELECT {columns} FROM {FEATURE_VIEW} WHERE {labelled}{sample} ORDER BY passenger_id",
        params,
    ).df()
    frame.attrs["sample_fraction"] = 1.0 if buckets is None else buckets / SAMPLE_BUCKETS
    return frame


def degradation_regime_start(
    conn: duckdb.DuckDBPyConnection, degraded_day: datetime, thresholds: Thresholds
) -> datetime:
    """Where the degraded regime began, from monitoring's per-day verdicts (see core)."""
    if not table_exists(conn, PERFORMANCE_TABLE):
        return pd.Timestamp(degraded_day).normalize().to_pydatetime()
    rows = conn.execute(
        f"SELECT * FROM {PERFORMANCE_TABLE} WHERE day <= ? ORDER BY day", [degraded_day]
    ).df()
    return regime_start(rows.to_dict("records"), degraded_day, thresholds)


def champion_window_start(conn: duckdb.DuckDBPyConnection) -> datetime | None:
    """The regime window the champion was trained on (None: all of history)."""
    current = registry.champion(conn)
    if current is None or not current.training_window:
        return None
    start = current.training_window.get("window_start")
    return None if start is None else pd.Timestamp(start).to_pydatetime()

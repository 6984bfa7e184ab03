"""Shadow scoring: challengers score the champion's passengers into ``inference.shadow_predictions``.

Batch scoring (:func:`titanic_assets.data_layer.batch_scoring.score_day`) scores the shadows in
the champion's own block loop: each block's input matrix is built once and every model of the
day predicts on it (a shadow with other inputs gets a matrix of its own), in the worker thread
that scores the champion, and each shadow's rows are written beside the champion's by the same
write path (ids paired with the day's snapshot inside DuckDB). The day's earlier shadow rows
are deleted in the same transaction, on an event-time range, so a re-run replaces them (never
duplicates them), a failure leaves them as they were, and the delete reads only the day's row
groups however long the history.

A shadow row holds the issue's five columns plus ``event_time`` (the passenger's, as in
``inference.predictions``): the bounded delete and the day's reads (:func:`shadow_joins`) are
range predicates on it. No run id: it was the costliest column of the row (a constant string
per row), and a shadow's run is the champion row's ``run_id`` of the same passenger.

Shadow rows are never served: ``titanic predict``, the app's prediction form and the batch
predictions read the champion only. Monitoring compares them with the champion on the same
labelled passengers (``monitoring.shadow_comparison``). Which versions are shadows is
:func:`titanic_assets.core.promotion.shadow_candidates`' rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

from titanic_assets.core.predict import SHADOW_PREDICTION_TYPES
from titanic_assets.core.promotion import shadow_candidates
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.warehouse import ensure_scoring_table, table_exists
from titanic_assets.names import SHADOW_PREDICTIONS_TABLE


def ensure_shadow_table(conn: duckdb.DuckDBPyConnection) -> None:
    """Create ``inference.shadow_predictions`` (typed, empty) unless it exists.

    A table made by an earlier release keeps its ``run_id`` column: writes name their columns,
    so it is left NULL there, and nothing is rewritten.
    """
    ensure_scoring_table(conn, SHADOW_PREDICTIONS_TABLE, SHADOW_PREDICTION_TYPES)


def delete_shadow_day(conn: duckdb.DuckDBPyConnection, window: list[datetime]) -> None:
    """Drop the shadow rows of ``[start, end)`` (inside the caller's transaction).

    A range on ``event_time``: rows are written a day at a time, so DuckDB's per-row-group
    min/max skips every other day's rows and the delete does not grow with history.
    """
    if table_exists(conn, SHADOW_PREDICTIONS_TABLE):
        conn.execute(
            f"DELETE FROM {SHADOW_PREDICTIONS_TABLE} WHERE event_time >= ? AND event_time < ?",
            window,
        )


def load_shadows(
    conn: duckdb.DuckDBPyConnection, champion: int
) -> tuple[list[tuple[registry.ModelVersion, Any]], dict[int, str]]:
    """The shadow versions with their verified models, and those refused with the reason.

    A shadow whose artifact does not verify is left out (never scored, never trusted), and
    the champion's scoring goes on: a broken challenger must not stop the day.
    """
    versions = registry.list_versions(conn)["version"].astype(int).tolist()
    loaded, refused = [], {}
    for number in shadow_candidates(versions, champion):
        try:
            loaded.append(registry.load_model(conn, number))
        except registry.RegistryError as error:
            refused[number] = str(error)
    return loaded, refused


def scorable_shadows(
    shadows: Sequence[tuple[registry.ModelVersion, Any]], available: Sequence[str]
) -> tuple[list[tuple[int, list[str], Any]], dict[int, str]]:
    """``(version, inputs, model)`` of the shadows the day's feature rows can feed, and
    ``{version: why it was skipped}`` for the others (skipped, not failed: the champion's day
    goes on)."""
    scorable, skipped = [], {}
    for meta, model in shadows:
        columns = list(meta.features)
        missing = [c for c in columns if c not in available]
        if missing:
            skipped[int(meta.version)] = f"inputs {missing} not in the day's feature rows"
        else:
            scorable.append((int(meta.version), columns, model))
    return scorable, skipped


def shadow_constants(version: int, scored_at: datetime) -> dict[str, Any]:
    """The values a shadow's rows share (the rest come from the snapshot and the scores)."""
    return {"model_version": int(version), "scored_at": scored_at}


def shadow_joins(conn: duckdb.DuckDBPyConnection, window: list[datetime]) -> tuple[str, list[int]]:
    """SQL pieces that add each shadow's probability to a stored day of predictions.

    Returns the LEFT JOIN clauses (aliases ``s<version>`` on ``p.passenger_id``) and the
    shadow versions present in the window; the caller selects ``s<v>.survival_probability``.
    Each join reads the window's shadow rows only (an event-time range, as the delete), not the
    shadow table's whole history.
    """
    if not table_exists(conn, SHADOW_PREDICTIONS_TABLE):
        return "", []
    versions = [
        int(r[0])
        for r in conn.execute(
            f"SELECT DISTINCT model_version FROM {SHADOW_PREDICTIONS_TABLE} "
            "WHERE event_time >= ? AND event_time < ? ORDER BY 1",
            window,
        ).fetchall()
    ]
    start, end = (f"TIMESTAMP '{t.isoformat(sep=' ')}'" for t in window)  # datetimes, not text
    joins = " ".join(
        f"LEFT JOIN (SELECT passenger_id, survival_probability FROM {SHADOW_PREDICTIONS_TABLE} "
        f"WHERE model_version = {v} AND event_time >= {start} AND event_time < {end}) AS s{v} "
        f"ON s{v}.passenger_id = p.passenger_id"
        for v in versions
    )
    return joins, versions

"""Shadow scoring: challengers score the champion's passengers into ``inference.shadow_predictions``.

Called by batch scoring (:func:`titanic_assets.data_layer.batch_scoring.score_day`) inside its
transaction, while the day's snapshot still exists: the challengers score the very numbers the
champion scored (already in memory, no second read of the day), and their rows are paired
with the snapshot's passenger ids by position inside DuckDB, as the champion's are. The day's
earlier shadow rows are deleted in the same transaction, so a re-run replaces them and a
failure leaves them as they were.

Shadow rows are never served: ``titanic predict``, the app's prediction form and the batch
predictions read the champion only. Monitoring compares them with the champion on the same
labelled passengers (``monitoring.shadow_comparison``). Which versions are shadows is
:func:`titanic_assets.core.promotion.shadow_candidates`' rule.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from titanic_assets.core.predict import SHADOW_PREDICTION_TYPES, predicted_outcomes, score_matrix
from titanic_assets.core.promotion import shadow_candidates
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.warehouse import ensure_scoring_table, table_exists
from titanic_assets.names import SHADOW_PREDICTIONS_TABLE

_SCORES = "_shadow_scores"


def ensure_shadow_table(conn: duckdb.DuckDBPyConnection) -> None:
    """Create ``inference.shadow_predictions`` (typed, empty) unless it exists."""
    ensure_scoring_table(conn, SHADOW_PREDICTIONS_TABLE, SHADOW_PREDICTION_TYPES)


def delete_shadow_day(conn: duckdb.DuckDBPyConnection, window: list[datetime]) -> None:
    """Drop the shadow rows of ``[start, end)`` (inside the caller's transaction)."""
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


def score_shadows(
    conn: duckdb.DuckDBPyConnection,
    snapshot: str,
    rows: np.ndarray,
    numbers: dict[str, np.ndarray],
    shadows: Sequence[tuple[registry.ModelVersion, Any]],
    matrix: Any,
    block_rows: int,
    scored_at: datetime,
    run_id: str,
) -> tuple[dict[int, np.ndarray], dict[int, str]]:
    """Score and write each shadow on the snapshot's rows; returns ``{version: probabilities}``
    (aligned with ``rows``) and ``{version: why it was skipped}``.

    ``numbers`` are the inputs the champion scored (float64 per column, snapshot order);
    ``matrix(block, columns, n)`` builds the model's float32 input matrix. A shadow needing
    an input the day does not have is skipped, not failed. Blocks are pipelined as the
    champion's: XGBoost scores a block in a worker thread while DuckDB writes the one before.
    """
    probabilities: dict[int, np.ndarray] = {}
    skipped: dict[int, str] = {}
    if not shadows or not len(rows):
        return probabilities, skipped
    ensure_shadow_table(conn)
    n = len(rows)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadow-scoring")
    try:
        for meta, model in shadows:
            columns = list(meta.features)
            missing = [c for c in columns if c not in numbers]
            if missing:
                skipped[meta.version] = f"inputs {missing} not in the day's feature rows"
                continue
            out = np.empty(n, dtype=np.float64)
            pending: deque[tuple[int, int, Future]] = deque()
            written = 0
            constants = (int(meta.version), scored_at, run_id)
            for lo in range(0, n, block_rows):
                hi = min(n, lo + block_rows)
                block = {c: numbers[c][lo:hi] for c in columns}
                inputs = matrix(block, columns, hi - lo)
                pending.append((lo, hi, pool.submit(score_matrix, model, inputs)))
                if len(pending) > 1:
                    written += _write_oldest(conn, snapshot, rows, out, pending, constants)
            while pending:
                written += _write_oldest(conn, snapshot, rows, out, pending, constants)
            if written != n:
                raise registry.RegistryError(
                    f"shadow v{meta.version}: the warehouse paired {written} of {n} scores"
                )
            probabilities[int(meta.version)] = out
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return probabilities, skipped


def _write_oldest(
    conn: duckdb.DuckDBPyConnection,
    snapshot: str,
    rows: np.ndarray,
    out: np.ndarray,
    pending: deque,
    constants: tuple[int, datetime, str],
) -> int:
    lo, hi, future = pending.popleft()
    out[lo:hi] = future.result()
    return _insert_block(conn, snapshot, rows[lo:hi], out[lo:hi], constants)


def _insert_block(
    conn: duckdb.DuckDBPyConnection,
    snapshot: str,
    rows: np.ndarray,
    probabilities: np.ndarray,
    constants: tuple[int, datetime, str],
) -> int:
    """A block of the snapshot's ids beside a shadow's scores, paired by position and checked
    on the row id (as batch scoring's champion rows)."""
    scores = pd.DataFrame(
        {
            "row": rows,
            "survival_probability": probabilities,
            "predicted_survived": predicted_outcomes(probabilities),
        }
    )
    version, scored_at, run_id = constants
    columns = ", ".join(SHADOW_PREDICTION_TYPES)
    conn.register(_SCORES, scores)
    try:
        return int(
            conn.execute(
                f"""INSERT INTO {SHADOW_PREDICTIONS_TABLE} ({columns})
                SELECT d.passenger_id, d.event_time, ?::BIGINT, s.survival_probability,
                       s.predicted_survived, ?::TIMESTAMP, ?
                FROM (SELECT rowid AS row, passenger_id, event_time
                      FROM {snapshot} WHERE rowid >= ? AND rowid <= ?) AS d
                POSITIONAL JOIN {_SCORES} AS s
                WHERE d.row = s.row""",
                [version, scored_at, run_id, int(rows[0]), int(rows[-1])],
            ).fetchall()[0][0]
        )
    finally:
        with suppress(duckdb.Error):
            conn.unregister(_SCORES)


def shadow_joins(conn: duckdb.DuckDBPyConnection, window: list[datetime]) -> tuple[str, list[int]]:
    """SQL pieces that add each shadow's probability to a stored day of predictions.

    Returns the LEFT JOIN clauses (aliases ``s<version>`` on ``p.passenger_id``) and the
    shadow versions present in the window; the caller selects ``s<v>.survival_probability``.
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
    joins = " ".join(
        f"LEFT JOIN {SHADOW_PREDICTIONS_TABLE} AS s{v} "
        f"ON s{v}.passenger_id = p.passenger_id AND s{v}.model_version = {v}"
        for v in versions
    )
    return joins, versions

"""Batch scoring in the warehouse: numbers into XGBoost, ids joined back inside DuckDB.

A day of a million passengers is scored without one Python object per passenger:

1. the day's certified feature rows are copied once, inside DuckDB, into a temporary table: a
   snapshot of the day with a row order of its own (``rowid``);
2. only numeric columns leave DuckDB (the model inputs, plus event time and label for
   monitoring), as NumPy arrays that become the float32 matrix XGBoost scores;
3. the scores go back as small numeric frames, and an ``INSERT ... SELECT`` pairs them with
   the snapshot's rows by position (checked against ``rowid``), so passenger ids, sources and
   batch ids never leave DuckDB. The day's earlier predictions are deleted in the same
   transaction: a re-run replaces the day, and a failure leaves it as it was.

Steps 2 and 3 go block by block: XGBoost scores a block in a worker thread while DuckDB reads
the next and writes the one before, so both cores work. Shadow challengers
(:mod:`.shadow_scoring`) ride the same loop: the block's input matrix is built once, every
model of the day predicts on it in the worker thread, and their rows go through the same
write path (:func:`_insert_scores`) into ``inference.shadow_predictions``.

The numbers just scored, and the day's latest rows with their ids (for the dashboards), are
returned as a :class:`ScoredDay`: the predictions asset's output, which its I/O manager
(:class:`titanic_assets.data_layer.io_manager.ScoredDayIOManager`) hands to the monitoring step
of the same run, so a run reads the day once; another run reads it back
(:func:`read_scored_day`). The rules themselves (threshold,
model call, input checks) are :mod:`titanic_assets.core`'s; the plain benchmark calls
:func:`score_day` too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from titanic_assets.core.clock import naive_utc, utc_now
from titanic_assets.core.features import FEATURE_COLUMNS, LABEL_COLUMN, check_model_inputs
from titanic_assets.core.predict import (
    PREDICTION_TYPES,
    SHADOW_PREDICTION_TYPES,
    predicted_outcomes,
    score_matrix,
)
from titanic_assets.data_layer import shadow_scoring
from titanic_assets.data_layer.registry import ModelVersion
from titanic_assets.data_layer.warehouse import ensure_scoring_table, table_exists, transaction
from titanic_assets.names import FEATURE_VIEW, PREDICTIONS_TABLE, SHADOW_PREDICTIONS_TABLE

#: The day's snapshot and the scores frame, names local to the scoring connection.
_DAY = "_scoring_day"
_SCORES = "_scoring_scores"

#: The snapshot's key columns, written with each prediction.
_KEYS = ("passenger_id", "event_time", "source", "batch_id")

#: The columns of a block's scores frame (the rest of a row comes from the snapshot or is
#: the same for the whole write).
_SCORE_COLUMNS = ("row", "predicted_survived", "survival_probability")

#: Rows XGBoost scores at a time; DuckDB writes one block while the next is scored. Four
#: blocks per million rows: each XGBoost call has a few ms of fixed cost, and half this size
#: measured no faster.
_BLOCK_ROWS = 262_144

#: How many of the day's latest predictions the dashboards show (ties kept).
LATEST_ROWS = 15

#: Columns of :attr:`ScoredDay.scored` besides the model inputs.
SCORED_COLUMNS = (
    "event_time",
    "model_version",
    "predicted_survived",
    "survival_probability",
    LABEL_COLUMN,
)


class ScoringError(RuntimeError):
    """The warehouse did not take the scores as computed (nothing was written)."""


class ScoredDay:
    """What a scoring run hands to monitoring.

    :attr:`scored`: one row per prediction written, numbers only: event_time, model_version,
    predicted_survived, survival_probability, the label (NaN = not known yet) and the day's
    model inputs; built from the columns on first use (by monitoring, not by scoring).
    ``latest``: the day's latest predictions with passenger ids and inputs, for dashboards.
    """

    def __init__(
        self,
        scored: pd.DataFrame | dict[str, np.ndarray],
        latest: pd.DataFrame,
        shadows: dict[int, np.ndarray] | None = None,
        shadow_skipped: dict[int, str] | None = None,
    ):
        self._scored = scored
        self.latest = latest
        #: ``{version: survival probabilities}`` of each shadow, aligned with :attr:`scored`
        #: (NaN where a stored day has no shadow row for a passenger).
        self.shadows: dict[int, np.ndarray] = dict(shadows or {})
        #: ``{version: reason}`` of shadows that did not score the day.
        self.shadow_skipped: dict[int, str] = dict(shadow_skipped or {})

    @cached_property
    def scored(self) -> pd.DataFrame:
        if isinstance(self._scored, dict):
            self._scored = pd.DataFrame(self._scored)  # the arrays are not kept twice
        return self._scored

    @property
    def rows(self) -> int:
        return len(self._scored["predicted_survived"])

    @property
    def predicted_survival_rate(self) -> float:
        outcomes = np.asarray(self._scored["predicted_survived"])
        return float(outcomes.mean()) if len(outcomes) else float("nan")


def ensure_predictions_table(conn: duckdb.DuckDBPyConnection) -> None:
    """Create ``inference.predictions`` (typed, empty; storage hints in
    :data:`~titanic_assets.data_layer.warehouse.SCORING_STORAGE`) unless it exists."""
    ensure_scoring_table(conn, PREDICTIONS_TABLE, PREDICTION_TYPES)


def score_day(
    conn: duckdb.DuckDBPyConnection,
    start: datetime,
    end: datetime,
    *,
    model: Any,
    version: ModelVersion,
    run_id: str,
    shadows: Sequence[tuple[ModelVersion, Any]] = (),
) -> ScoredDay:
    """Score the certified rows with ``start <= event_time < end`` and replace their predictions.

    ``shadows`` (version, verified model) also score the same rows into
    ``inference.shadow_predictions`` (:mod:`.shadow_scoring`), in the same loop and
    transaction; the champion's step is unchanged when there are none.

    ``model`` is ``version``'s verified model, as :func:`registry.load_champion
    <titanic_assets.data_layer.registry.load_champion>` returns them; the version gives the
    number stored with each prediction and the model's inputs, in its order. Raises
    :class:`~titanic_assets.core.features.MissingFeatureInputError` naming a model input the
    feature store no longer has; nothing is written then.
    """
    model_version, feature_columns = int(version.version), list(version.features)
    start, end = naive_utc(start), naive_utc(end)
    window = [start, end]
    predicted_at = utc_now()
    try:
        with transaction(conn):
            ensure_predictions_table(conn)
            conn.execute(
                f"DELETE FROM {PREDICTIONS_TABLE} WHERE event_time >= ? AND event_time < ?", window
            )
            shadow_scoring.delete_shadow_day(conn, window)
            available = _view_columns(conn)
            if not available:
                return ScoredDay(_empty_scored(feature_columns), _empty_latest())
            check_model_inputs(available, feature_columns)
            scorable, skipped = shadow_scoring.scorable_shadows(shadows, available)
            wanted = [*feature_columns, *FEATURE_COLUMNS, *(c for _, cs, _ in scorable for c in cs)]
            inputs = [c for c in dict.fromkeys(wanted) if c in available]
            label = LABEL_COLUMN if LABEL_COLUMN in available else f"NULL AS {LABEL_COLUMN}"
            first, last, n = _snapshot_day(conn, window, inputs, available)
            if n == 0:
                return ScoredDay(_empty_scored(feature_columns), _empty_latest())
            champion = _Scorer(
                PREDICTIONS_TABLE,
                PREDICTION_TYPES,
                {"model_version": model_version, "predicted_at": predicted_at, "run_id": run_id},
                tuple(feature_columns),
                model,
            )
            rows, event_time, numbers, scores = _score_and_write(
                conn,
                _block_sql(inputs, label),
                (int(first), int(last)),
                int(n),
                inputs,
                [champion, *_shadow_scorers(conn, scorable, predicted_at)],
            )
            scored = _scored_columns(model_version, event_time, numbers, scores[0])
            shadow = {
                number: values for (number, _, _), values in zip(scorable, scores[1:], strict=True)
            }
            return ScoredDay(scored, _latest_rows(conn, scored, rows), shadow, skipped)
    finally:
        conn.execute(f"DROP TABLE IF EXISTS temp.{_DAY}")


def _scored_columns(
    model_version: int,
    event_time: np.ndarray,
    numbers: dict[str, np.ndarray],
    probabilities: np.ndarray,
) -> dict[str, np.ndarray]:
    """The day as monitoring reads it: the champion's outcomes beside the label and inputs."""
    return {
        "event_time": event_time,
        "model_version": np.full(len(probabilities), model_version, dtype=np.int64),
        "predicted_survived": predicted_outcomes(probabilities),
        "survival_probability": probabilities,
        **numbers,  # the label, then the model inputs
    }


@dataclass(frozen=True)
class _Scorer:
    """One model of the day and where its rows go: the champion into ``inference.predictions``,
    each shadow into ``inference.shadow_predictions`` (``constants``: the values its rows
    share; ``columns``: its inputs, in its order)."""

    table: str
    types: dict[str, str]
    constants: dict[str, Any]
    columns: tuple[str, ...]
    model: Any


def _block_sql(inputs: Sequence[str], label: str) -> str:
    """Step 2's read: one block of the snapshot, a row-id range, as keys, label and inputs."""
    columns = ", ".join(f'"{c}"' for c in inputs)
    return (
        f"SELECT rowid AS row, event_time, {label}, {columns} "
        f"FROM {_DAY} WHERE rowid >= ? AND rowid < ?"
    )


def _shadow_scorers(
    conn: duckdb.DuckDBPyConnection,
    scorable: Sequence[tuple[int, Sequence[str], Any]],
    predicted_at: datetime,
) -> list[_Scorer]:
    """The day's shadows (version, inputs, verified model) as scorers into
    ``inference.shadow_predictions``, whose table exists once there is one."""
    if scorable:
        shadow_scoring.ensure_shadow_table(conn)
    return [
        _Scorer(
            SHADOW_PREDICTIONS_TABLE,
            SHADOW_PREDICTION_TYPES,
            shadow_scoring.shadow_constants(number, predicted_at),
            tuple(columns),
            shadow,
        )
        for number, columns, shadow in scorable
    ]


def _snapshot_day(
    conn: duckdb.DuckDBPyConnection,
    window: list[datetime],
    inputs: Sequence[str],
    available: Sequence[str],
) -> tuple[int, int, int]:
    """Step 1: copy the day's certified rows, inside DuckDB, into the temporary snapshot
    (keys, ``inputs`` and the label: what the predictions and monitoring need, nothing more).
    Returns its first and last ``rowid`` and its row count: blocks are row-id ranges (a table
    created inside a transaction numbers its rows from a transaction-local base, not from 0).
    """
    kept = ", ".join(f'"{c}"' for c in (*_KEYS, *inputs, LABEL_COLUMN) if c in available)
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {_DAY} AS SELECT {kept} FROM {FEATURE_VIEW} "
        "WHERE event_time >= ? AND event_time < ?",
        window,
    )
    first, last, n = conn.execute(
        f"SELECT min(rowid), max(rowid), count(*) FROM {_DAY}"
    ).fetchall()[0]
    return first, last, int(n)


def _view_columns(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The certified feature view's columns, in order (none: there is no feature store yet)."""
    schema, name = FEATURE_VIEW.split(".", 1)
    return [
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, name],
        ).fetchall()
    ]


def _score_and_write(
    conn: duckdb.DuckDBPyConnection,
    block_sql: str,
    row_ids: tuple[int, int],
    n: int,
    inputs: Sequence[str],
    scorers: Sequence[_Scorer],
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], list[np.ndarray]]:
    """Read, score and write the snapshot's ``n`` rows (row ids ``row_ids``, both ends
    included) block by block, in row-id order, for every model of the day (the champion first).

    A block's input matrix is built once per input order and every model predicts on it in a
    worker thread (XGBoost releases the GIL) while DuckDB reads the next block and writes the
    one before on the caller's connection, inside the caller's transaction: the two cores work
    at once, and the connection is only ever used from the caller's thread. Returns the row
    ids, event times, label and inputs (float64, NULL as NaN) and each model's probabilities of
    all rows; raises :class:`ScoringError` (the caller rolls back) if the warehouse did not pair
    every score with its row.
    """
    rows = np.empty(n, dtype=np.int64)
    event_time = np.empty(n, dtype="datetime64[us]")
    numbers = {c: np.empty(n, dtype=np.float64) for c in (LABEL_COLUMN, *inputs)}
    scores = [np.empty(n, dtype=np.float64) for _ in scorers]
    pending: deque[tuple[int, int, Future]] = deque()
    read = 0
    written = [0] * len(scorers)

    def write_oldest() -> None:
        lo, hi, future = pending.popleft()
        for i, (scorer, block_scores) in enumerate(zip(scorers, future.result(), strict=True)):
            scores[i][lo:hi] = block_scores
            written[i] += _insert_scores(
                conn, scorer.table, scorer.types, rows[lo:hi], scores[i][lo:hi], scorer.constants
            )

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoring")
    try:
        first, last = row_ids
        for start in range(first, last + 1, _BLOCK_ROWS):
            arrays = conn.execute(block_sql, [start, start + _BLOCK_ROWS]).fetchnumpy()
            lo, hi = read, read + len(arrays["row"])
            if hi > n:
                raise ScoringError(f"the day's snapshot gave more than its {n} rows")
            if hi == lo:
                continue
            read = hi
            rows[lo:hi] = arrays["row"]
            event_time[lo:hi] = arrays["event_time"]
            for column, values in numbers.items():
                values[lo:hi] = _floats(arrays[column])
            matrices: dict[tuple[str, ...], np.ndarray] = {}  # built once per input order
            work = []
            for scorer in scorers:
                key = scorer.columns
                if key not in matrices:
                    block = {c: numbers[c][lo:hi] for c in key}
                    matrices[key] = _matrix(block, key, hi - lo)
                work.append((scorer.model, matrices[key]))
            pending.append((lo, hi, pool.submit(_score_all, work)))
            if len(pending) > 1:  # this block is scored while the one before is written
                write_oldest()
        while pending:
            write_oldest()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if read != n or any(w != n for w in written):
        raise ScoringError(
            f"the warehouse paired {min(written)} of {n} scores with their passengers: "
            "nothing written"
        )
    return rows, event_time, numbers, scores


def _score_all(work: Sequence[tuple[Any, np.ndarray]]) -> list[np.ndarray]:
    """Each model's probabilities on its matrix (one worker-thread task per block)."""
    return [score_matrix(model, matrix) for model, matrix in work]


def _insert_scores(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    types: dict[str, str],
    rows: np.ndarray,
    probabilities: np.ndarray,
    constants: dict[str, Any],
) -> int:
    """One statement: a block of the snapshot's keys beside its scores, paired by position.

    The one write path of scored rows, champion's and shadows' alike: ``table``'s columns
    (``types``, in order) come from the scores frame (``predicted_survived``,
    ``survival_probability``), from ``constants`` (the same for every row), or else from the
    day's snapshot (``passenger_id``, ``event_time``, ...), so ids never leave DuckDB.
    ``rows`` are the block's snapshot row ids, in the order read. Both sides are in snapshot
    order (a single-table scan keeps its order; the scores were computed in the order read);
    ``d.row = s.row`` checks the pairing, so a mismatch writes fewer rows than scored and the
    caller refuses the transaction. Returns the rows written.
    """
    scores = pd.DataFrame(
        {
            "row": rows,
            "predicted_survived": predicted_outcomes(probabilities),
            "survival_probability": probabilities,
        }
    )
    keys = [c for c in types if c not in constants and c not in _SCORE_COLUMNS]
    select, params = [], []
    for column, kind in types.items():
        if column in constants:
            select.append(f"?::{kind}")
            params.append(constants[column])
        else:
            select.append(f"{'s' if column in _SCORE_COLUMNS else 'd'}.{column}")
    conn.register(_SCORES, scores)
    try:
        return int(
            conn.execute(
                f"""INSERT INTO {table} ({", ".join(types)})
                SELECT {", ".join(select)}
                FROM (SELECT rowid AS row, {", ".join(keys)}
                      FROM {_DAY} WHERE rowid >= ? AND rowid <= ?) AS d
                POSITIONAL JOIN {_SCORES} AS s
                WHERE d.row = s.row""",
                [*params, int(rows[0]), int(rows[-1])],
            ).fetchall()[0][0]
        )
    finally:
        with suppress(duckdb.Error):  # an aborted transaction refuses even this
            conn.unregister(_SCORES)


def _latest_rows(
    conn: duckdb.DuckDBPyConnection, scored: dict[str, np.ndarray], rows: np.ndarray
) -> pd.DataFrame:
    """The day's latest predictions (by event time, then passenger id) with their ids.

    Found on the numbers first; only those few rows' ids are read from the snapshot.
    """
    times = scored["event_time"]
    ticks = times.view(np.int64)  # microseconds: NumPy partitions integers much faster
    k = min(LATEST_ROWS, len(ticks))
    threshold = times[np.argpartition(ticks, len(ticks) - k)[len(ticks) - k]]
    candidates = np.flatnonzero(ticks >= threshold.astype(np.int64))  # the latest k, and ties
    ids = conn.execute(
        f"SELECT rowid AS row, passenger_id FROM {_DAY} "
        "WHERE event_time >= ? ORDER BY event_time DESC, passenger_id DESC LIMIT ?",
        [pd.Timestamp(threshold).to_pydatetime(), LATEST_ROWS],
    ).fetchnumpy()
    position = dict(zip(np.asarray(rows)[candidates].tolist(), candidates.tolist(), strict=True))
    picked = np.array([position[int(r)] for r in ids["row"]], dtype=np.int64)
    latest = pd.DataFrame({c: values[picked] for c, values in scored.items()})
    latest.insert(0, "passenger_id", np.asarray(ids["passenger_id"], dtype=object))
    return latest


def _floats(values: Any) -> np.ndarray:
    """A fetched column as float64, SQL NULL as NaN."""
    if isinstance(values, np.ma.MaskedArray):
        return np.ma.filled(values.astype(np.float64), np.nan)
    return np.asarray(values, dtype=np.float64)


def _matrix(numbers: dict[str, np.ndarray], columns: Sequence[str], n: int) -> np.ndarray:
    """The float32 input matrix, columns in the model's order (as ``core.features.model_matrix``)."""
    # Column-major: each column is one contiguous write (a row-major matrix filled column by
    # column is a strided write per value, several times slower); XGBoost reads either layout.
    matrix = np.empty((n, len(columns)), dtype=np.float32, order="F")
    for i, column in enumerate(columns):
        matrix[:, i] = numbers[column]
    return matrix


def _empty_scored(feature_columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {c: pd.Series(dtype="float64") for c in (*SCORED_COLUMNS, *feature_columns)}
    )
    frame["event_time"] = frame["event_time"].astype("datetime64[us]")
    frame[["model_version", "predicted_survived"]] = frame[
        ["model_version", "predicted_survived"]
    ].astype("int64")
    return frame


def _empty_latest() -> pd.DataFrame:
    return pd.DataFrame(columns=["passenger_id", *SCORED_COLUMNS])


# --- the hand-over to monitoring -----------------------------------------------------------


def read_scored_day(conn: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> ScoredDay:
    """A stored day of predictions as :class:`ScoredDay` (numbers out, ids joined in DuckDB)."""
    window = [naive_utc(start), naive_utc(end)]
    if not table_exists(conn, PREDICTIONS_TABLE):
        return ScoredDay(_empty_scored(()), _empty_latest())
    features = table_exists(conn, FEATURE_VIEW)
    available = (
        {row[0] for row in conn.execute(f"DESCRIBE {FEATURE_VIEW}").fetchall()}
        if features
        else set()
    )
    inputs = [c for c in FEATURE_COLUMNS if c in available]
    label = f"f.{LABEL_COLUMN}" if LABEL_COLUMN in available else "NULL"
    joined = f"LEFT JOIN {FEATURE_VIEW} AS f ON f.passenger_id = p.passenger_id" if features else ""
    shadow_joins, shadow_versions = shadow_scoring.shadow_joins(conn, window)
    select = ", ".join(
        [
            "p.passenger_id",
            "p.event_time",
            "p.model_version",
            "p.predicted_survived",
            "p.survival_probability",
            f"{label}::DOUBLE AS {LABEL_COLUMN}",
            *(f'f."{c}"' for c in inputs),
            *(f"s{v}.survival_probability AS _shadow_{v}" for v in shadow_versions),
        ]
    )
    source = (
        f"SELECT {select} FROM {PREDICTIONS_TABLE} AS p {joined} {shadow_joins} "
        "WHERE p.event_time >= ? AND p.event_time < ?"
    )
    scored = conn.execute(f"SELECT * EXCLUDE (passenger_id) FROM ({source})", window).df()
    scored["event_time"] = scored["event_time"].astype("datetime64[us]")
    shadows = {v: scored.pop(f"_shadow_{v}").to_numpy(dtype=np.float64) for v in shadow_versions}
    latest = conn.execute(
        f"SELECT * FROM ({source}) ORDER BY event_time DESC, passenger_id DESC LIMIT ?",
        [*window, LATEST_ROWS],
    ).df()
    latest = latest.drop(columns=[f"_shadow_{v}" for v in shadow_versions])
    return ScoredDay(scored, latest, shadows)

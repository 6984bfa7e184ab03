"""Segments: sex x ticket class, the one rule that splits passengers into six cells.

A model can be fine overall and wrong for third-class women; accuracy per segment shows it.
The cells are ``female/1 ... female/3, male/1 ... male/3`` (:data:`SEGMENTS`), computed from
the feature store's ``is_female`` and ``pclass`` by :func:`segment_codes`: used by monitoring
(``monitoring.segment_performance``), by training (the holdout's segments on the model card)
and by the apps. Plain NumPy/pandas, no Dagster.

:func:`segment_table` gives all six cells every time, an empty cell with ``n_labelled`` 0
and NaN rates, so a day always has its six rows and a missing segment is visible as such.
:func:`segment_reasons` is the warning rule: a cell with at least ``min_labelled`` labelled
passengers whose accuracy falls more than ``margin`` below the overall accuracy of the same
day and version.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

#: The six cells, in code order (code = 3 * (1 - is_female) + pclass - 1).
SEGMENTS: tuple[str, ...] = ("female/1", "female/2", "female/3", "male/1", "male/2", "male/3")
#: The feature-store columns the rule reads.
SEGMENT_INPUTS: tuple[str, ...] = ("is_female", "pclass")

#: Columns of ``monitoring.segment_performance``, in order.
SEGMENT_COLUMNS: tuple[str, ...] = (
    "day",
    "model_version",
    "segment",
    "n_predictions",
    "n_labelled",
    "accuracy",
    "predicted_survival_rate",
    "actual_survival_rate",
)


def segment_codes(is_female: Any, pclass: Any) -> np.ndarray:
    """Each passenger's index in :data:`SEGMENTS` (-1 when sex or class is missing/unknown)."""
    female = np.asarray(is_female, dtype=np.float64).ravel()
    klass = np.asarray(pclass, dtype=np.float64).ravel()
    code = np.where(female == 1, 0, 3) + (klass - 1)
    known = np.isin(klass, (1, 2, 3)) & np.isin(female, (0, 1))
    return np.where(known, code, -1).astype(np.int64)


def segment_names(is_female: Any, pclass: Any) -> np.ndarray:
    """Each passenger's segment name (``""`` when unknown)."""
    names = np.array([*SEGMENTS, ""], dtype=object)
    return names[segment_codes(is_female, pclass)]  # -1 picks the trailing ""


def segment_table(
    is_female: Any, pclass: Any, predicted: Any, survived: Any
) -> list[dict[str, Any]]:
    """Six dicts (one per cell): ``segment``, ``n_predictions``, ``n_labelled``, ``accuracy``,
    ``predicted_survival_rate`` (over all scored), ``actual_survival_rate`` (over labelled).

    ``survived`` NaN = not known yet: such a passenger counts in ``n_predictions`` only.
    """
    code = segment_codes(is_female, pclass)
    p = np.asarray(predicted, dtype=np.float64).ravel()
    y = np.asarray(survived, dtype=np.float64).ravel()
    if not (code.size == p.size == y.size):
        raise ValueError("segment inputs, predictions and labels differ in length")
    keep = code >= 0
    code, p, y = code[keep], p[keep], y[keep]
    labelled = ~np.isnan(y)
    cells = len(SEGMENTS)
    scored = np.bincount(code, minlength=cells)
    predicted_yes = np.bincount(code, weights=p, minlength=cells)
    n_labelled = np.bincount(code[labelled], minlength=cells)
    right = np.bincount(code[labelled], weights=(p[labelled] == y[labelled]), minlength=cells)
    actual_yes = np.bincount(code[labelled], weights=y[labelled], minlength=cells)
    rows = []
    for i, name in enumerate(SEGMENTS):
        n, m = int(scored[i]), int(n_labelled[i])
        rows.append(
            {
                "segment": name,
                "n_predictions": n,
                "n_labelled": m,
                "accuracy": float(right[i] / m) if m else math.nan,
                "predicted_survival_rate": float(predicted_yes[i] / n) if n else math.nan,
                "actual_survival_rate": float(actual_yes[i] / m) if m else math.nan,
            }
        )
    return rows


def segment_performance(scored: pd.DataFrame) -> pd.DataFrame:
    """``monitoring.segment_performance`` rows: six per (day of ``event_time``, model_version).

    ``scored`` needs event_time, model_version, is_female, pclass, predicted_survived and
    survived (NaN = not known yet).
    """
    if scored.empty or not set(SEGMENT_INPUTS) <= set(scored.columns):
        return empty_segments()
    day = pd.to_datetime(scored["event_time"]).dt.floor("D")
    rows = []
    for (d, version), group in scored.groupby([day, scored["model_version"]], sort=True):
        for cell in segment_table(
            group["is_female"], group["pclass"], group["predicted_survived"], group["survived"]
        ):
            rows.append({"day": d, "model_version": int(version), **cell})
    return _typed(pd.DataFrame(rows))


def segment_reasons(
    segments: pd.DataFrame,
    overall: Mapping[tuple[Any, int], float],
    min_labelled: int,
    margin: float,
) -> list[str]:
    """Cells whose accuracy is more than ``margin`` below their day's overall accuracy.

    ``overall``: ``{(day, model_version): accuracy}``. Judged only on cells with at least
    ``min_labelled`` labelled passengers: a handful of passengers swings by tens of points.
    """
    reasons = []
    for row in segments.itertuples(index=False):
        if row.n_labelled < min_labelled or math.isnan(row.accuracy):
            continue
        reference = overall.get((pd.Timestamp(row.day), int(row.model_version)), math.nan)
        if math.isnan(reference) or row.accuracy >= reference - margin:
            continue
        reasons.append(
            f"{pd.Timestamp(row.day):%Y-%m-%d} v{int(row.model_version)} {row.segment}: "
            f"accuracy {row.accuracy:.3f} on {int(row.n_labelled)} labelled is more than "
            f"{margin:.2f} below the day's {reference:.3f}"
        )
    return reasons


def served_segment_reasons(
    performance: pd.DataFrame, cells: pd.DataFrame, min_labelled: int, margin: float
) -> tuple[list[str], pd.DataFrame]:
    """The segment check of a monitored day: the segments of the versions that served it (the
    ``performance`` rows: champion rows only), each against its version's accuracy that day.

    Returns :func:`segment_reasons` and the segments judged (those with ``min_labelled``).
    """
    overall = {
        (pd.Timestamp(r["day"]), int(r["model_version"])): float(r["accuracy"])
        for r in performance.to_dict("records")
    }
    served = cells[cells["model_version"].isin([version for _, version in overall])]
    judged = served[served["n_labelled"] >= min_labelled]
    return segment_reasons(served, overall, min_labelled, margin), judged


def empty_segments() -> pd.DataFrame:
    """A typed zero-row segment frame."""
    return _typed(pd.DataFrame({c: pd.Series(dtype=object) for c in SEGMENT_COLUMNS}))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["day"] = pd.to_datetime(out["day"]).astype("datetime64[us]")
    for column in ("model_version", "n_predictions", "n_labelled"):
        out[column] = pd.to_numeric(out[column]).astype("int64")
    for column in ("accuracy", "predicted_survival_rate", "actual_survival_rate"):
        out[column] = pd.to_numeric(out[column]).astype("float64")
    out["segment"] = out["segment"].astype("string")
    return out[list(SEGMENT_COLUMNS)].reset_index(drop=True)

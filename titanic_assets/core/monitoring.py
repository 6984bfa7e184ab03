"""Monitoring figures for batch predictions: performance as labels arrive, drift against training.

Plain pandas, no Dagster import, so the same verdict drives the asset checks (a WARN in the
UI) and the retraining sensor (a run request): one definition of "the model needs attention".

* :func:`performance_by_day` — per (day, model_version): counts, accuracy, precision, recall,
  F1, Brier score, ECE and the reliability table as JSON (:mod:`titanic_assets.core.calibration`,
  when the survival probability is given), the confusion counts and predicted vs actual survival rate. Unlabelled predictions count
  in ``n_predictions`` but not in the metrics, so a partially labelled day is still honest. The
  metrics are :func:`titanic_assets.core.metrics.classification_counts`, the same as training's.
* :func:`drift_summary` — PSI per feature of the scored passengers against the model version's
  own training profile (:func:`titanic_assets.core.drift.feature_profile`), the largest PSI and
  the shift of the survival rate from the training rate.
* :class:`Thresholds` and :func:`verdict` — when to warn and when to retrain.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from titanic_assets.core.calibration import (
    brier_score,
    calibration,
    expected_calibration_error,
)
from titanic_assets.core.drift import drift_report
from titanic_assets.core.metrics import classification_counts

#: Columns of ``monitoring.model_performance``, in order.
PERFORMANCE_COLUMNS: tuple[str, ...] = (
    "day",
    "model_version",
    "n_predictions",
    "n_labelled",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "brier",
    "ece",
    "tn",
    "fp",
    "fn",
    "tp",
    "predicted_survival_rate",
    "actual_survival_rate",
    "training_survival_rate",
    "survival_rate_shift",
    "max_psi",
    "max_psi_feature",
    "psi_by_feature",
    "reliability",
)

_FLOAT_COLUMNS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "brier",
    "ece",
    "predicted_survival_rate",
    "actual_survival_rate",
    "training_survival_rate",
    "survival_rate_shift",
    "max_psi",
)
_INT_COLUMNS = ("model_version", "n_predictions", "n_labelled", "tn", "fp", "fn", "tp")


@dataclass(frozen=True)
class Thresholds:
    """When monitoring calls for attention.

    ``accuracy_floor`` only applies once ``min_labelled`` predictions have labels: on a handful
    of passengers accuracy swings by tens of points and would raise false alarms. ``psi_ceiling``
    is the usual "major shift" line for PSI (0.25); it applies once ``min_scored_for_drift``
    passengers were scored, because PSI over ten bins has a sampling floor of roughly
    bins / n (about 0.5 for a 20-passenger hour, 0.05 for 200), so tiny days would read as drift.
    No defaults here: the values (and their defaults) come from the environment through
    :func:`titanic_assets.settings.load`, which the adapters call, so one table documents them.
    """

    accuracy_floor: float
    min_labelled: int
    psi_ceiling: float
    min_scored_for_drift: int


@dataclass(frozen=True)
class ModelThresholds:
    """When calibration or a segment calls for attention (WARN checks; no retraining).

    ``ece_ceiling`` applies once ``min_labelled`` predictions have labels (ECE over ten bins
    of a handful of passengers is mostly noise); a segment is judged once it has
    ``segment_min_labelled`` labelled passengers and warns when its accuracy is more than
    ``segment_margin`` below the day's overall accuracy. Values from :mod:`titanic_assets.settings`.
    """

    ece_ceiling: float
    min_labelled: int
    segment_min_labelled: int
    segment_margin: float


def calibration_reasons(row: Mapping[str, Any], t: ModelThresholds) -> list[str]:
    """An ECE above the ceiling, judged only with at least ``t.min_labelled`` labels."""
    n = _number(row.get("n_labelled"))
    ece = _number(row.get("ece"))
    if math.isnan(n) or n < t.min_labelled or math.isnan(ece) or ece <= t.ece_ceiling:
        return []
    return [
        f"v{int(row['model_version'])}: ECE {ece:.3f} above ceiling {t.ece_ceiling:.2f} "
        f"on {int(n)} labelled predictions"
    ]


def performance_by_day(predictions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Per (day of ``event_time``, model_version) performance of predictions against labels.

    ``predictions`` needs passenger_id, event_time, model_version, predicted_survived;
    ``labels`` needs passenger_id and survived (NaN/absent = not known yet). Drift columns are
    left NaN here; :func:`with_drift` fills them.
    """
    if predictions.empty:
        return empty_performance()
    # A label carried on the predictions themselves is ignored: ``labels`` is the one source.
    # Only the columns used below go into the join (not the text keys a prediction row carries).
    used = ["passenger_id", "event_time", "model_version", "predicted_survived"]
    used += [c for c in ("survival_probability",) if c in predictions.columns]
    if same_passengers(predictions, labels):  # the rows just scored: no join needed
        frame = predictions[used].assign(survived=labels["survived"].to_numpy())
    else:
        known = labels[["passenger_id", "survived"]].dropna(subset=["survived"])
        frame = predictions[used].merge(known, on="passenger_id", how="left")
    return _performance(frame)


def _performance(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (day, model_version) figures of aligned rows: event_time, model_version,
    predicted_survived and survived (NaN = not known yet); with survival_probability, the
    Brier score and ECE of the labelled rows too (else NaN)."""
    used = ["event_time", "model_version", "predicted_survived", "survived"]
    used += [c for c in ("survival_probability",) if c in frame.columns]
    frame = frame[used].assign(day=pd.to_datetime(frame["event_time"]).dt.floor("D"))
    rows = []
    for (day, version), group in frame.groupby(["day", "model_version"], sort=True):
        labelled = group.dropna(subset=["survived"])
        row: dict[str, Any] = {"day": day, "model_version": int(version)}
        row["n_predictions"] = len(group)
        counts = classification_counts(labelled["survived"], labelled["predicted_survived"])
        row["n_labelled"] = counts.pop("n")
        row.update(counts)
        if "survival_probability" in labelled.columns:
            y, p = labelled["survived"], labelled["survival_probability"]
            row["brier"] = brier_score(y, p)
            row["ece"] = expected_calibration_error(y, p)
            row["reliability"] = json.dumps(calibration(y, p)["reliability"])
        row["predicted_survival_rate"] = float(group["predicted_survived"].mean())
        row["actual_survival_rate"] = (
            float(labelled["survived"].mean()) if len(labelled) else math.nan
        )
        rows.append(row)
    return _typed(pd.DataFrame(rows))


def same_passengers(predictions: pd.DataFrame, features: pd.DataFrame) -> bool:
    """True when both frames hold the same passengers in the same order.

    That is the usual case (monitoring the rows a run has just scored, handed over as read), and
    then row i of one is row i of the other: comparing the ids costs a fraction of a join on a
    million text keys (hashing them all for ``isin`` and ``merge`` took over a second).
    """
    return len(predictions) == len(features) and bool(
        np.array_equal(
            predictions["passenger_id"].to_numpy(dtype=object),
            features["passenger_id"].to_numpy(dtype=object),
        )
    )


def monitor_day(
    predictions: pd.DataFrame,
    features: pd.DataFrame,
    profiles: Mapping[int, Mapping[str, Any]],
) -> pd.DataFrame:
    """The ``monitoring.model_performance`` rows of one day: performance and drift.

    ``features`` are the day's feature-store rows (labels and model inputs); drift is measured
    on those that were scored, against each scoring version's training profile
    (``profiles``: ``{model_version: training_profile}``; a version without one gets no drift).
    One rule for the monitoring asset and the plain benchmark.
    """
    if same_passengers(predictions, features):
        scored = features
    else:
        was_scored = features["passenger_id"].isin(predictions["passenger_id"])
        scored = features if was_scored.all() else features[was_scored]
    performance = performance_by_day(predictions, features)
    drift = {version: drift_summary(profile, scored) for version, profile in profiles.items()}
    return with_drift(performance, drift)


def monitor_scored(scored: pd.DataFrame, profiles: Mapping[int, Mapping[str, Any]]) -> pd.DataFrame:
    """The ``monitoring.model_performance`` rows of one day from its scored rows themselves.

    ``scored`` holds one row per prediction: ``event_time``, ``model_version``,
    ``predicted_survived``, the label ``survived`` (NaN = not known yet) and the model inputs,
    as batch scoring hands them over (the rows it has just scored, numbers only) or as the
    warehouse joins predictions with their features. Same figures as :func:`monitor_day`.
    """
    if scored.empty:
        return empty_performance()
    performance = _performance(scored)
    drift = {version: drift_summary(profile, scored) for version, profile in profiles.items()}
    return with_drift(performance, drift)


def drift_summary(profile: Mapping[str, Any], features: pd.DataFrame) -> dict[str, Any]:
    """PSI of ``features`` against a training profile, plus the survival-rate shift.

    ``survival_rate_shift`` is the observed survival rate minus the training rate (NaN when
    either is unknown): a change in who survives, which PSI on inputs cannot see.
    """
    psi = drift_report(dict(profile), features) if len(features) else {}
    worst = max(psi, key=psi.get) if psi else None
    training_rate = profile.get("survival_rate")
    actual_rate = (
        float(features["survived"].dropna().mean())
        if "survived" in features.columns and features["survived"].notna().any()
        else math.nan
    )
    training = float(training_rate) if training_rate is not None else math.nan
    return {
        "psi_by_feature": {k: round(float(v), 6) for k, v in psi.items()},
        "max_psi": float(psi[worst]) if worst else math.nan,
        "max_psi_feature": worst,
        "training_survival_rate": training,
        "survival_rate_shift": actual_rate - training,
    }


def with_drift(performance: pd.DataFrame, drift: Mapping[int, Mapping[str, Any]]) -> pd.DataFrame:
    """Fill the drift columns of ``performance`` from ``{model_version: drift_summary(...)}``."""
    out = performance.copy()
    for idx, row in out.iterrows():
        summary = drift.get(int(row["model_version"]))
        if not summary:
            continue
        out.at[idx, "max_psi"] = summary["max_psi"]
        out.at[idx, "max_psi_feature"] = summary["max_psi_feature"]
        out.at[idx, "psi_by_feature"] = json.dumps(summary["psi_by_feature"], sort_keys=True)
        out.at[idx, "training_survival_rate"] = summary["training_survival_rate"]
        out.at[idx, "survival_rate_shift"] = summary["survival_rate_shift"]
    return _typed(out)


def verdict(row: Mapping[str, Any], thresholds: Thresholds) -> list[str]:
    """Reasons a monitoring row calls for attention (empty list = healthy).

    Used by the WARN asset checks and by the retraining sensor, so "drift" means the same in
    the UI and in the decision to retrain.
    """
    return accuracy_reasons(row, thresholds) + drift_reasons(row, thresholds)


def accuracy_reasons(row: Mapping[str, Any], t: Thresholds) -> list[str]:
    """An accuracy drop, judged only with at least ``t.min_labelled`` labels."""
    n = _number(row.get("n_labelled"))
    accuracy = _number(row.get("accuracy"))
    if math.isnan(n) or n < t.min_labelled or math.isnan(accuracy):
        return []
    if accuracy < t.accuracy_floor:
        return [
            f"accuracy {accuracy:.3f} below floor {t.accuracy_floor:.2f} "
            f"on {int(n)} labelled predictions"
        ]
    return []


def drift_reasons(row: Mapping[str, Any], t: Thresholds) -> list[str]:
    """Feature drift: the largest PSI above the ceiling, on enough scored passengers."""
    max_psi = _number(row.get("max_psi"))
    n = _number(row.get("n_predictions"))
    if math.isnan(max_psi) or max_psi <= t.psi_ceiling:
        return []
    if math.isnan(n) or n < t.min_scored_for_drift:
        return []
    feature = row.get("max_psi_feature") or "?"
    return [f"feature drift: PSI {max_psi:.3f} on {feature} above ceiling {t.psi_ceiling:.2f}"]


def empty_performance() -> pd.DataFrame:
    """A typed zero-row performance frame (an empty day still has the table's columns)."""
    return _typed(pd.DataFrame({c: pd.Series(dtype=object) for c in PERFORMANCE_COLUMNS}))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in PERFORMANCE_COLUMNS:
        if column not in out.columns:
            out[column] = None
    out["day"] = pd.to_datetime(out["day"]).astype("datetime64[us]")
    for column in _INT_COLUMNS:
        out[column] = pd.to_numeric(out[column]).astype("int64")
    for column in _FLOAT_COLUMNS:
        out[column] = pd.to_numeric(out[column]).astype("float64")
    for column in ("max_psi_feature", "psi_by_feature", "reliability"):
        # "string", not object: an empty object column becomes DuckDB type NULL on first write.
        out[column] = out[column].astype("string")
    return out[list(PERFORMANCE_COLUMNS)].reset_index(drop=True)


def _number(value: Any) -> float:
    try:
        return math.nan if value is None else float(value)
    except (TypeError, ValueError):
        return math.nan


def main_rows(performance: pd.DataFrame) -> pd.DataFrame:
    """One row per day, oldest first: the model version that scored most of that day.

    A day scored by two champions (a promotion mid-day, a re-score) has a row per version; the
    headline figures, the drift trend and the rolling chart follow the main one.
    """
    return (
        performance.sort_values(["day", "n_predictions"], kind="stable")
        .groupby("day")
        .tail(1)  # the whole row (``last()`` would mix columns of several rows around NULLs)
        .sort_values("day")
        .reset_index(drop=True)
    )


def confusion_totals(performance: pd.DataFrame) -> dict[str, float]:
    """The confusion matrix over every row of ``performance`` (tn, fp, fn, tp, n, accuracy).

    Summing the per-day counts is all labelled history's matrix: each day holds its latest
    scoring (a re-run replaces the day), so the sum is every scored passenger's latest
    prediction against its label. Accuracy is NaN when nothing is labelled.
    """
    counts = {k: int(performance[k].sum()) for k in ("tn", "fp", "fn", "tp")}
    n = sum(counts.values())
    return {
        **counts,
        "n": n,
        "accuracy": (counts["tn"] + counts["tp"]) / n if n else math.nan,
    }


def psi_by_feature(raw: Any) -> dict[str, float]:
    """A row's ``psi_by_feature`` (JSON text, or NULL for a day without drift figures) as
    ``{feature: PSI}``, features without a figure left out."""
    if raw is None or raw is pd.NA or (isinstance(raw, float) and math.isnan(raw)) or not raw:
        return {}
    return {str(k): float(v) for k, v in json.loads(raw).items() if v is not None}

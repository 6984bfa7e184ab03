"""Champion vs shadow challengers on the same labelled passengers, per day (no Dagster here).

The figures of ``monitoring.shadow_comparison``: for each day and shadow version, both
models' accuracy, F1, Brier score and ECE on the passengers both scored and whose outcome is
known, and the paired difference (shadow minus champion) with its standard error and 95%
interval (:func:`titanic_assets.core.calibration.paired_difference`). Also the shadow's own
scored rows in the shape monitoring's segment table takes (:func:`shadow_scored`), so segments
are shown for the shadows too. The live promotion rule that reads these rows is
:func:`titanic_assets.core.promotion.decide_live`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from titanic_assets.core.calibration import (
    brier_score,
    expected_calibration_error,
    paired_difference,
)
from titanic_assets.core.metrics import classification_counts
from titanic_assets.core.predict import predicted_outcomes

#: Columns of ``monitoring.shadow_comparison``, in order.
COMPARISON_COLUMNS: tuple[str, ...] = (
    "day",
    "champion_version",
    "shadow_version",
    "n_labelled",
    "champion_accuracy",
    "shadow_accuracy",
    "champion_f1",
    "shadow_f1",
    "champion_brier",
    "shadow_brier",
    "champion_ece",
    "shadow_ece",
    "accuracy_difference",
    "accuracy_se",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "brier_difference",
    "brier_se",
    "wins",
    "losses",
)
_INT_COLUMNS = ("champion_version", "shadow_version", "n_labelled", "wins", "losses")


def shadow_comparison(scored: pd.DataFrame, shadows: Mapping[int, Any]) -> pd.DataFrame:
    """One row per (day of ``event_time``, shadow version) of the champion's scored rows.

    ``scored`` has event_time, model_version (the champion's), survival_probability and
    survived (NaN = not known yet); ``shadows`` maps each shadow version to its probabilities
    aligned with ``scored`` (NaN where it did not score a passenger). Only rows labelled AND
    scored by both count, so both models are judged on exactly the same passengers.
    """
    if scored.empty or not shadows:
        return empty_comparison()
    day = pd.to_datetime(scored["event_time"]).dt.floor("D").to_numpy()
    y = scored["survived"].to_numpy(dtype=np.float64)
    champion_p = scored["survival_probability"].to_numpy(dtype=np.float64)
    champion_v = scored["model_version"].to_numpy(dtype=np.int64)
    rows = []
    for version, probabilities in sorted(shadows.items()):
        shadow_p = np.asarray(probabilities, dtype=np.float64)
        usable = ~np.isnan(y) & ~np.isnan(shadow_p)
        for d in np.unique(day):
            mask = usable & (day == d)
            for champion in np.unique(champion_v[mask]) if mask.any() else []:
                rows.append(
                    _row(
                        d,
                        int(champion),
                        int(version),
                        y,
                        champion_p,
                        shadow_p,
                        mask & (champion_v == champion),
                    )
                )
    return _typed(pd.DataFrame(rows)) if rows else empty_comparison()


def _row(day, champion, version, y, champion_p, shadow_p, mask) -> dict[str, Any]:
    labels, mine, theirs = y[mask], shadow_p[mask], champion_p[mask]
    ours = classification_counts(labels, predicted_outcomes(mine))
    base = classification_counts(labels, predicted_outcomes(theirs))
    diff = paired_difference(labels, theirs, mine)
    return {
        "day": day,
        "champion_version": champion,
        "shadow_version": version,
        "n_labelled": int(mask.sum()),
        "champion_accuracy": base["accuracy"],
        "shadow_accuracy": ours["accuracy"],
        "champion_f1": base["f1"],
        "shadow_f1": ours["f1"],
        "champion_brier": brier_score(labels, theirs),
        "shadow_brier": brier_score(labels, mine),
        "champion_ece": expected_calibration_error(labels, theirs),
        "shadow_ece": expected_calibration_error(labels, mine),
        "accuracy_difference": diff.accuracy_difference,
        "accuracy_se": diff.accuracy_se,
        "accuracy_ci_low": diff.accuracy_ci_low,
        "accuracy_ci_high": diff.accuracy_ci_high,
        "brier_difference": diff.brier_difference,
        "brier_se": diff.brier_se,
        "wins": diff.wins,
        "losses": diff.losses,
    }


def shadow_scored(scored: pd.DataFrame, version: int, probabilities: Any) -> pd.DataFrame:
    """The champion's scored rows as the shadow ``version`` scored them (rows it did not
    score dropped): the frame monitoring's per-version figures (segments) take."""
    p = np.asarray(probabilities, dtype=np.float64)
    keep = ~np.isnan(p)
    out = scored.loc[keep].copy()
    out["model_version"] = int(version)
    out["survival_probability"] = p[keep]
    out["predicted_survived"] = predicted_outcomes(p[keep])
    return out


def empty_comparison() -> pd.DataFrame:
    """A typed zero-row comparison frame."""
    return _typed(pd.DataFrame({c: pd.Series(dtype=object) for c in COMPARISON_COLUMNS}))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["day"] = pd.to_datetime(out["day"]).astype("datetime64[us]")
    for column in COMPARISON_COLUMNS[1:]:
        kind = "int64" if column in _INT_COLUMNS else "float64"
        out[column] = pd.to_numeric(out[column]).astype(kind)
    return out[list(COMPARISON_COLUMNS)].reset_index(drop=True)


def comparison_md(comparison: pd.DataFrame) -> str:
    """The day's champion-vs-shadow table, for Dagster metadata and the model card."""
    if comparison.empty:
        return "_no shadow challenger scored labelled passengers_"
    lines = [
        "| day | champion | shadow | labelled | accuracy (champion / shadow) | "
        "difference [95% CI] | Brier (champion / shadow) | ECE (champion / shadow) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in comparison.itertuples(index=False):
        lines.append(
            f"| {pd.Timestamp(r.day):%Y-%m-%d} | v{r.champion_version} | v{r.shadow_version} "
            f"| {r.n_labelled} | {_f(r.champion_accuracy)} / {_f(r.shadow_accuracy)} "
            f"| {_signed(r.accuracy_difference)} [{_signed(r.accuracy_ci_low)}, "
            f"{_signed(r.accuracy_ci_high)}] | {_f(r.champion_brier)} / {_f(r.shadow_brier)} "
            f"| {_f(r.champion_ece)} / {_f(r.shadow_ece)} |"
        )
    return "\n".join(lines)


def _f(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def _signed(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:+.3f}"

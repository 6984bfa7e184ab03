"""Does "31%" mean 31%? Brier score, expected calibration error and the reliability table.

One definition for the holdout (training), the live days (monitoring), the model card and the
apps, so a figure means the same wherever it is shown. Plain NumPy, no Dagster.

* **Brier score** — the mean squared difference between the survival probability and the
  outcome (0/1): 0 is perfect, 0.25 is what always saying 50% scores.
* **Expected calibration error (ECE)** — the probabilities are put in :data:`ECE_BINS` fixed,
  equal-width bins on [0, 1] (``[0, 0.1), [0.1, 0.2), ..., [0.9, 1.0]``: the last bin holds
  1.0); ECE is the average, weighted by the bins' counts, of ``|mean predicted - observed
  survival rate|`` in each bin. Fixed bins, not equal-count ones: a day's figure is comparable
  with the next day's and with the holdout's. Empty bins weigh nothing.
* **Reliability table** — per bin: its edges, count, mean predicted probability and observed
  survival rate; the data of the reliability diagram.
* :func:`paired_difference` — two models on the same labelled passengers: the difference in
  accuracy and Brier score with the standard error of the paired difference and a 95%
  interval, plus the discordant counts (McNemar's test in :mod:`titanic_assets.core.promotion`).

Undefined figures (no labelled passenger) are NaN, as in :mod:`titanic_assets.core.metrics`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Equal-width bins of the expected calibration error and the reliability diagram.
ECE_BINS = 10
#: The two-sided 95% normal quantile of the paired-difference interval.
Z_95 = 1.959964


def _arrays(y_true: Any, y_prob: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_prob, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} values but y_prob has {p.size}")
    if p.size and (np.nanmin(p) < 0.0 or np.nanmax(p) > 1.0):
        raise ValueError("probabilities must lie in [0, 1]")
    return y, p


def brier_score(y_true: Any, y_prob: Any) -> float:
    """Mean of ``(probability - outcome)**2``; NaN without rows."""
    y, p = _arrays(y_true, y_prob)
    return float(np.mean((p - y) ** 2)) if y.size else math.nan


def bin_index(y_prob: Any, bins: int = ECE_BINS) -> np.ndarray:
    """The bin of each probability: ``floor(p * bins)``, 1.0 in the last bin."""
    p = np.asarray(y_prob, dtype=np.float64).ravel()
    return np.minimum((p * bins).astype(np.int64), bins - 1)


def reliability_table(y_true: Any, y_prob: Any, bins: int = ECE_BINS) -> list[dict[str, Any]]:
    """One dict per bin: ``lower``, ``upper``, ``n``, ``mean_predicted``, ``observed_rate``
    (the last two NaN in an empty bin)."""
    y, p = _arrays(y_true, y_prob)
    index = bin_index(p, bins)
    counts = np.bincount(index, minlength=bins)
    predicted = np.bincount(index, weights=p, minlength=bins)
    observed = np.bincount(index, weights=y, minlength=bins)
    table = []
    for b in range(bins):
        n = int(counts[b])
        table.append(
            {
                "lower": b / bins,
                "upper": (b + 1) / bins,
                "n": n,
                "mean_predicted": float(predicted[b] / n) if n else math.nan,
                "observed_rate": float(observed[b] / n) if n else math.nan,
            }
        )
    return table


def expected_calibration_error(y_true: Any, y_prob: Any, bins: int = ECE_BINS) -> float:
    """Count-weighted mean of ``|mean predicted - observed rate|`` over the fixed bins."""
    y, p = _arrays(y_true, y_prob)
    if not y.size:
        return math.nan
    index = bin_index(p, bins)
    gap = np.bincount(index, weights=p - y, minlength=bins)  # n_b * (mean p - mean y)
    return float(np.sum(np.abs(gap)) / y.size)


def calibration(y_true: Any, y_prob: Any, bins: int = ECE_BINS) -> dict[str, Any]:
    """``brier``, ``ece`` and the ``reliability`` table of labelled rows, JSON-safe (None for
    undefined), for registry metrics and Dagster metadata."""
    return {
        "brier": _json_number(brier_score(y_true, y_prob)),
        "ece": _json_number(expected_calibration_error(y_true, y_prob, bins)),
        "ece_bins": bins,
        "reliability": [
            {k: _json_number(v) for k, v in row.items()}
            for row in reliability_table(y_true, y_prob, bins)
        ],
    }


@dataclass(frozen=True)
class PairedDifference:
    """Challenger minus reference on the same labelled rows (positive: the challenger is
    more accurate / has the larger Brier score, i.e. is worse calibrated)."""

    n: int
    accuracy_difference: float
    accuracy_se: float
    accuracy_ci_low: float
    accuracy_ci_high: float
    brier_difference: float
    brier_se: float
    wins: int
    losses: int

    def as_dict(self) -> dict[str, Any]:
        return {k: _json_number(v) for k, v in asdict(self).items()}


def paired_difference(
    y_true: Any, reference_prob: Any, challenger_prob: Any, threshold: float = 0.5
) -> PairedDifference:
    """The per-passenger differences' mean and standard error (sample standard deviation
    over ``sqrt(n)``), for accuracy (right or not at ``threshold``) and the squared error.

    Paired because both models scored the same passengers: the spread of the per-passenger
    difference is far smaller than that of two independent accuracies, so the interval is
    honest about what one day can tell. ``wins``: rows only the challenger gets right.
    """
    y, reference = _arrays(y_true, reference_prob)
    _, challenger = _arrays(y_true, challenger_prob)
    n = int(y.size)
    if n == 0:
        nan = math.nan
        return PairedDifference(0, nan, nan, nan, nan, nan, nan, 0, 0)
    right_ref = (reference >= threshold) == (y == 1)
    right_new = (challenger >= threshold) == (y == 1)
    correct = right_new.astype(np.float64) - right_ref.astype(np.float64)
    squared = (challenger - y) ** 2 - (reference - y) ** 2
    accuracy, accuracy_se = _mean_se(correct)
    brier, brier_se = _mean_se(squared)
    return PairedDifference(
        n=n,
        accuracy_difference=accuracy,
        accuracy_se=accuracy_se,
        accuracy_ci_low=accuracy - Z_95 * accuracy_se,
        accuracy_ci_high=accuracy + Z_95 * accuracy_se,
        brier_difference=brier,
        brier_se=brier_se,
        wins=int(np.sum(right_new & ~right_ref)),
        losses=int(np.sum(right_ref & ~right_new)),
    )


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard error (NaN with one value: no spread to estimate)."""
    n = values.size
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan
    return mean, float(values.std(ddof=1) / math.sqrt(n))


def _json_number(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value

"""Classification metrics as plain JSON-safe numbers (no Dagster here).

Used by training (holdout evaluation, champion vs challenger) and by monitoring, so "accuracy"
means the same thing everywhere. Every value is a built-in ``int``/``float`` (or ``None``), so
the dict can go straight into registry JSON and Dagster metadata.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Probabilities are clipped before log loss so a confident miss costs a finite amount.
_EPS = 1e-15


def classification_metrics(
    y_true: Any, y_prob: Any, threshold: float = 0.5
) -> dict[str, float | int | None]:
    """Accuracy, precision, recall, F1, ROC AUC, log loss and the confusion counts.

    ROC AUC is ``None`` when ``y_true`` holds a single class (it is undefined, not 0.5);
    precision/recall/F1 are 0.0 when their denominator is empty (sklearn's zero_division=0).
    An empty input gives n=0 and ``None`` for every rate.
    """
    y = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_prob, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} values but y_prob has {p.size}")
    n = int(y.size)
    if n == 0:
        return {
            "n": 0, "tn": 0, "fp": 0, "fn": 0, "tp": 0,
            "accuracy": None, "precision": None, "recall": None, "f1": None,
            "roc_auc": None, "log_loss": None,
        }  # fmt: skip
    pred = (p >= threshold).astype(np.int64)
    tp = int(np.sum((pred == 1) & (y == 1)))
    tn = int(np.sum((pred == 0) & (y == 0)))
    fp = int(np.sum((pred == 1) & (y == 0)))
    fn = int(np.sum((pred == 0) & (y == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    clipped = np.clip(p, _EPS, 1 - _EPS)
    log_loss = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
    return {
        "n": n,
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
        "accuracy": float((tp + tn) / n),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": _roc_auc(y, p),
        "log_loss": log_loss,
    }


def _roc_auc(y: np.ndarray, p: np.ndarray) -> float | None:
    if len(np.unique(y)) < 2:
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))

"""Classification metrics, one implementation for training, monitoring and the benchmark.

Why one: "accuracy" (and precision, recall, F1) must mean the same in the registry, in the
monitoring table and in the benchmark; two hand-written versions used to disagree on the one
case that matters for a daily monitor, a one-class or empty day (0.0 in one, NaN in the other).

The figures come from scikit-learn (``confusion_matrix``, ``precision_recall_fscore_support``,
``roc_auc_score``, ``log_loss``) with ONE rule for undefined values: a ratio whose denominator is
empty (precision with no predicted survivor, recall with no actual one, any rate of an empty
set, ROC AUC of a single class) is *undefined*, not 0 — NaN in :func:`classification_counts`
(a DataFrame column: "no data"), ``None`` in :func:`classification_metrics` (JSON for the
registry and Dagster metadata). A misleading 0.0 would read as "the model is useless".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: The labels in confusion-matrix order: (tn, fp, fn, tp) whatever classes a batch holds.
_LABELS = [0, 1]


def classification_counts(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """Confusion counts and accuracy/precision/recall/F1 of 0/1 predictions; NaN if undefined.

    ``n`` is the number of labelled predictions judged. Counts are plain ``int``, rates
    ``float`` (NaN when undefined, see the module docstring).
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} values but y_pred has {p.size}")
    n = int(y.size)
    if n == 0:
        nan = math.nan
        return {"n": 0, "tn": 0, "fp": 0, "fn": 0, "tp": 0,
                "accuracy": nan, "precision": nan, "recall": nan, "f1": nan}  # fmt: skip
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, p, labels=_LABELS).ravel())
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, p, labels=_LABELS, pos_label=1, average="binary", zero_division=np.nan
    )
    return {
        "n": n,
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
        "accuracy": (tp + tn) / n,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
    }


def classification_metrics(
    y_true: Any, y_prob: Any, threshold: float = 0.5
) -> dict[str, float | int | None]:
    """:func:`classification_counts` at ``threshold``, plus ROC AUC and log loss, JSON-safe.

    Every value is a built-in ``int``/``float`` or ``None`` (undefined), so the dict goes
    straight into registry JSON and Dagster metadata.
    """
    y = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_prob, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} values but y_prob has {p.size}")
    counts = classification_counts(y, (p >= threshold).astype(np.int64))
    metrics: dict[str, float | int | None] = {
        key: (None if isinstance(value, float) and math.isnan(value) else value)
        for key, value in counts.items()
    }
    defined = y.size > 0 and len(np.unique(y)) == 2
    metrics["roc_auc"] = _roc_auc(y, p) if defined else None
    metrics["log_loss"] = _log_loss(y, p) if y.size else None
    return metrics


def _roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import log_loss

    # labels: a one-class batch still has a defined loss (sklearn would refuse to guess).
    return float(log_loss(y, p, labels=_LABELS))

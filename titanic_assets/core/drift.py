"""Feature drift against the training data, by Population Stability Index (PSI).

The champion's training data is summarised once, at training time, into a small JSON-able
profile (bin edges and proportions per feature, survival rate) stored with the model version.
Monitoring compares a day's scored passengers against that profile, so drift is measured
against what THIS model learned from, and without re-reading the training set.

PSI reading (the usual rule of thumb): < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

N_BINS = 10
#: Proportions are floored so an empty bin does not make PSI infinite.
EPSILON = 1e-4


def feature_profile(features: pd.DataFrame, columns: Iterable[str]) -> dict[str, Any]:
    """Summarise training features: per column, bins (edges or categories) and proportions."""
    profile: dict[str, Any] = {"rows": len(features), "columns": {}}
    for column in columns:
        values = features[column]
        distinct = values.dropna().unique()
        if len(distinct) <= N_BINS:
            categories = sorted(float(v) for v in distinct)
            profile["columns"][column] = {
                "kind": "categorical",
                "categories": categories,
                "proportions": _categorical_proportions(values, categories),
            }
        else:
            quantiles = np.nanquantile(values.to_numpy(dtype=float), np.linspace(0, 1, N_BINS + 1))
            edges = sorted({float(q) for q in quantiles[1:-1]})
            profile["columns"][column] = {
                "kind": "numeric",
                "edges": edges,
                "proportions": _binned_proportions(values, edges),
            }
    if "survived" in features.columns and len(features):
        profile["survival_rate"] = float(features["survived"].mean())
    return profile


def psi(expected: list[float], actual: list[float]) -> float:
    """Population Stability Index between two proportion vectors over the same bins."""
    e = np.clip(np.asarray(expected, dtype=float), EPSILON, None)
    a = np.clip(np.asarray(actual, dtype=float), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def drift_report(profile: dict[str, Any], features: pd.DataFrame) -> dict[str, float]:
    """PSI per profiled feature of ``features`` against the training ``profile``."""
    report: dict[str, float] = {}
    for column, spec in profile["columns"].items():
        if column not in features.columns or features.empty:
            continue
        if spec["kind"] == "categorical":
            actual = _categorical_proportions(features[column], spec["categories"])
        else:
            actual = _binned_proportions(features[column], spec["edges"])
        report[column] = psi(spec["proportions"], actual)
    return report


def _categorical_proportions(values: pd.Series, categories: list[float]) -> list[float]:
    """Proportions over the categories plus a trailing bin for missing or unseen values."""
    n = len(values)
    if n == 0:
        return [0.0] * (len(categories) + 1)
    counts = values.value_counts(dropna=True)
    known = [float(counts.get(c, 0)) for c in categories]
    other = n - sum(known)
    return [k / n for k in known] + [other / n]


def _binned_proportions(values: pd.Series, edges: list[float]) -> list[float]:
    """Proportions over bins split at ``edges`` plus a trailing bin for missing values."""
    array = values.to_numpy(dtype=float)
    n = len(array)
    if n == 0:
        return [0.0] * (len(edges) + 2)
    present = array[~np.isnan(array)]
    bins = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
    return [float(b) / n for b in bins] + [float(n - len(present)) / n]

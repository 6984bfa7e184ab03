"""Why the model said what it said: per-feature contributions from XGBoost itself.

XGBoost computes exact SHAP-style contributions of each input to one prediction's margin
(``pred_contribs=True``): the contributions plus the bias add up to the log-odds the model
output, so the explanation is the model's own arithmetic, not a second model fitted around it.
No Dagster import; the prediction app calls this on rows made by
:func:`titanic_assets.core.features.build_features`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from titanic_assets.core.features import model_matrix


@dataclass(frozen=True)
class Explanation:
    """One passenger's prediction decomposed into per-feature log-odds contributions."""

    #: (feature, input value, contribution in log-odds), largest absolute contribution first.
    contributions: tuple[tuple[str, float, float], ...]
    #: The model's base log-odds (the bias term), before any feature is looked at.
    bias: float

    @property
    def margin(self) -> float:
        """Bias plus every contribution: the model's log-odds for this passenger."""
        return self.bias + sum(c for _, _, c in self.contributions)

    @property
    def probability(self) -> float:
        """The survival probability the contributions add up to (sigmoid of the margin)."""
        return 1.0 / (1.0 + math.exp(-self.margin))


def explain_one(model: Any, features: pd.DataFrame, feature_columns: Sequence[str]) -> Explanation:
    """Contributions of each input to the first row's prediction, in the model's column order.

    ``features`` comes from ``build_features`` and ``feature_columns`` from the model's registry
    entry, the same pair :func:`titanic_assets.core.predict.score_features` scores with.
    """
    from xgboost import DMatrix

    columns = list(feature_columns)
    matrix = model_matrix(features.iloc[:1], columns)
    values = model.get_booster().predict(
        DMatrix(matrix, feature_names=columns), pred_contribs=True
    )[0]
    rows = [
        (name, float(matrix[0, i]), float(values[i]))
        for i, name in enumerate(columns)  # the last value is the bias
    ]
    rows.sort(key=lambda r: abs(r[2]), reverse=True)
    return Explanation(contributions=tuple(rows), bias=float(values[-1]))

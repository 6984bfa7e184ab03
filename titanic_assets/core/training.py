"""Train, evaluate and judge one model version from a training set (no Dagster here).

:func:`fit_and_evaluate` trains on the ``train`` split, scores the holdout (the registry's
``accuracy``), the recent window and stratified CV; :meth:`TrainedModel.judge` is the callback
:func:`titanic_assets.data_layer.registry.decide_champion` calls with the current champion,
applying :mod:`titanic_assets.core.promotion`. The Dagster asset and the plain benchmark both
call these, so the rule exists once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from titanic_assets.core import promotion
from titanic_assets.core.calibration import calibration
from titanic_assets.core.drift import feature_profile
from titanic_assets.core.features import LABEL_COLUMN
from titanic_assets.core.metrics import classification_metrics
from titanic_assets.core.model import (
    TrainingParams,
    cross_val_accuracy,
    model_to_bytes,
    predict_proba,
    train_model,
)
from titanic_assets.core.predict import predicted_outcomes
from titanic_assets.core.segments import segment_table
from titanic_assets.core.training_set import (
    EVAL_WINDOW_HOURS,
    HOLDOUT,
    TRAIN,
    content_hash,
    recent_mask,
    validate_training_rows,
    window_lineage,
)


@dataclass
class TrainedModel:
    """A trained challenger with everything the registry and the decision need."""

    model: Any
    params: TrainingParams
    metrics: dict
    train: pd.DataFrame
    holdout: pd.DataFrame
    recent: pd.DataFrame
    lineage: dict
    data_hash: str
    policy: promotion.PromotionPolicy = field(default_factory=promotion.PromotionPolicy)
    #: Filled by :meth:`judge`: the comparisons behind the last decision, for display.
    comparisons: list[promotion.Comparison] = field(default_factory=list)

    def registration(self, run_id: str | None) -> dict[str, Any]:
        """Keyword arguments of ``registry.register_version`` for this model."""
        features = list(self.params.feature_columns)
        return {
            "model_bytes": model_to_bytes(self.model),
            "params": self.params.to_dict(),
            "features": features,
            "metrics": self.metrics,
            "training_rows": len(self.train),
            "training_cutoff": pd.Timestamp(self.lineage["latest_event_time"]).to_pydatetime(),
            "training_data_hash": self.data_hash,
            "training_profile": feature_profile(self.train, features),
            "training_window": self.lineage,
            "run_id": run_id,
        }

    def judge(self, version: int):
        """The ``decide_champion`` callback: score the champion on the same rows, decide."""

        def judge(current, champion_model, error: str | None) -> tuple[bool, str]:
            self.comparisons = []
            if current is None or champion_model is None:
                decision = promotion.decide(
                    version, None if current is None else current.version, None, None, error
                )
                return decision.promote, decision.reason, decision.evidence
            for name, rows in (("recent", self.recent), ("holdout", self.holdout)):
                try:
                    theirs = predict_proba(champion_model, rows, current.features)
                except (KeyError, ValueError) as failure:  # inputs the feature store lacks
                    decision = promotion.decide(version, current.version, None, None, str(failure))
                    return decision.promote, decision.reason, decision.evidence
                ours = predict_proba(self.model, rows, self.params.feature_columns)
                self.comparisons.append(promotion.compare(name, rows[LABEL_COLUMN], ours, theirs))
            recent, holdout = self.comparisons
            decision = promotion.decide(
                version, current.version, recent, holdout, None, self.policy
            )
            return decision.promote, decision.reason, decision.evidence

        return judge


def holdout_calibration_and_segments(holdout: pd.DataFrame, probabilities: Any) -> dict[str, Any]:
    """The holdout's ``brier``, ``ece``, reliability table (``calibration``) and ``segments``
    (one dict per sex x class cell), JSON-safe: stored with the version's metrics and shown on
    its model card."""
    figures = calibration(holdout[LABEL_COLUMN], probabilities)
    cells = segment_table(
        holdout["is_female"],
        holdout["pclass"],
        predicted_outcomes(np.asarray(probabilities)),
        holdout[LABEL_COLUMN],
    )
    return {
        "brier": figures["brier"],
        "ece": figures["ece"],
        "calibration": figures,
        "segments": [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in c.items()}
            for c in cells
        ],
    }


def fit_and_evaluate(
    training_data: pd.DataFrame,
    params: TrainingParams,
    cv_folds: int = 5,
    eval_window_hours: float = EVAL_WINDOW_HOURS,
    reason: str | None = None,
) -> TrainedModel:
    """Train on the ``train`` split; holdout, recent-window and CV metrics; lineage."""
    validate_training_rows(training_data, min_rows=2)
    train = training_data[training_data["split"] == TRAIN]
    holdout = training_data[training_data["split"] == HOLDOUT]
    recent = training_data[recent_mask(training_data, eval_window_hours)]
    features = list(params.feature_columns)
    model = train_model(train, params)
    holdout_prob = predict_proba(model, holdout, features)
    metrics = classification_metrics(holdout[LABEL_COLUMN], holdout_prob)
    metrics.update(holdout_calibration_and_segments(holdout, holdout_prob))
    folds = min(cv_folds, int(train[LABEL_COLUMN].value_counts().min()))
    metrics["cv_accuracy"] = cross_val_accuracy(train, params, folds) if folds >= 2 else None
    metrics["cv_folds"] = folds
    metrics["holdout_rows"] = len(holdout)
    recent_metrics = classification_metrics(
        recent[LABEL_COLUMN], predict_proba(model, recent, features)
    )
    metrics["recent_accuracy"] = recent_metrics["accuracy"]
    metrics["recent_rows"] = len(recent)
    reason = reason or training_data.attrs.get("reason") or "unrecorded"
    return TrainedModel(
        model=model,
        params=params,
        metrics=metrics,
        train=train,
        holdout=holdout,
        recent=recent,
        lineage=window_lineage(training_data, reason, eval_window_hours),
        data_hash=training_data.attrs.get("content_sha256") or content_hash(training_data),
    )

"""Training, scoring and serialising the XGBoost survival model (no Dagster here).

The model sees exactly the columns the shared feature function produces (through
:func:`titanic_assets.core.features.model_matrix`, which refuses ids and outcome leaks), so a
model trained here scores identically in batch inference and in ``titanic predict``.

Artifacts are XGBoost's own UBJSON: portable across Python and XGBoost versions and, unlike a
Python object dump, loading one cannot execute code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from titanic_assets.core.features import FEATURE_COLUMNS, LABEL_COLUMN, model_matrix

if TYPE_CHECKING:  # XGBoost (and the scikit-learn it pulls in) costs ~0.8 s to import: load it
    # when a model is built, not when the code location (or the CLI) starts.
    from xgboost import XGBClassifier

#: The seed of the holdout split. Fixed forever (not a training hyperparameter): changing it would
#: move passengers between train and holdout and make champion/challenger comparisons unfair.
HOLDOUT_SEED = 1912
HOLDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class TrainingParams:
    """XGBoost hyperparameters. Defaults: small, shallow trees, which is what ~1k rows support."""

    n_estimators: int = 300
    max_depth: int = 3
    learning_rate: float = 0.05
    subsample: float = 0.9
    colsample_bytree: float = 0.8
    min_child_weight: float = 1.0
    reg_lambda: float = 1.0
    seed: int = 42
    #: One thread: on ~1k rows thread start-up costs more than it saves (0.06 s vs 0.4 s a fit).
    n_jobs: int = 1
    tree_method: str = "hist"
    feature_columns: tuple[str, ...] = field(default=FEATURE_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, as stored in the registry's ``params`` column."""
        out = asdict(self)
        out["feature_columns"] = list(self.feature_columns)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingParams:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        if "feature_columns" in known:
            known["feature_columns"] = tuple(known["feature_columns"])
        return cls(**known)


def holdout_mask(
    passenger_ids: Iterable[str],
    fraction: float = HOLDOUT_FRACTION,
    seed: int = HOLDOUT_SEED,
) -> np.ndarray:
    """True where a passenger belongs to the holdout set.

    Membership is a pure function of ``(seed, passenger_id)``: a hash mapped to [0, 1) and
    compared with ``fraction``. A passenger therefore stays in (or out of) the holdout for every
    model version, whatever else is in the feature store. That stability is what makes
    champion vs challenger fair: the champion is scored on the challenger's holdout, and it
    never trained on those rows because they were holdout rows when it was trained too.

    Why not exact stratification (e.g. rank by hash within each class)? Ranks shift when new
    passengers arrive, which would move old passengers into a newer model's holdout while an
    older champion had trained on them. The hash is independent of the label, so the split is
    stratified in expectation (the class balance of the holdout matches the data's up to
    sampling noise, about +-1.5 points at 1,300 rows), and stability wins over exactness.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"holdout fraction must be in (0, 1), got {fraction}")
    prefix = f"{seed}:".encode()
    hashes = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(prefix + str(pid).encode(), digest_size=8).digest())
            for pid in passenger_ids
        ),
        dtype=np.uint64,
    )
    return (hashes / float(2**64)) < fraction


def _classifier(params: TrainingParams) -> XGBClassifier:
    from xgboost import XGBClassifier

    return XGBClassifier(
        n_estimators=params.n_estimators,
        max_depth=params.max_depth,
        learning_rate=params.learning_rate,
        subsample=params.subsample,
        colsample_bytree=params.colsample_bytree,
        min_child_weight=params.min_child_weight,
        reg_lambda=params.reg_lambda,
        random_state=params.seed,
        n_jobs=params.n_jobs,
        tree_method=params.tree_method,
        objective="binary:logistic",
        eval_metric="logloss",
    )


def _labels(features: pd.DataFrame) -> np.ndarray:
    if LABEL_COLUMN not in features.columns:
        raise KeyError(f"training rows need the label column {LABEL_COLUMN!r}")
    labels = features[LABEL_COLUMN]
    if labels.isna().any():
        raise ValueError("training rows have missing labels")
    return labels.to_numpy(dtype=np.int64)


def train_model(features: pd.DataFrame, params: TrainingParams | None = None) -> XGBClassifier:
    """Fit a classifier on labelled feature-store rows, over ``params.feature_columns``."""
    params = params or TrainingParams()
    y = _labels(features)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"training rows hold a single class ({classes.tolist()}): nothing to learn"
        )
    model = _classifier(params)
    model.fit(model_matrix(features, params.feature_columns), y)
    model.get_booster().feature_names = list(params.feature_columns)
    return model


def predict_proba(
    model: XGBClassifier, features: pd.DataFrame, feature_columns: Sequence[str] | None = None
) -> np.ndarray:
    """Survival probabilities (1-D) for feature rows, columns in the model's order."""
    columns = list(feature_columns or model.get_booster().feature_names or FEATURE_COLUMNS)
    if features.empty:
        return np.empty(0, dtype=np.float64)
    return predict_proba_matrix(model, model_matrix(features, columns))


def predict_proba_matrix(model: XGBClassifier, matrix: np.ndarray) -> np.ndarray:
    """Survival probabilities (1-D) for a float32 input matrix already in the model's order.

    The one call into XGBoost for scoring: :func:`predict_proba` (frames) and batch scoring
    (columns read straight from the warehouse) both end here.
    """
    if len(matrix) == 0:
        return np.empty(0, dtype=np.float64)
    return model.predict_proba(matrix)[:, 1].astype(np.float64)


def feature_importance(model: XGBClassifier) -> dict[str, float]:
    """Gain-based importance per input, normalised to sum to 1 (zero for unused inputs)."""
    booster = model.get_booster()
    names = booster.feature_names or []
    gains = booster.get_score(importance_type="gain")
    total = sum(gains.values()) or 1.0
    return {name: float(gains.get(name, 0.0)) / total for name in names}


def model_to_bytes(model: XGBClassifier) -> bytes:
    """The model as XGBoost UBJSON bytes (the registry artifact)."""
    return bytes(model.get_booster().save_raw(raw_format="ubj"))


def model_from_bytes(data: bytes) -> XGBClassifier:
    """Rebuild a classifier from :func:`model_to_bytes` output; predictions are identical."""
    from xgboost import XGBClassifier

    model = XGBClassifier()
    model.load_model(bytearray(data))
    return model


def cross_val_accuracy(
    features: pd.DataFrame, params: TrainingParams | None = None, folds: int = 5
) -> float:
    """Mean accuracy over stratified, seeded k folds: a steadier figure than one holdout split."""
    from sklearn.model_selection import StratifiedKFold

    params = params or TrainingParams()
    y = _labels(features)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=params.seed)
    scores = []
    for train_idx, test_idx in splitter.split(np.zeros(len(y)), y):
        model = train_model(features.iloc[train_idx], params)
        prob = predict_proba(model, features.iloc[test_idx], params.feature_columns)
        scores.append(float(np.mean((prob >= 0.5).astype(np.int64) == y[test_idx])))
    return float(np.mean(scores))

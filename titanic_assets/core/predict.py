"""One passenger on demand: validate the input, score it with a given model.

The interactive form of the original lab, as pure functions (loading the champion is the data
layer's job: :func:`titanic_assets.data_layer.serving.predict_one`). The passenger goes through :func:`titanic_assets.core.features.build_features`, the
function that filled the training set, so a served prediction cannot skew from training.
Domains come from :mod:`titanic_assets.core.schema`, the same rules the feature pipeline
applies to loaded passengers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from titanic_assets.core.features import build_features
from titanic_assets.core.schema import AGE_RANGE, FAMILY_RANGE, FARE_RANGE, PCLASSES, PORTS, SEXES

#: Decision threshold on the survival probability (the same one monitoring uses).
THRESHOLD = 0.5

#: Columns of ``inference.predictions`` and their DuckDB types, in order (batch scoring writes
#: them; the asset's column schema shows them).
PREDICTION_TYPES: dict[str, str] = {
    "passenger_id": "VARCHAR",
    "event_time": "TIMESTAMP",
    "source": "VARCHAR",
    "batch_id": "VARCHAR",
    "model_version": "BIGINT",
    "predicted_survived": "BIGINT",
    "survival_probability": "DOUBLE",
    "predicted_at": "TIMESTAMP",
    "run_id": "VARCHAR",
}
PREDICTION_COLUMNS: tuple[str, ...] = tuple(PREDICTION_TYPES)

#: Columns of ``inference.shadow_predictions`` (challengers scored beside the champion on the
#: same passengers, never served) and their DuckDB types, in order: the issue's five, plus the
#: passenger's ``event_time`` that a re-run day's delete and a day's reads select on. No run id
#: (a constant string per row, the row's costliest column): the champion's row of the same
#: passenger names the run.
SHADOW_PREDICTION_TYPES: dict[str, str] = {
    "passenger_id": "VARCHAR",
    "event_time": "TIMESTAMP",
    "model_version": "BIGINT",
    "survival_probability": "DOUBLE",
    "predicted_survived": "BIGINT",
    "scored_at": "TIMESTAMP",
}


class PassengerInputError(ValueError):
    """A passenger value out of its domain; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


@dataclass(frozen=True)
class PassengerInput:
    """One passenger as the model sees it before feature engineering.

    ``age``, ``fare`` and ``embarked`` may be unknown (None), as in the historical list; the
    model handles missing values. Build with :meth:`parse` to accept text (CLI, web forms).
    """

    pclass: int
    sex: str
    age: float | None = None
    fare: float | None = None
    embarked: str | None = None
    sibsp: int = 0
    parch: int = 0

    def __post_init__(self) -> None:
        # Validate (and normalise, e.g. "Female" -> "female") even when constructed directly,
        # so no invalid instance can exist.
        checked = self.parse(**asdict(self))
        for name, value in asdict(checked).items():
            object.__setattr__(self, name, value)

    @classmethod
    def parse(
        cls,
        *,
        pclass: Any,
        sex: Any,
        age: Any = None,
        fare: Any = None,
        embarked: Any = None,
        sibsp: Any = 0,
        parch: Any = 0,
    ) -> PassengerInput:
        """Coerce and check each value; the first bad one raises :class:`PassengerInputError`."""
        values = {
            "pclass": _integer("pclass", pclass, PCLASSES[0], PCLASSES[-1]),
            "sex": _choice("sex", sex, SEXES, str.lower),
            "age": _optional_number("age", age, *AGE_RANGE),
            "fare": _optional_number("fare", fare, *FARE_RANGE),
            "embarked": None
            if _blank(embarked)
            else _choice("embarked", embarked, PORTS, str.upper),
            "sibsp": _integer("sibsp", sibsp, *FAMILY_RANGE),
            "parch": _integer("parch", parch, *FAMILY_RANGE),
        }
        instance = object.__new__(cls)
        for name, value in values.items():
            object.__setattr__(instance, name, value)
        return instance

    def to_frame(self) -> pd.DataFrame:
        """A one-row frame in the normalised passenger shape ``build_features`` reads."""
        row = asdict(self)
        return pd.DataFrame(
            {
                "pclass": [row["pclass"]],
                "sex": [row["sex"]],
                "age": [math.nan if row["age"] is None else row["age"]],
                "fare": [math.nan if row["fare"] is None else row["fare"]],
                "embarked": [row["embarked"]],
                "sibsp": [row["sibsp"]],
                "parch": [row["parch"]],
            }
        )


def score_passenger(
    model: Any, feature_columns: Sequence[str], passenger: PassengerInput
) -> dict[str, Any]:
    """One passenger through ``build_features`` and ``model``: ``{"prediction", "probability"}``.

    Pure: the caller loads the model (and checks its signature); see
    :func:`titanic_assets.data_layer.serving.predict_one` for "score with the champion now".
    """
    features = build_features(passenger.to_frame())
    probability = float(score_features(model, features, feature_columns)[0])
    return {"prediction": int(probability >= THRESHOLD), "probability": probability}


def score_features(model: Any, features: pd.DataFrame, feature_columns: Sequence[str]):
    """Survival probabilities for ``build_features`` rows, in the model's own input order.

    The one scoring path of batch inference and ``score_passenger``: ``feature_columns`` comes from
    the registry entry of the model, so a model is always fed the columns it was trained on.
    """
    from titanic_assets.core.model import predict_proba

    return predict_proba(model, features, list(feature_columns))


def score_matrix(model: Any, matrix: Any) -> np.ndarray:
    """Survival probabilities for a float32 matrix already in the model's input order.

    Batch scoring's path: the warehouse hands over the numeric input columns only (no ids, no
    frame), and :func:`titanic_assets.core.model.predict_proba_matrix` is the same XGBoost call
    :func:`score_features` ends in.
    """
    from titanic_assets.core.model import predict_proba_matrix

    return predict_proba_matrix(model, matrix)


def predicted_outcomes(probabilities: np.ndarray) -> np.ndarray:
    """0/1 predictions at :data:`THRESHOLD` (int64, as stored in ``predicted_survived``)."""
    return (np.asarray(probabilities) >= THRESHOLD).astype(np.int64)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _number(field: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PassengerInputError(field, f"must be a number (got {value!r})") from None
    if not math.isfinite(number):
        raise PassengerInputError(field, f"must be a finite number (got {value!r})")
    return number


def _optional_number(field: str, value: Any, low: float, high: float) -> float | None:
    if _blank(value) or (isinstance(value, float) and math.isnan(value)):
        return None
    number = _number(field, value)
    if not low <= number <= high:
        raise PassengerInputError(field, f"must be within {low:g}..{high:g} (got {value!r})")
    return number


def _integer(field: str, value: Any, low: int, high: int) -> int:
    if _blank(value):
        raise PassengerInputError(field, "is required")
    number = _number(field, value)
    if number != int(number):
        raise PassengerInputError(field, f"must be a whole number (got {value!r})")
    if not low <= number <= high:
        raise PassengerInputError(field, f"must be within {low}..{high} (got {value!r})")
    return int(number)


def _choice(field: str, value: Any, allowed: tuple[str, ...], normalise) -> str:
    if _blank(value):
        raise PassengerInputError(field, "is required")
    text = normalise(str(value).strip())
    if text not in allowed:
        raise PassengerInputError(field, f"must be one of {', '.join(allowed)} (got {value!r})")
    return text


#: How a passenger's outcome reads before its label arrives.
UNKNOWN_OUTCOME = "not known yet"


def outcome_word(value: Any) -> str:
    """``"survived"`` / ``"died"`` for a 0/1 prediction or label; :data:`UNKNOWN_OUTCOME` for a
    missing label. The one wording of the apps and of the pipelines' dashboards."""
    if value is None or pd.isna(value):
        return UNKNOWN_OUTCOME
    return "survived" if int(value) == 1 else "died"

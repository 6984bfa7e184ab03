"""The one place model inputs are defined.

:func:`build_features` is used by the feature pipeline (to fill the feature store), by training
(through the store) and by inference and ``titanic predict`` (directly, for a single passenger),
so training and serving cannot skew. It is stateless on purpose: no statistic learned from one
dataset (a median age, a fare scaler) leaks into another; XGBoost handles missing values itself.

Never inputs: ids, names, tickets, cabins, ``boat``, ``body``, ``home.dest`` (the last three
encode the outcome; the others identify a person rather than describe one).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from titanic_assets.core.schema import PORTS

#: Model inputs, in the order the model sees them.
FEATURE_COLUMNS: tuple[str, ...] = (
    "pclass",
    "is_female",
    "age",
    "fare",
    "sibsp",
    "parch",
    "family_size",
    "is_alone",
    "embarked_c",
    "embarked_q",
    "embarked_s",
)

#: Columns carried next to the inputs in the feature store: identity, time, provenance, label.
KEY_COLUMNS: tuple[str, ...] = ("passenger_id", "event_time", "source", "batch_id")
LABEL_COLUMN = "survived"
FEATURE_STORE_COLUMNS: tuple[str, ...] = (*KEY_COLUMNS, *FEATURE_COLUMNS, LABEL_COLUMN)

#: Columns that must never be model inputs, whatever a future change adds.
FORBIDDEN_INPUTS = frozenset(
    {
        "passenger_id",
        "name",
        "ticket",
        "cabin",
        "boat",  # leak: a lifeboat number means survived
        "body",  # leak: a body number means died
        "home_dest",  # leak-prone free text, and it identifies a person
        "home.dest",  # (the same column under its titanic3 name)
        "survived",
        "source_row_id",
        "batch_id",
        "event_time",
        "source",
    }
)

#: The raw passenger fields the feature function reads.
REQUIRED_PASSENGER_FIELDS: tuple[str, ...] = (
    "pclass",
    "sex",
    "age",
    "fare",
    "sibsp",
    "parch",
    "embarked",
)


class MissingFeatureInputError(KeyError):
    """Passengers lack a field the features are computed from."""


def build_features(passengers: pd.DataFrame) -> pd.DataFrame:
    """Turn normalised passengers into feature-store rows (keys, inputs, label if present).

    Vectorised and row-independent: a passenger's features depend on that passenger alone, so
    an hourly batch costs the same whatever the size of the history.
    """
    missing = [c for c in REQUIRED_PASSENGER_FIELDS if c not in passengers.columns]
    if missing:
        raise MissingFeatureInputError(f"passengers are missing feature input columns: {missing}")
    # Plain arrays into one new frame with a 0..n-1 index: no intermediate frame to re-index
    # (a full copy at a million rows).
    out: dict[str, object] = {}
    for column in KEY_COLUMNS:
        if column in passengers.columns:  # a copy: the frame below shares no array with its input
            out[column] = passengers[column].to_numpy(copy=True)
    sibsp = passengers["sibsp"].to_numpy(dtype="float64", na_value=np.nan)
    parch = passengers["parch"].to_numpy(dtype="float64", na_value=np.nan)
    family_size = sibsp + parch + 1.0
    out["pclass"] = passengers["pclass"].to_numpy(dtype="float64", na_value=np.nan)
    out["is_female"] = _equals(passengers["sex"], "female")
    out["age"] = passengers["age"].to_numpy(dtype="float64", na_value=np.nan)
    out["fare"] = passengers["fare"].to_numpy(dtype="float64", na_value=np.nan)
    out["sibsp"] = sibsp
    out["parch"] = parch
    out["family_size"] = family_size
    out["is_alone"] = (family_size == 1.0).astype("float64")
    embarked = passengers["embarked"].astype(object)
    for port in PORTS:  # a missing port is 0 in all three
        out[f"embarked_{port.lower()}"] = _equals(embarked, port, missing=0.0)
    if LABEL_COLUMN in passengers.columns:
        out[LABEL_COLUMN] = passengers[LABEL_COLUMN].astype("int64").to_numpy()
    # Every array is new: copy=False only skips pandas' block consolidation (a full copy).
    return pd.DataFrame(out, copy=False)


def _equals(values: pd.Series, text: str, missing: float = np.nan) -> np.ndarray:
    """1.0 where ``values`` is ``text``, else 0.0; ``missing`` where a typed text column is NA.

    Plain object columns (None / NaN for missing, which equal nothing) are compared by numpy,
    several times faster than pandas' element-wise comparison at a million rows.
    """
    if values.dtype == object:
        try:
            equal = values.to_numpy() == text
        except TypeError:  # a pd.NA among the objects: pandas knows how to compare it
            pass
        else:
            if isinstance(equal, np.ndarray) and equal.shape == values.shape:
                return equal.astype("float64")
    return (values == text).to_numpy(dtype="float64", na_value=missing)


def model_matrix(
    features: pd.DataFrame, columns: tuple[str, ...] | list[str] = FEATURE_COLUMNS
) -> np.ndarray:
    """The float32 input matrix in the model's column order; fails naming any absent column."""
    check_model_inputs(features.columns, columns)
    return features[list(columns)].to_numpy(dtype=np.float32)


def forbidden_inputs(columns: Iterable[str]) -> list[str]:
    """The ids and label leaks among ``columns``, sorted (empty: all may feed a model)."""
    return sorted(set(columns) & FORBIDDEN_INPUTS)


def check_model_inputs(available: Iterable[str], columns: Iterable[str]) -> None:
    """Refuse model inputs that are absent (naming them) or that are ids or label leaks.

    The one check of what may feed a model, whether the inputs come as a frame
    (:func:`model_matrix`) or as columns read straight from the warehouse (batch scoring).
    """
    present = set(available)
    missing = [c for c in columns if c not in present]
    if missing:
        raise MissingFeatureInputError(f"features are missing model input columns: {missing}")
    leaked = forbidden_inputs(columns)
    if leaked:
        raise ValueError(f"refusing forbidden model inputs (ids/leakage): {leaked}")

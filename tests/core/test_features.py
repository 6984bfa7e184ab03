"""The one feature function: stateless, row-independent, leak-free."""

import numpy as np
import pandas as pd
import pytest

from titanic_assets.core.features import (
    FEATURE_COLUMNS,
    FEATURE_STORE_COLUMNS,
    FORBIDDEN_INPUTS,
    MissingFeatureInputError,
    build_features,
    model_matrix,
)


def test_feature_store_columns(historical_passengers):
    features = build_features(historical_passengers)
    assert list(features.columns) == list(FEATURE_STORE_COLUMNS)
    assert len(features) == len(historical_passengers)


def test_no_identity_or_outcome_column_is_an_input():
    assert not set(FEATURE_COLUMNS) & FORBIDDEN_INPUTS
    for leak in ("boat", "body", "home_dest", "name", "ticket", "passenger_id"):
        assert leak in FORBIDDEN_INPUTS


def test_a_passenger_alone_gets_the_same_features_as_in_a_batch(historical_passengers):
    batch = build_features(historical_passengers.head(200))
    alone = build_features(historical_passengers.iloc[[123]])
    pd.testing.assert_frame_equal(alone, batch.iloc[[123]].reset_index(drop=True))


def test_engineered_values(historical_passengers):
    row = historical_passengers.iloc[[0]].assign(sex="female", sibsp=1, parch=2, embarked="Q")
    features = build_features(row).iloc[0]
    assert features["is_female"] == 1.0
    assert features["family_size"] == 4.0 and features["is_alone"] == 0.0
    assert (features["embarked_c"], features["embarked_q"], features["embarked_s"]) == (0, 1, 0)


def test_missing_input_is_named(historical_passengers):
    with pytest.raises(MissingFeatureInputError, match="fare"):
        build_features(historical_passengers.drop(columns=["fare"]))
    with pytest.raises(MissingFeatureInputError, match="age"):
        model_matrix(build_features(historical_passengers).drop(columns=["age"]))


def test_model_matrix_refuses_forbidden_columns(historical_passengers):
    features = build_features(historical_passengers)
    with pytest.raises(ValueError, match="passenger_id"):
        model_matrix(features, [*FEATURE_COLUMNS, "passenger_id"])
    matrix = model_matrix(features)
    assert matrix.dtype == np.float32 and matrix.shape == (1309, len(FEATURE_COLUMNS))

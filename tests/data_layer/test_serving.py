"""Scoring one passenger with the champion loaded now, through the shared feature code."""

from __future__ import annotations

import numpy as np
import pytest

from tests.inference_pipeline.test_inference_assets import seed_champion
from titanic_assets.core.features import build_features
from titanic_assets.core.model import predict_proba
from titanic_assets.core.predict import PassengerInput
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.serving import predict_one
from titanic_assets.data_layer.warehouse import connect

GOOD = {"pclass": 1, "sex": "female", "age": 29, "fare": 80, "embarked": "S"}


def test_predict_one_scores_with_the_champion_through_build_features(
    warehouse, historical_passengers
) -> None:
    version = seed_champion(warehouse, historical_passengers)
    passenger = PassengerInput.parse(**GOOD)
    with connect(warehouse, read_only=True) as conn:
        result = predict_one(conn, passenger)
        meta, model = registry.load_champion(conn)
    expected = predict_proba(model, build_features(passenger.to_frame()), meta.features)[0]
    assert result["model_version"] == version
    assert result["probability"] == pytest.approx(float(expected), abs=1e-7)
    assert result["prediction"] == int(expected >= 0.5)
    with connect(warehouse, read_only=True) as conn:
        poor_man = predict_one(conn, PassengerInput.parse(pclass=3, sex="male", age=30, fare=7))
    assert result["probability"] > 0.8 > 0.2 > poor_man["probability"]
    assert np.isfinite(poor_man["probability"])


def test_no_champion_raises_no_champion_error(warehouse) -> None:
    with connect(warehouse) as conn:
        registry.ensure_registry(conn)
        with pytest.raises(registry.NoChampionError):
            predict_one(conn, PassengerInput.parse(**GOOD))

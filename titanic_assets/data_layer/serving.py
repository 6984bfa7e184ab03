"""Score one passenger with the champion as it is now: the registry load plus the pure scoring.

Lives in the data layer, not in ``core``, because it reads the warehouse (the champion and its
signed artifact); the rules it applies (input domains, features, threshold) are
:mod:`titanic_assets.core.predict`'s. Used by ``titanic predict`` and the tests.
"""

from __future__ import annotations

from typing import Any

import duckdb

from titanic_assets.core.predict import PassengerInput, score_passenger


def predict_one(conn: duckdb.DuckDBPyConnection, passenger: PassengerInput) -> dict[str, Any]:
    """Score one passenger with the champion loaded now (its signature verified by the registry).

    Returns ``{"prediction": 0|1, "probability": float, "model_version": int}``. Raises the
    registry's ``NoChampionError`` / ``ArtifactIntegrityError`` unchanged so callers can tell
    "nothing trained yet" from "artifact corrupted".
    """
    # Imported here: the registry pulls in xgboost, which input validation does not need.
    from titanic_assets.data_layer.registry import load_champion

    version, model = load_champion(conn)
    return {
        **score_passenger(model, version.features, passenger),
        "model_version": int(version.version),
    }

"""Reads that serve scoring and monitoring: the champion for one passenger, training profiles.

Lives in the data layer, not in ``core``, because it reads the warehouse (the champion and its
signed artifact, the registry's profiles); the rules applied to what it reads (input domains,
features, threshold, drift) are :mod:`titanic_assets.core.predict`'s and
:mod:`titanic_assets.core.monitoring`'s. Used by ``titanic predict``, batch monitoring and the
plain benchmark.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def training_profiles(
    conn: duckdb.DuckDBPyConnection, versions: Iterable[int]
) -> dict[int, dict[str, Any]]:
    """Each version's training profile, for drift; a deleted version simply gets none."""
    from titanic_assets.data_layer.registry import ModelNotFoundError, get_version

    profiles = {}
    for version in sorted({int(v) for v in versions}):
        try:
            profiles[version] = get_version(conn, version).training_profile
        except ModelNotFoundError:
            continue
    return profiles

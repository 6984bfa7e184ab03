"""A shadow is promoted on live evidence by the real monitoring step, and the log says so.

Champion v1 serves; v2 (the same trees, registered and not promoted) runs in the shadow. Two
earlier days of strong paired evidence for v2 are in ``monitoring.shadow_comparison``; the day
scored here adds a level day (same trees: no passenger where only one is right). Pooled over
the three days: 40 shadow-only right against 4 (z = 5.43), better on 2 of 3 days, Brier not
worse: ``decide_live`` promotes, through the registry's compare-and-set, logged with evidence
``live_shadow``, and the champion's event is recorded.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from tests.inference_pipeline.test_inference_assets import (
    DAY,
    add_to_feature_store,
    read_table,
    replay_day,
    run_inference,
    seed_champion,
)
from titanic_assets.core.shadow import COMPARISON_COLUMNS
from titanic_assets.data_layer import monitoring_store, registry
from titanic_assets.data_layer.warehouse import connect


def _earlier_day(day: str) -> dict:
    row = dict.fromkeys(COMPARISON_COLUMNS, 0.0)
    row.update(day=pd.Timestamp(day), champion_version=1, shadow_version=2, n_labelled=150,
               wins=20, losses=2, champion_brier=0.16, shadow_brier=0.15)  # fmt: skip
    return row


def test_shadow_promoted_on_pooled_live_evidence(warehouse, historical_passengers) -> None:
    assert seed_champion(warehouse, historical_passengers) == 1
    with connect(warehouse) as conn:
        meta, _ = registry.load_model(conn, 1)
        artifact = conn.execute(
            "SELECT artifact FROM models.model_versions WHERE version = 1"
        ).fetchall()[0][0]
        registry.register_version(
            conn, model_bytes=bytes(artifact), params=meta.params, features=meta.features,
            metrics=meta.metrics, training_rows=meta.training_rows,
            training_cutoff=meta.training_cutoff, training_data_hash="test",
            training_profile=meta.training_profile, run_id="test",
        )  # fmt: skip
        for day in ("2026-11-03", "2026-11-04"):
            frame = pd.DataFrame([_earlier_day(day)])
            monitoring_store.write_shadow_comparison(
                conn, frame, pd.Timestamp(day), pd.Timestamp(day) + pd.Timedelta(days=1)
            )
    add_to_feature_store(warehouse, replay_day(historical_passengers, DAY))
    result = run_inference(warehouse, DAY)
    assert result.success
    today = read_table(
        warehouse, "SELECT * FROM monitoring.shadow_comparison WHERE day = ?", [DAY]
    ).iloc[0]
    assert (today["wins"], today["losses"]) == (0, 0) and today["n_labelled"] > 200
    versions = read_table(warehouse, "SELECT version, is_champion FROM models.model_versions")
    assert versions.set_index("version")["is_champion"].to_dict() == {1: False, 2: True}
    log = read_table(warehouse, "SELECT * FROM models.promotions ORDER BY event_id")
    last = log.iloc[-1]
    assert (last["action"], last["version"], last["evidence"]) == ("promote", 2, "live_shadow")
    assert last["previous_champion"] == 1
    assert "40 only-shadow right, 4 only-champion right (z=+5.43)" in last["reason"]
    assert "better on 2 day(s)" in last["reason"]
    events = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey(["models", "champion"])
    ]
    assert len(events) == 1 and events[0].metadata["champion_version"].value == 2

"""The code location loads, as Python and through Dagster's own CLI, with the contract's names."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg

from titanic_assets.definitions import defs

ROOT = Path(__file__).resolve().parents[1]


def test_contract_jobs_schedules_sensors():
    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"feature_pipeline", "training_pipeline", "inference_pipeline"} <= jobs
    assert {s.name for s in defs.schedules} >= {"hourly_synthetic_passengers"}
    assert {s.name for s in defs.sensors} >= {
        "retrain_on_new_passengers",
        "retrain_on_model_degradation",
        "default_automation_condition_sensor",
    }


def test_every_asset_is_described_grouped_owned_and_versioned():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        label = key.to_user_string()
        assert node.description, label
        assert node.group_name in {"feature_pipeline", "training_pipeline", "inference_pipeline"}
        assert node.owners and node.kinds and node.code_version, label


def test_lineage_predictions_model_features_sources():
    graph = defs.resolve_asset_graph()

    def parents(*path: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey(list(path))).parent_keys}

    # A day's predictions: its 24 hours of features (a time-window mapping) and the champion.
    assert parents("inference", "predictions") == {
        "features/synthetic_features",
        "models/champion",
    }
    assert parents("models", "champion") == {"models/model_versions"}
    day = graph.get(dg.AssetKey(["inference", "predictions"]))
    hours = graph.get(dg.AssetKey(["features", "synthetic_features"]))
    mapped = (
        day.partition_mappings[hours.key]
        .get_upstream_mapped_partitions_result_for_partitions(
            day.partitions_def.subset_with_partition_keys(["2026-11-05"]),
            day.partitions_def,
            hours.partitions_def,
        )
        .partitions_subset.get_partition_keys()
    )
    assert list(mapped) == [f"2026-11-05-{h:02d}:00" for h in range(24)]
    assert parents("models", "model_versions") == {"models/training_data"}
    assert parents("models", "training_data") == {"features/passenger_features"}
    assert parents("features", "passenger_features") == {
        "features/historical_features",
        "features/synthetic_features",
    }


def test_dagster_cli_validates_the_workspace(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env={**os.environ, "DAGSTER_HOME": str(home), "TITANIC_DUCKDB": str(tmp_path / "w.duckdb")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Validation successful" in done.stderr + done.stdout

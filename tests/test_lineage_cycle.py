"""The whole cycle in one process, then `titanic lineage` follows a prediction back to its data.

This is the materialize()-level integration test of the three pipelines together: backfill,
two synthetic hours, training with a cutoff before them, inference of their day, monitoring.
"""

import json
import os
import subprocess
import sys

import dagster as dg
import pytest

from titanic_assets import names
from titanic_assets.core.schema import normalise_source
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.definitions import build_definitions

DAY = "2026-11-27"
HOURS = ("2026-11-27-05:00", "2026-11-27-06:00")


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    root = tmp_path_factory.mktemp("cycle")
    warehouse = str(root / "warehouse.duckdb")
    (root / "home").mkdir()
    defs = build_definitions(warehouse)
    with dg.instance_for_test(temp_dir=str(root / "home")) as instance:

        def run(job: str, **kwargs):
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, **kwargs)
            assert result.success, job
            return result

        run("historical_backfill")
        for hour in HOURS:
            run(
                "feature_pipeline",
                partition_key=hour,
                run_config={
                    "ops": {names.SYNTHETIC_PASSENGERS_OP: {"config": {"passengers_per_hour": 40}}}
                },
            )
        run(
            "training_pipeline",
            run_config={"ops": {names.TRAINING_DATA_OP: {"config": {"cutoff": f"{DAY}T00:00"}}}},
        )
        run("inference_pipeline", partition_key=DAY)
        yield warehouse


def titanic(*args: str, warehouse: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "titanic_assets.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TITANIC_DUCKDB": warehouse},
        timeout=60,
        check=False,
    )


def test_every_passenger_of_the_day_scored_once_by_the_champion(cycle):
    with connect(cycle, read_only=True) as conn:
        scored = conn.execute(
            "SELECT count(*), count(DISTINCT passenger_id), min(model_version), max(model_version) "
            "FROM inference.predictions"
        ).fetchall()[0]
        champion = conn.execute(
            "SELECT version FROM models.model_versions WHERE is_champion"
        ).fetchall()
        performance = conn.execute(
            "SELECT n_predictions, n_labelled, accuracy FROM monitoring.model_performance"
        ).fetchall()
    assert scored == (80, 80, champion[0][0], champion[0][0])
    assert performance[0][:2] == (80, 80)
    assert 0.6 <= performance[0][2] <= 0.95  # out of sample: trained only on 1912


def test_lineage_of_a_synthetic_prediction(cycle):
    done = titanic("lineage", "syn-2026112705-000001", "--json", warehouse=cycle)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["source"]["kind"] == "synthetic"
    assert record["source"]["partition"] == HOURS[0]
    assert record["quality"]["certified"] is True
    assert {s["suite"] for s in record["quality"]["suites"]} == {"integrity", "distribution"}
    assert record["features"]["passenger_id"] == "syn-2026112705-000001"
    (prediction,) = record["predictions"]
    (model,) = record["models"]
    assert prediction["model_version"] == model["version"] == 1
    assert model["training_cutoff"].startswith("1912")  # nothing after the cutoff was used
    assert model["training_rows"] > 0 and len(model["training_data_hash"]) >= 12
    window = model["training_window"]  # which rows, which window, which weights
    assert window["window_start"] is None and window["weights"] == "uniform"
    assert window["train_rows"] == model["training_rows"]
    text = titanic("lineage", "syn-2026112705-000001", warehouse=cycle)
    assert "synthetic partition 2026-11-27-05:00" in text.stdout
    assert "by model v1" in text.stdout
    assert "window all history" in text.stdout


def test_lineage_of_a_historical_passenger_shows_the_file_row(cycle, titanic3_raw):
    first = normalise_source(titanic3_raw)[0]["passenger_id"].iloc[0]
    done = titanic("lineage", first, "--json", warehouse=cycle)
    record = json.loads(done.stdout)
    assert record["source"]["kind"] == "historical"
    assert record["source"]["row"] == 1
    assert record["source"]["record_as_loaded"]["name"] == "Allen, Miss. Elisabeth Walton"
    assert record["predictions"] == []


@pytest.mark.parametrize("passenger_id", ["nobody", "x'; DROP TABLE inference.predictions; --"])
def test_unknown_passenger_exits_1_and_injection_is_inert(cycle, passenger_id):
    done = titanic("lineage", passenger_id, warehouse=cycle)
    assert done.returncode == 1
    assert "no passenger with id" in done.stderr and "Traceback" not in done.stderr
    with connect(cycle, read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM inference.predictions").fetchall()[0][0] == 80


def test_models_promote_and_rollback_by_hand(cycle):
    listed = titanic("models", warehouse=cycle)
    assert listed.returncode == 0 and "version" in listed.stdout
    missing = titanic("promote", "99", "--reason", "try", warehouse=cycle)
    assert missing.returncode == 1 and "99" in missing.stderr and "Traceback" not in missing.stderr
    bad = titanic("promote", "one", "--reason", "try", warehouse=cycle)
    assert bad.returncode == 2 and "VERSION" in bad.stderr
    same = titanic("promote", "1", "--reason", "re-affirm v1", warehouse=cycle)
    assert same.returncode == 0 and "champion: v1" in same.stdout
    with connect(cycle, read_only=True) as conn:
        champions = conn.execute(
            "SELECT version FROM models.model_versions WHERE is_champion"
        ).fetchall()
        reasons = conn.execute("SELECT reason FROM models.promotions").fetchall()
    assert champions == [(1,)]
    assert any("re-affirm v1" in r[0] for r in reasons)


def test_lineage_loads_neither_pandas_nor_the_model_code(cycle):
    # `titanic lineage` answers in under a second on a year of history (docs/performance.md);
    # importing pandas is most of a new process's start, and the registry's error classes once
    # pulled it in.
    probe = (
        "import sys\n"
        "from titanic_assets.cli import main\n"
        "code = main(['lineage', 'syn-2026112705-000001', '--json'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'xgboost', 'sklearn'})\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "TITANIC_DUCKDB": cycle},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["features"]["passenger_id"] == "syn-2026112705-000001"
    assert "HEAVY []" in done.stderr

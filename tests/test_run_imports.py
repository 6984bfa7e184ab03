"""Each launched run imports only the libraries its steps use.

Every process that loads the code location pays for what it imports: the webserver's and the
daemon's code servers, ``make demo``, the CLI, and a run launched in a fresh interpreter (the
default run launcher's way, the project's default). GX alone costs seconds. So
loading the code location imports no step library, and each job, run in a fresh interpreter
(load the code location, then execute the job), imports only its own: GX for the feature
checks, XGBoost and matplotlib for training and inference.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from titanic_assets import names

ROOT = Path(__file__).resolve().parents[1]

#: Libraries some step needs, none of which the code location may import at load.
STEP_LIBRARIES = (
    "great_expectations",
    "duckdb_engine",
    "xgboost",
    "sklearn",
    "scipy",
    "matplotlib",
    "gradio",
)

#: Load the code location, run one job in process, print the step libraries it imported.
RUN_ONE_JOB = """
import json, sys
import titanic_assets.definitions as location
import dagster as dg
from titanic_assets import names
job, partition, config = sys.argv[1], sys.argv[2] or None, json.loads(sys.argv[3])
loaded = {m for m in sys.modules if m.split(".")[0] in LIBRARIES}
result = location.defs.resolve_job_def(job).execute_in_process(
    instance=dg.DagsterInstance.get(), partition_key=partition, run_config=config,
    raise_on_error=False,
)
assert result.success, job
print(json.dumps({
    "at_load": sorted({m.split(".")[0] for m in loaded}),
    "in_steps": sorted({m.split(".")[0] for m in sys.modules} & set(LIBRARIES)),
}))
"""


def _run(job: str, partition: str = "", config: dict | None = None, *, env: dict) -> dict:
    code = f"LIBRARIES = {STEP_LIBRARIES!r}\n{RUN_ONE_JOB}"
    done = subprocess.run(
        [sys.executable, "-c", code, job, partition, json.dumps(config or {})],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loading_the_code_location_imports_no_step_library():
    code = (
        "import json, sys, titanic_assets.definitions\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(STEP_LIBRARIES)!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.mark.slow
def test_each_run_imports_only_the_libraries_its_steps_use(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TITANIC_DUCKDB": str(tmp_path / "warehouse.duckdb"),
        "TITANIC_AUTOMATION": "off",
    }
    assert _run("historical_backfill", env=env)["at_load"] == []
    feature = _run(
        "feature_pipeline",
        "2026-11-02-00:00",
        {"ops": {names.SYNTHETIC_PASSENGERS_OP: {"config": {"passengers_per_hour": 200}}}},
        env=env,
    )
    training = _run(
        "training_pipeline",
        config={
            "ops": {
                names.TRAINING_DATA_OP: {"config": {"cutoff": "2026-11-02T23:59:59"}},
                names.MODEL_VERSIONS_OP: {"config": {"n_estimators": 5, "cv_folds": 2}},
            }
        },
        env=env,
    )
    inference = _run("inference_pipeline", "2026-11-02", env=env)

    # GX (on the warehouse, through duckdb-engine) in the feature run only; no model library there.
    assert {"great_expectations", "duckdb_engine"} <= set(feature["in_steps"])
    assert not {"xgboost", "sklearn", "matplotlib", "gradio"} & set(feature["in_steps"])
    # Training and inference: XGBoost (which imports scikit-learn) and the charts; never GX.
    for run in (training, inference):
        assert {"xgboost", "matplotlib"} <= set(run["in_steps"])
        assert not {"great_expectations", "duckdb_engine", "gradio"} & set(run["in_steps"])
    for run in (feature, training, inference):
        assert run["at_load"] == []

"""Two trainings at once end with exactly one champion: the better one (issue 10.4).

* Threads, each with its own DuckDB connection to one file, so nothing serialises them (as
  with a raised pool limit or a multi-writer engine). Both read the same champion and both
  decide to promote; one commits first. Without the compare-and-set the second would overwrite
  the first whatever their quality; with it the second is judged again against the new
  champion. Both commit orders are forced.
* Two real processes running the ``training_pipeline`` job on one warehouse at the same time
  (DuckDB's file lock serialises their writes; the rule must hold either way round).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from tests.training_pipeline.test_training_assets import real, write_store  # noqa: F401
from titanic_assets.core.features import FEATURE_COLUMNS
from titanic_assets.core.model import (
    TrainingParams,
    holdout_mask,
    model_to_bytes,
    predict_proba,
    train_model,
)
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.warehouse import connect

#: Majority-class baseline (everyone "died"), a one-split stump (sex), and a real model.
MODELS = {
    "baseline": TrainingParams(n_estimators=1, max_depth=1, learning_rate=0.01),
    "stump": TrainingParams(n_estimators=1, max_depth=1, learning_rate=1.0),
    "good": TrainingParams(n_estimators=60),
}


def _register(conn, model, name: str) -> int:
    return registry.register_version(
        conn,
        model_bytes=model_to_bytes(model),
        params=MODELS[name].to_dict(),
        features=list(FEATURE_COLUMNS),
        metrics={"accuracy": 0.0, "f1": 0.0},
        training_rows=1,
        training_cutoff=None,
        training_data_hash=name,
        training_profile={},
        run_id=name,
    )


@pytest.mark.parametrize("first", ["good", "stump"])
def test_racing_decisions_leave_the_better_model_champion(tmp_path, real, first):  # noqa: F811
    train, holdout = (
        real[~holdout_mask(real["passenger_id"])],
        real[holdout_mask(real["passenger_id"])],
    )
    models = {name: train_model(train, params) for name, params in MODELS.items()}
    accuracy = {
        name: float(np.mean((predict_proba(m, holdout) >= 0.5) == holdout["survived"]))
        for name, m in models.items()
    }
    assert accuracy["baseline"] < accuracy["stump"] < accuracy["good"], accuracy
    path = str(tmp_path / "wh.duckdb")
    with connect(path) as conn:
        registry.ensure_registry(conn)
        versions = {name: _register(conn, models[name], name) for name in MODELS}
        registry.promote(conn, versions["baseline"], "seed champion")
    by_version = {v: name for name, v in versions.items()}

    both_read = threading.Barrier(2, timeout=30)
    first_done = threading.Event()
    calls: dict[str, list[str]] = {"good": [], "stump": []}

    def racer(name: str) -> None:
        def judge(current, model, error):
            calls[name].append(by_version[current.version])
            if len(calls[name]) == 1:
                both_read.wait()  # both have read the same champion before either writes
                if name != first:
                    assert first_done.wait(30)  # force the commit order
            mine, theirs = accuracy[name], accuracy[by_version[current.version]]
            return mine > theirs, f"{name} {mine:.3f} vs {theirs:.3f}"

        with connect(path) as own:  # one connection per thread: nothing serialises them
            registry.decide_champion(own, versions[name], judge, run_id=name)
        if name == first:
            first_done.set()

    threads = [threading.Thread(target=racer, args=(n,)) for n in ("good", "stump")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with connect(path, read_only=True) as conn:
        listed = registry.list_versions(conn)
        log = registry.promotions(conn)
    assert listed["is_champion"].sum() == 1
    assert by_version[int(listed.loc[listed["is_champion"], "version"].iloc[0])] == "good"
    second = "stump" if first == "good" else "good"
    # The later writer saw the champion change and was judged again against the new one.
    assert calls[first] == ["baseline"]
    assert calls[second] == ["baseline", first]
    promoted = log[log["action"] == "promote"]["version"].map(by_version).tolist()
    expected = ["baseline", "good"] if first == "good" else ["baseline", "stump", "good"]
    assert promoted == expected


WORKER = textwrap.dedent(
    """
    import json, sys
    import dagster as dg
    from titanic_assets import names
    from titanic_assets.definitions import build_definitions

    warehouse, model = sys.argv[1], json.loads(sys.argv[2])
    job = build_definitions(warehouse).resolve_job_def("training_pipeline")
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {names.MODEL_VERSIONS_OP: {"config": model}}},
    )
    sys.exit(0 if result.success else 1)
    """
)


def test_two_training_processes_at_once_leave_one_champion_the_better(tmp_path, real):  # noqa: F811
    path = str(tmp_path / "wh.duckdb")
    write_store(path, real)
    configs = {
        "baseline": {"n_estimators": 1, "max_depth": 1, "learning_rate": 0.01, "cv_folds": 2},
        "good": {"n_estimators": 60, "cv_folds": 2},
    }
    env = {**os.environ, "TITANIC_DUCKDB": path, "DAGSTER_HOME": str(tmp_path / "home")}
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", WORKER, path, json.dumps(config)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, config in configs.items()
    }
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name} failed:\n{out[-3000:]}"
    with connect(path, read_only=True) as conn:
        listed = registry.list_versions(conn)
        champion, _ = registry.load_champion(conn)
    assert len(listed) == 2 and listed["is_champion"].sum() == 1
    assert champion.params["n_estimators"] == 60  # the good model, whichever finished first
    assert champion.accuracy == listed["accuracy"].max() > listed["accuracy"].min()


def test_concurrent_registrations_on_a_fresh_warehouse_get_distinct_versions(tmp_path, real):  # noqa: F811
    """Creating the registry and numbering versions survive writers racing on one file."""
    model = train_model(real, MODELS["stump"])
    path = str(tmp_path / "wh.duckdb")
    start = threading.Barrier(4, timeout=30)
    got: list[int] = []
    errors: list[BaseException] = []

    def register() -> None:
        try:
            with connect(path) as own:
                start.wait()
                got.append(_register(own, model, "stump"))
        except BaseException as error:  # a thread's exception would only be printed
            errors.append(error)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sorted(got) == [1, 2, 3, 4]
    with connect(path, read_only=True) as conn:
        for version in got:
            assert registry.load_model(conn, version)[0].signature
        assert conn.execute("SELECT count(*) FROM models.champion_state").fetchall() == [(1,)]

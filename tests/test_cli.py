"""``titanic`` through a real subprocess, the way a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.inference_pipeline.test_inference_assets import seed_champion
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.warehouse import connect

GOOD = ["--pclass", "1", "--sex", "female", "--age", "29", "--fare", "80", "--embarked", "S"]


def titanic(*args: str, warehouse: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ}
    if warehouse:
        env["TITANIC_DUCKDB"] = warehouse
    return subprocess.run(
        [sys.executable, "-m", "titanic_assets.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_help() -> None:
    top = titanic("--help")
    assert top.returncode == 0 and "predict" in top.stdout
    sub = titanic("predict", "--help")
    assert sub.returncode == 0 and "--pclass" in sub.stdout and "--embarked" in sub.stdout


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--pclass", "4"), ("--sex", "robot"), ("--age", "150"), ("--fare", "-3"),
     ("--embarked", "X"), ("--sibsp", "1.5")],
)  # fmt: skip
def test_bad_values_exit_2_naming_the_field(flag, value, tmp_path) -> None:
    args = [*GOOD, "--sibsp", "0"]
    args[args.index(flag) + 1] = value
    done = titanic("predict", *args, warehouse=str(tmp_path / "none.duckdb"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert flag in lines[0] and value in lines[0]
    assert done.stdout == ""


def test_missing_warehouse_exits_1(tmp_path) -> None:
    done = titanic("predict", *GOOD, warehouse=str(tmp_path / "absent.duckdb"))
    assert done.returncode == 1
    assert "does not exist" in done.stderr and "Traceback" not in done.stderr


def test_no_champion_exits_1(warehouse) -> None:
    with connect(warehouse) as conn:
        registry.ensure_registry(conn)
    done = titanic("predict", *GOOD, warehouse=warehouse)
    assert done.returncode == 1
    assert "no champion" in done.stderr and "Traceback" not in done.stderr


def test_predict_prints_prediction_probability_and_version(
    warehouse, historical_passengers
) -> None:
    version = seed_champion(warehouse, historical_passengers)
    done = titanic("predict", *GOOD, warehouse=warehouse)
    assert done.returncode == 0, done.stderr
    assert "prediction: 1" in done.stdout
    assert f"model_version: {version}" in done.stdout
    assert "probability: 0." in done.stdout
    as_json = json.loads(titanic("predict", *GOOD, "--json", warehouse=warehouse).stdout)
    assert as_json["model_version"] == version and 0.5 < as_json["probability"] <= 1


def test_bad_setting_exits_2_naming_the_variable(tmp_path) -> None:
    env = {**os.environ, "TITANIC_DUCKDB": str(tmp_path / "w.duckdb"), "TITANIC_MIN_LABELLED": "x"}
    done = subprocess.run(
        [sys.executable, "-m", "titanic_assets.cli", "models"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "titanic: invalid setting: TITANIC_MIN_LABELLED='x' is not allowed: a whole number >= 1"
    ]

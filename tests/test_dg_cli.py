"""Dagster's own CLI works in the project as its docs show it (``[tool.dg]`` in pyproject.toml).

``dg check defs`` loads every definition and validates it; ``dg list defs`` lists what the code
location defines. Both run from the project root as a user runs them, in the project's virtual
environment, and must see exactly the assets, jobs and checks the project's ``Definitions``
hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from titanic_assets.definitions import build_definitions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[1]
DG = Path(sys.executable).parent / "dg"


def _dg(*args: str) -> subprocess.CompletedProcess:
    # dg looks for the project's .venv; naming it as the active one is what `source
    # .venv/bin/activate` does (without it dg warns that the two differ).
    env = {**os.environ, "VIRTUAL_ENV": str(Path(sys.executable).parents[1])}
    return subprocess.run(
        [str(DG), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )


def test_dg_check_defs_passes_and_dg_list_defs_lists_every_asset() -> None:
    checked = _dg("check", "defs")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr

    listed = _dg("list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    expected_assets = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {a["asset_key"] for a in found["assets"]} == expected_assets
    assert {"features/synthetic_features", "inference/predictions"} <= expected_assets
    jobs = {j["name"] for j in found["jobs"]}
    assert {"feature_pipeline", "training_pipeline", "inference_pipeline"} <= jobs

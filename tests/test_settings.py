"""Every TITANIC_* variable is read in one module, validated, and documented in the README."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from titanic_assets import settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "titanic_assets"

#: One bad value per variable, with a word the error's "allowed" part must contain.
BAD_VALUES = {
    "TITANIC_DUCKDB": ("/tmp/models.duckdb", "schema"),
    "TITANIC_AUTOMATION": ("maybe", "on/off"),
    "TITANIC_FEATURE_SCHEDULE_CRON": ("every hour", "cron"),
    "TITANIC_SENSOR_INTERVAL_S": ("abc", ">= 1"),
    "TITANIC_RETRAIN_MIN_NEW_ROWS": ("0", ">= 1"),
    "TITANIC_ACCURACY_FLOOR": ("1.5", "0 to 1"),
    "TITANIC_MIN_LABELLED": ("ten", ">= 1"),
    "TITANIC_PSI_CEILING": ("nan", ">= 0"),
    "TITANIC_MIN_SCORED_FOR_DRIFT": ("-3", ">= 1"),
    "TITANIC_RELIABILITY_HOURS": ("2.5", ">= 1"),
    "TITANIC_UPDATE_DOCS": ("please", "1 or 0"),
    "TITANIC_REQUIRE_SYSTEM_DEPS": ("required", "1 or 0"),
    "TITANIC_FEATURES_FRESH_MINUTES": ("0", ">= 1"),
    "TITANIC_MODEL_SIGNING_KEY": ("short-key", "at least 32 characters"),
    "TITANIC_ECE_CEILING": ("1.2", "0 to 1"),
    "TITANIC_SEGMENT_MIN_LABELLED": ("0", ">= 1"),
    "TITANIC_SEGMENT_MARGIN": ("wide", "0 to 1"),
}


def test_defaults_when_unset_or_empty() -> None:
    unset = settings.load({})
    assert unset == settings.load({name: "  " for name in settings.VARIABLES})
    assert unset.duckdb == str(settings.DEFAULT_WAREHOUSE)
    assert unset.source_csv is None and unset.sensor_interval_s is None
    assert unset.automation is True and unset.feature_schedule_cron == "0 * * * *"
    assert (unset.retrain_min_new_rows, unset.min_labelled, unset.min_scored_for_drift) == (
        500,
        30,
        200,
    )
    assert (unset.accuracy_floor, unset.psi_ceiling) == (0.70, 0.25)
    assert unset.sensor_interval(45) == 45
    assert unset.features_fresh_minutes == 120


def test_good_values_are_parsed() -> None:
    parsed = settings.load(
        {
            "TITANIC_AUTOMATION": "OFF",
            "TITANIC_FEATURE_SCHEDULE_CRON": "*/5 0-23 * jan-dec mon,fri",
            "TITANIC_SENSOR_INTERVAL_S": "3",
            "TITANIC_PSI_CEILING": "100",
            "TITANIC_ACCURACY_FLOOR": "0",
        }
    )
    assert parsed.automation is False
    assert parsed.feature_schedule_cron == "*/5 0-23 * jan-dec mon,fri"
    assert parsed.sensor_interval(45) == 3
    assert parsed.thresholds().psi_ceiling == 100.0
    assert parsed.thresholds().accuracy_floor == 0.0


def test_every_variable_has_a_bad_value_case() -> None:
    # TITANIC_SOURCE_CSV and TITANIC_BENCH_SCRATCH take any path: their files are checked
    # where they are opened (the backfill's SourceError, the benchmark's mkdir).
    assert set(BAD_VALUES) | {"TITANIC_SOURCE_CSV", "TITANIC_BENCH_SCRATCH"} == set(
        settings.VARIABLES
    )


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_bad_value_fails_naming_variable_value_and_what_is_allowed(name: str) -> None:
    raw, allowed_word = BAD_VALUES[name]
    with pytest.raises(settings.SettingsError) as caught:
        settings.value(name, {name: raw})
    message = str(caught.value)
    assert name in message and allowed_word in message, message
    if settings.VARIABLES[name].secret:  # a secret is never echoed, only its length
        assert raw not in message and f"<{len(raw)} characters, not shown>" in message
    else:
        assert repr(raw) in message, message


@pytest.mark.parametrize(
    "cron", ["* * * *", "60 * * * *", "0 24 * * *", "0 0 0 * *", "0 0 * 13 *", "0 0 * * funday"]
)
def test_cron_out_of_range_is_refused(cron: str) -> None:
    with pytest.raises(settings.SettingsError, match="TITANIC_FEATURE_SCHEDULE_CRON"):
        settings.value("TITANIC_FEATURE_SCHEDULE_CRON", {"TITANIC_FEATURE_SCHEDULE_CRON": cron})


def test_a_directory_is_not_a_warehouse(tmp_path) -> None:
    with pytest.raises(settings.SettingsError, match="TITANIC_DUCKDB"):
        settings.value("TITANIC_DUCKDB", {"TITANIC_DUCKDB": str(tmp_path)})


def test_code_location_refuses_to_load_with_a_bad_value(tmp_path) -> None:
    """A bad load-time value stops the code location, as `dagster dev` would load it."""
    env = {
        **os.environ,
        "TITANIC_DUCKDB": str(tmp_path / "w.duckdb"),
        "TITANIC_SENSOR_INTERVAL_S": "abc",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import titanic_assets.definitions"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "TITANIC_SENSOR_INTERVAL_S='abc' is not allowed: a whole number" in done.stderr


def _environment_reads(path: Path) -> list[str]:
    """Reads of a TITANIC_* variable: ``os.environ[...]`` (loaded), ``.get``, ``os.getenv``.

    Writes are not reads: the demo points TITANIC_DUCKDB at its own warehouse for the code it
    runs (``os.environ.setdefault``), which then reads it through the settings module.
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        key = None
        loaded = isinstance(getattr(node, "ctx", None), ast.Load)
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ" and loaded:
            key = node.slice
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in {
            "os.environ.get",
            "os.getenv",
        }:
            key = node.args[0] if node.args else None
        if isinstance(key, ast.Constant) and str(key.value).startswith("TITANIC_"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {key.value}")
    return found


def test_only_the_settings_module_reads_titanic_variables() -> None:
    reads = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "settings.py"
        for hit in _environment_reads(path)
    ]
    assert reads == []


def test_every_titanic_name_in_the_code_is_a_known_variable() -> None:
    """A TITANIC_* name written anywhere (code, tests, benchmarks) is declared in settings."""
    import re

    names = set()
    for folder in ("titanic_assets", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"\bTITANIC_[A-Z_]+[A-Z]\b", path.read_text()))
    assert names - set(settings.VARIABLES) == set()


def test_readme_lists_every_variable_in_one_table() -> None:
    readme = (ROOT / "README.md").read_text()
    table = [line for line in readme.splitlines() if line.startswith("| `TITANIC_")]
    listed = {line.split("`")[1] for line in table}
    assert listed == set(settings.VARIABLES)

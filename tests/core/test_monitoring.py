"""Monitoring figures: metrics from counts, drift on shifted passengers, the shared verdict."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from titanic_assets import settings
from titanic_assets.core.drift import EPSILON, drift_report, feature_profile, psi
from titanic_assets.core.features import FEATURE_COLUMNS
from titanic_assets.core.metrics import classification_counts
from titanic_assets.core.monitoring import (
    PERFORMANCE_COLUMNS,
    Thresholds,
    drift_summary,
    empty_performance,
    performance_by_day,
    verdict,
    with_drift,
)

#: The documented defaults (every TITANIC_* monitoring variable unset).
DEFAULTS = settings.load({}).thresholds()


def test_classification_counts_match_hand_computed() -> None:
    # truth 1 1 0 0 1 0 1, predicted 1 0 0 1 1 0 0: tp 2, fn 2, fp 1, tn 2.
    y_true = [1, 1, 0, 0, 1, 0, 1]
    y_pred = [1, 0, 0, 1, 1, 0, 0]
    m = classification_counts(y_true, y_pred)
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (2, 1, 2, 2)
    assert m["accuracy"] == pytest.approx(4 / 7)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 4)
    assert m["f1"] == pytest.approx(2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2))  # 4/7


def test_no_labels_gives_nan_not_zero() -> None:
    m = classification_counts([], [])
    assert m["n"] == 0
    assert math.isnan(m["accuracy"]) and math.isnan(m["f1"])


def test_performance_by_day_groups_by_day_and_version() -> None:
    predictions = pd.DataFrame(
        {
            "passenger_id": ["a", "b", "c", "d"],
            "event_time": pd.to_datetime(
                ["2026-11-02 01:00", "2026-11-02 23:00", "2026-11-03 00:00", "2026-11-03 05:00"]
            ),
            "model_version": [1, 1, 1, 2],
            "predicted_survived": [1, 0, 1, 0],
        }
    )
    labels = pd.DataFrame({"passenger_id": ["a", "b", "c"], "survived": [1, 1, 0]})
    perf = performance_by_day(predictions, labels)
    assert list(perf.columns) == list(PERFORMANCE_COLUMNS)
    assert len(perf) == 3
    first = perf.iloc[0]
    assert first["day"] == pd.Timestamp("2026-11-02")
    assert (first["n_predictions"], first["n_labelled"]) == (2, 2)
    assert first["accuracy"] == pytest.approx(0.5)
    # a: survived, predicted so (tp); b: survived, predicted dead (fn).
    assert (first["tn"], first["fp"], first["fn"], first["tp"]) == (0, 0, 1, 1)
    assert (first["precision"], first["recall"]) == (1.0, 0.5)
    assert first["predicted_survival_rate"] == pytest.approx(0.5)
    assert first["actual_survival_rate"] == pytest.approx(1.0)
    unlabelled = perf[(perf["model_version"] == 2)].iloc[0]
    assert unlabelled["n_labelled"] == 0 and math.isnan(unlabelled["accuracy"])


def test_empty_performance_is_typed() -> None:
    empty = empty_performance()
    assert empty.empty and list(empty.columns) == list(PERFORMANCE_COLUMNS)
    assert str(empty["accuracy"].dtype) == "float64"
    assert performance_by_day(empty_performance().assign(event_time=[]), pd.DataFrame()).empty


def test_same_population_has_low_psi(historical_features) -> None:
    profile = feature_profile(historical_features, FEATURE_COLUMNS)
    sample = historical_features.sample(300, random_state=1)
    summary = drift_summary(profile, sample)
    assert summary["max_psi"] < 0.1, summary
    assert abs(summary["survival_rate_shift"]) < 0.1
    # With the counts the verdict needs (enough scored and labelled passengers for both rules
    # to apply), a same-population day is healthy ...
    day = {**summary, "n_predictions": len(sample), "n_labelled": len(sample), "accuracy": 0.8}
    assert len(sample) >= max(DEFAULTS.min_scored_for_drift, DEFAULTS.min_labelled)
    assert verdict(day, DEFAULTS) == []
    # ... and the same row with a PSI over the ceiling is not (the check above can fail).
    assert verdict({**day, "max_psi": DEFAULTS.psi_ceiling + 0.1}, DEFAULTS)


def test_shifted_class_and_age_mix_is_reported_as_drift(historical_features) -> None:
    """The generator's drift option shifts who boards: more 1st class, older passengers."""
    profile = feature_profile(historical_features, FEATURE_COLUMNS)
    rich = historical_features[historical_features["pclass"] == 1]
    drifted = rich.sample(300, replace=True, random_state=2).copy()
    drifted["age"] = drifted["age"] + 20.0
    summary = drift_summary(profile, drifted)
    assert summary["max_psi"] > DEFAULTS.psi_ceiling, summary
    assert summary["max_psi_feature"] in {"pclass", "age", "fare"}
    reasons = verdict({**summary, "n_predictions": len(drifted)}, DEFAULTS)
    assert reasons and "drift" in reasons[0]


def test_drift_needs_enough_scored_passengers(historical_features) -> None:
    """PSI on a 20-passenger day is mostly sampling noise: no verdict until enough are scored."""
    profile = feature_profile(historical_features, FEATURE_COLUMNS)
    small = historical_features.sample(20, random_state=5)
    summary = drift_summary(profile, small)
    assert summary["max_psi"] > DEFAULTS.psi_ceiling  # noise alone crosses the ceiling
    assert verdict({**summary, "n_predictions": 20}, DEFAULTS) == []
    assert verdict({**summary, "n_predictions": 500}, DEFAULTS)


def test_with_drift_fills_columns_as_json(historical_features) -> None:
    profile = feature_profile(historical_features, FEATURE_COLUMNS)
    day = historical_features.head(50).assign(
        event_time=pd.Timestamp("2026-11-02 10:00"), model_version=3
    )
    day["predicted_survived"] = day["survived"]
    perf = with_drift(performance_by_day(day, day), {3: drift_summary(profile, day)})
    row = perf.iloc[0]
    assert row["accuracy"] == 1.0
    assert set(json.loads(row["psi_by_feature"])) == set(FEATURE_COLUMNS)
    assert np.isfinite(row["max_psi"])


def test_verdict_needs_enough_labels_for_accuracy() -> None:
    t = Thresholds(accuracy_floor=0.7, min_labelled=30, psi_ceiling=0.25, min_scored_for_drift=1)
    assert verdict({"n_labelled": 10, "accuracy": 0.2, "max_psi": 0.01}, t) == []
    # The minimum is inclusive: one label short is not judged, exactly min_labelled is.
    assert verdict({"n_labelled": 29, "accuracy": 0.2, "max_psi": 0.01}, t) == []
    assert verdict({"n_labelled": 30, "accuracy": 0.2, "max_psi": 0.01}, t)
    reasons = verdict({"n_labelled": 40, "accuracy": 0.6, "max_psi": 0.01}, t)
    assert len(reasons) == 1 and "accuracy" in reasons[0]
    assert verdict({"n_labelled": 40, "accuracy": 0.8, "max_psi": float("nan")}, t) == []


def test_verdict_boundaries_are_the_documented_ones() -> None:
    """Accuracy exactly at the floor and PSI exactly at the ceiling are healthy; one step past
    either is not; drift needs min_scored_for_drift scored passengers, that many included."""
    t = Thresholds(accuracy_floor=0.75, min_labelled=30, psi_ceiling=0.25,
                   min_scored_for_drift=200)  # fmt: skip
    labelled = {"n_labelled": 100, "max_psi": 0.0, "n_predictions": 200}
    assert verdict({**labelled, "accuracy": 0.75}, t) == []
    assert verdict({**labelled, "accuracy": 0.74}, t)
    scored = {"n_labelled": 0, "accuracy": float("nan"), "n_predictions": 200}
    assert verdict({**scored, "max_psi": 0.25}, t) == []
    assert verdict({**scored, "max_psi": 0.26}, t)
    assert verdict({**scored, "max_psi": 0.26, "n_predictions": 199}, t) == []


def test_thresholds_from_settings() -> None:
    t = settings.load(
        {"TITANIC_ACCURACY_FLOOR": "0.8", "TITANIC_MIN_LABELLED": "5", "TITANIC_PSI_CEILING": ""}
    ).thresholds()
    assert t == Thresholds(
        accuracy_floor=0.8, min_labelled=5, psi_ceiling=0.25, min_scored_for_drift=200
    )
    with pytest.raises(ValueError, match="TITANIC_PSI_CEILING"):
        settings.load({"TITANIC_PSI_CEILING": "high"})


# --- PSI maths ---------------------------------------------------------------------------------


def test_psi_of_identical_distributions_is_zero() -> None:
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    values = pd.DataFrame({"x": np.arange(100, dtype=float), "c": [0.0, 1.0] * 50})
    profile = feature_profile(values, ["x", "c"])
    assert drift_report(profile, values) == {"x": 0.0, "c": 0.0}


def test_psi_matches_the_formula_and_is_symmetric() -> None:
    e, a = [0.5, 0.5], [0.8, 0.2]
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi(e, a) == pytest.approx(expected)
    assert psi(a, e) == pytest.approx(expected)
    assert psi(e, a) > 0


def test_empty_bins_give_a_large_but_finite_psi() -> None:
    """A bin empty on one side is floored at EPSILON: PSI stays finite instead of infinite."""
    value = psi([0.5, 0.5, 0.0], [0.0, 0.5, 0.5])
    assert math.isfinite(value)
    floored = 2 * (0.5 - EPSILON) * math.log(0.5 / EPSILON)
    assert value == pytest.approx(floored)
    assert value > 0.25  # a whole bin moving is a major shift


def test_unseen_categories_land_in_the_trailing_bin() -> None:
    train = pd.DataFrame({"pclass": [1.0, 2.0, 3.0, 3.0]})
    profile = feature_profile(train, ["pclass"])
    spec = profile["columns"]["pclass"]
    assert spec["kind"] == "categorical" and spec["categories"] == [1.0, 2.0, 3.0]
    assert spec["proportions"] == [0.25, 0.25, 0.5, 0.0]  # trailing bin: missing or unseen
    unseen = pd.DataFrame({"pclass": [4.0, 4.0, 4.0, 4.0]})
    report = drift_report(profile, unseen)
    assert math.isfinite(report["pclass"]) and report["pclass"] > 1.0
    half = pd.DataFrame({"pclass": [1.0, 2.0, 4.0, 4.0]})
    assert 0.25 < drift_report(profile, half)["pclass"] < report["pclass"]


def test_all_missing_values_are_drift_not_an_error() -> None:
    train = pd.DataFrame({"age": np.linspace(1.0, 80.0, 200)})
    profile = feature_profile(train, ["age"])
    spec = profile["columns"]["age"]
    assert spec["kind"] == "numeric" and spec["proportions"][-1] == 0.0  # no missing in training
    missing = pd.DataFrame({"age": [np.nan] * 50})
    report = drift_report(profile, missing)
    assert math.isfinite(report["age"]) and report["age"] > 0.25
    # Missing values in training are profiled in the trailing bin, too.
    with_missing = feature_profile(pd.DataFrame({"c": [1.0, np.nan, 1.0, np.nan]}), ["c"])
    assert with_missing["columns"]["c"]["proportions"] == [0.5, 0.5]


def test_an_empty_day_reports_no_psi() -> None:
    profile = feature_profile(pd.DataFrame({"x": [1.0, 2.0]}), ["x"])
    assert drift_report(profile, pd.DataFrame({"x": pd.Series([], dtype=float)})) == {}


def test_scored_rows_in_order_give_the_same_figures_as_the_join(historical_features) -> None:
    """The no-join path (predictions row i is features row i) must agree with the join."""
    from titanic_assets.core.monitoring import monitor_day, same_passengers

    profile = feature_profile(historical_features, FEATURE_COLUMNS)
    features = historical_features.head(400).reset_index(drop=True).copy()
    features.loc[::7, "survived"] = np.nan  # some labels not known yet
    rng = np.random.default_rng(0)
    predictions = features[["passenger_id", "event_time"]].assign(
        model_version=3, predicted_survived=rng.integers(0, 2, len(features))
    )
    shuffled = predictions.sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert same_passengers(predictions, features)
    assert not same_passengers(shuffled, features)
    assert not same_passengers(predictions.head(399), features)

    aligned = monitor_day(predictions, features, {3: profile})
    joined = monitor_day(shuffled, features, {3: profile})
    pd.testing.assert_frame_equal(aligned, joined)
    assert aligned["n_labelled"].sum() == features["survived"].notna().sum()

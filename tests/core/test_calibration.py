"""Brier, ECE, reliability table and the paired difference on hand-worked small data."""

from __future__ import annotations

import math

import pytest

from titanic_assets.core.calibration import (
    ECE_BINS,
    Z_95,
    bin_index,
    brier_score,
    calibration,
    expected_calibration_error,
    paired_difference,
    reliability_table,
)

# Five passengers: bins 9, 0, 6, 6, 6 (10 equal-width bins).
Y = [1, 0, 1, 1, 0]
P = [0.95, 0.05, 0.65, 0.62, 0.68]


def test_brier_by_hand() -> None:
    # 0.05^2 + 0.05^2 + 0.35^2 + 0.38^2 + 0.68^2 = 0.7343, over 5
    assert brier_score(Y, P) == pytest.approx(0.14686)


def test_ece_by_hand() -> None:
    # bin 9: |0.95 - 1| = 0.05 (n=1); bin 0: |0.05 - 0| = 0.05 (n=1);
    # bin 6: |0.65 - 2/3| = 1/60 (n=3)  ->  (0.05 + 0.05 + 3/60) / 5 = 0.03
    assert expected_calibration_error(Y, P) == pytest.approx(0.03)


def test_reliability_table_counts_and_rates() -> None:
    table = reliability_table(Y, P)
    assert len(table) == ECE_BINS
    assert [row["n"] for row in table] == [1, 0, 0, 0, 0, 0, 3, 0, 0, 1]
    assert table[6]["mean_predicted"] == pytest.approx(0.65)
    assert table[6]["observed_rate"] == pytest.approx(2 / 3)
    assert math.isnan(table[1]["mean_predicted"]) and math.isnan(table[1]["observed_rate"])
    assert (table[6]["lower"], table[6]["upper"]) == (0.6, 0.7)


def test_bin_edges_equal_width_and_one_in_the_last_bin() -> None:
    assert bin_index([0.0, 0.0999, 0.1, 0.5, 0.9999, 1.0]).tolist() == [0, 0, 1, 5, 9, 9]


def test_perfectly_calibrated_bins_have_zero_ece() -> None:
    # bin 2: mean 0.25, 1 of 4 survived; bin 7: mean 0.75, 3 of 4 survived
    assert expected_calibration_error(
        [0, 0, 0, 1, 1, 1, 1, 0], [0.25] * 4 + [0.75] * 4
    ) == pytest.approx(0.0)


def test_empty_is_undefined_and_json_safe() -> None:
    assert math.isnan(brier_score([], [])) and math.isnan(expected_calibration_error([], []))
    figures = calibration([], [])
    assert figures["brier"] is None and figures["ece"] is None
    assert all(row["n"] == 0 and row["observed_rate"] is None for row in figures["reliability"])


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="has 3 values but y_prob has 2"):
        brier_score([1, 0, 1], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expected_calibration_error([1], [1.2])


def test_paired_difference_by_hand() -> None:
    y = [1, 0, 1, 1, 0]
    reference = [0.9, 0.2, 0.4, 0.6, 0.7]  # right, right, wrong, right, wrong
    challenger = [0.8, 0.3, 0.6, 0.4, 0.2]  # right, right, right, wrong, right
    d = paired_difference(y, reference, challenger)
    # per-passenger difference 0, 0, +1, -1, +1: mean 0.2, sample variance (3 - 5*0.04)/4 = 0.7
    se = math.sqrt(0.7) / math.sqrt(5)
    assert (d.n, d.wins, d.losses) == (5, 2, 1)
    assert d.accuracy_difference == pytest.approx(0.2)
    assert d.accuracy_se == pytest.approx(se)
    assert d.accuracy_ci_low == pytest.approx(0.2 - Z_95 * se)
    assert d.accuracy_ci_high == pytest.approx(0.2 + Z_95 * se)
    # squared errors: challenger 0.04 .09 .16 .36 .04 (0.69), reference .01 .04 .36 .16 .49 (1.06)
    assert d.brier_difference == pytest.approx((0.69 - 1.06) / 5)


def test_paired_difference_of_one_row_has_no_spread() -> None:
    d = paired_difference([1], [0.9], [0.1])
    assert d.accuracy_difference == -1.0 and math.isnan(d.accuracy_se)
    assert d.as_dict()["accuracy_se"] is None

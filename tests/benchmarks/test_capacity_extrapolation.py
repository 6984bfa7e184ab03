"""Scenario 8's extrapolation: a least-squares line through every measured rate, and no rate
(never a negative or infinite one) when the measured times do not grow with the rate."""

import pytest

from benchmarks.scenarios.capacity import extrapolate, fit_line


def test_the_line_goes_through_every_point_and_reaches_the_limit_where_it_should():
    # 2 s fixed + 10 s per million, with noise that a two-point line would follow.
    points = [(10_000, 2.1), (100_000, 3.0), (1_000_000, 11.5), (3_000_000, 32.0)]
    intercept, slope = fit_line(points)
    assert slope * 1e6 == pytest.approx(10.0, rel=0.05)
    out = extrapolate(points, 900.0)
    assert out["rate"] == pytest.approx((900.0 - intercept) / slope)
    assert out["times_largest_measured"] == pytest.approx(out["rate"] / 3_000_000)


def test_no_growth_measured_gives_no_rate():
    # The loaded-machine run that printed "~-1926M/h": 1M and 3M as fast as 100k.
    points = [(100_000, 36.6), (1_000_000, 34.1), (3_000_000, 33.2)]
    out = extrapolate(points, 900.0)
    assert out["rate"] is None and "no growth" in out["why_none"]
    assert extrapolate([(10_000, 1.0)], 900.0) == {
        "rate": None,
        "why_none": "fewer than two measured rates",
    }

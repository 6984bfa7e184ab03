"""`--sizes` / `--memory-n`: the benchmark at other passenger counts, repetitions kept."""

import argparse

import pytest

from benchmarks import run as bench


def test_resize_keeps_known_repetitions_and_defaults_new_sizes_to_one():
    out = bench.resize(bench.FULL, [10_000, 50_000], 0)
    assert out["sizes"] == [10_000, 50_000]
    assert out["reps"] == {10_000: bench.FULL["reps"][10_000], 50_000: 1}
    assert out["launched_reps"] == {10_000: bench.FULL["launched_reps"][10_000], 50_000: 1}
    assert out["memory_n"] == 0
    assert bench.FULL["sizes"] == [10_000, 100_000, 1_000_000]  # the defaults are untouched


def test_resize_without_overrides_is_the_same_settings():
    assert bench.resize(bench.QUICK, None, None) == bench.QUICK


@pytest.mark.parametrize("text", ["", "0", "10,-5", "ten"])
def test_bad_sizes_are_refused(text):
    with pytest.raises((argparse.ArgumentTypeError, ValueError)):
        bench._sizes(text)

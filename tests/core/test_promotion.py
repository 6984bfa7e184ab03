"""The champion/challenger rule and the training-window rules, on hand-built figures."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from titanic_assets.core.monitoring import Thresholds
from titanic_assets.core.promotion import Comparison, compare, decide
from titanic_assets.core.training_set import (
    EXCLUDED,
    HOLDOUT,
    TRAIN,
    TrainingSetError,
    assign_splits,
    parse_cutoff,
    recent_mask,
    regime_start,
    widen_window,
    window_lineage,
)


def comparison(name, n, mine, theirs, wins, losses) -> Comparison:
    return Comparison(name, n, mine, theirs, wins, losses)


def test_compare_counts_discordant_pairs_and_z():
    labels = [1, 1, 0, 0, 1]
    challenger = [0.9, 0.8, 0.2, 0.7, 0.1]  # right, right, right, wrong, wrong
    champion = [0.1, 0.8, 0.2, 0.2, 0.1]  # wrong, right, right, right, wrong
    c = compare("recent", labels, challenger, champion)
    assert (c.n, c.wins, c.losses) == (5, 1, 1)
    assert c.challenger_accuracy == c.champion_accuracy == 0.6 and c.z == 0.0
    assert comparison("x", 100, 0.8, 0.7, 16, 4).z == pytest.approx(12 / np.sqrt(20))


def test_first_model_and_unloadable_champion():
    assert decide(1, None, None, None).promote
    broken = decide(2, 1, None, None, champion_error="signature does not verify")
    assert not broken.promote and "could not be evaluated" in broken.reason


def test_tie_or_noise_keeps_the_champion():
    recent = comparison("recent", 100, 0.78, 0.77, 6, 5)
    holdout = comparison("holdout", 300, 0.81, 0.80, 12, 9)
    decision = decide(3, 2, recent, holdout)
    assert not decision.promote and "v2 stays champion" in decision.reason


def test_significantly_better_on_recent_with_the_holdout_guard_held():
    recent = comparison("recent", 100, 0.80, 0.68, 15, 3)
    holdout = comparison("holdout", 300, 0.80, 0.81, 10, 13)
    assert decide(3, 2, recent, holdout).promote


def test_worse_on_holdout_blocks_unless_the_champion_degraded():
    recent = comparison("recent", 100, 0.80, 0.68, 15, 3)
    worse_holdout = comparison("holdout", 300, 0.70, 0.75, 10, 25)  # champion 0.75 -> 0.68
    kept = decide(3, 2, recent, worse_holdout)
    assert not kept.promote and "has not degraded" in kept.reason
    collapsed = comparison("recent", 100, 0.80, 0.20, 62, 2)  # champion 0.81 -> 0.20
    old = comparison("holdout", 300, 0.30, 0.81, 10, 160)
    regime = decide(3, 2, collapsed, old)
    assert regime.promote and "regime change" in regime.reason


def test_worse_on_recent_is_kept_even_if_better_on_holdout():
    recent = comparison("recent", 100, 0.60, 0.75, 2, 17)
    holdout = comparison("holdout", 300, 0.85, 0.80, 30, 15)
    assert not decide(3, 2, recent, holdout).promote


def test_too_few_recent_rows_falls_back_to_the_holdout():
    tiny = comparison("recent", 10, 1.0, 0.5, 5, 0)
    level = comparison("holdout", 300, 0.80, 0.80, 10, 10)
    assert not decide(3, 2, tiny, level).promote
    better = comparison("holdout", 300, 0.84, 0.78, 25, 7)
    assert decide(3, 2, tiny, better).promote


def _frame(n: int, start: str, every: str = "1h") -> pd.DataFrame:
    times = pd.date_range(start, periods=n, freq=every)
    return pd.DataFrame(
        {
            "passenger_id": [f"p{i}" for i in range(n)],
            "event_time": times.astype("datetime64[us]"),
            "survived": np.arange(n) % 2,
        }
    )


def test_splits_window_and_recent_set():
    frame = assign_splits(_frame(400, "2026-11-01"), datetime(2026, 11, 10))
    before = frame["event_time"] < pd.Timestamp("2026-11-10")
    assert set(frame.loc[before, "split"]) == {EXCLUDED, HOLDOUT}
    assert set(frame.loc[~before, "split"]) == {TRAIN, HOLDOUT}
    recent = frame[recent_mask(frame, hours=24)]
    assert (recent["split"] == HOLDOUT).all()
    assert recent["event_time"].min() > frame["event_time"].max() - pd.Timedelta(hours=24)
    lineage = window_lineage(frame, "model_degradation", 24)
    assert lineage["window_start"].startswith("2026-11-10")
    assert lineage["excluded_rows"] + lineage["train_rows"] + lineage["holdout_rows"] == 400
    assert window_lineage(assign_splits(frame, None), "x", 24)["window_start"] is None


def test_a_short_window_is_widened_to_the_minimum_rows():
    times = _frame(500, "2026-11-01")["event_time"]
    late = datetime(2026, 11, 21, 12)  # only the last few rows
    widened = widen_window(times, late, min_rows=200)
    assert int((times >= pd.Timestamp(widened)).sum()) == 200
    assert widen_window(times, datetime(2026, 11, 2), min_rows=200) == datetime(2026, 11, 2)
    assert widen_window(times.head(100), late, min_rows=200) is None


def test_regime_start_walks_back_over_consecutive_degraded_days():
    bad = {"n_labelled": 400, "accuracy": 0.2, "max_psi": 0.1, "n_predictions": 400}
    good = {**bad, "accuracy": 0.8}
    rows = [
        {"day": "2026-11-20", **bad},  # an older incident, separated by a healthy day
        {"day": "2026-11-21", **good},
        {"day": "2026-11-22", **bad},
        {"day": "2026-11-23", **bad},
        {"day": "2026-11-23", **good},  # a second version the same day: still degraded
    ]
    thresholds = Thresholds(
        accuracy_floor=0.7, min_labelled=30, psi_ceiling=0.25, min_scored_for_drift=200
    )
    assert regime_start(rows, datetime(2026, 11, 23), thresholds) == datetime(2026, 11, 22)
    assert regime_start([], datetime(2026, 11, 23), thresholds) == datetime(2026, 11, 23)


def test_bad_cutoff_is_a_training_set_error():
    with pytest.raises(TrainingSetError, match="not an ISO timestamp"):
        parse_cutoff("last tuesday")
    assert parse_cutoff("2026-11-01T12:00+01:00") == datetime(2026, 11, 1, 11)

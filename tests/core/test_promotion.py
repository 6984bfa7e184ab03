"""The champion/challenger rule and the training-window rules, on hand-built figures."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from titanic_assets.core.monitoring import Thresholds
from titanic_assets.core.promotion import Comparison, PromotionPolicy, compare, decide
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
    first = decide(1, None, None, None)
    assert first.promote and first.reason == "v1 promoted: first model, no champion yet"
    broken = decide(2, 1, None, None, champion_error="signature does not verify")
    assert not broken.promote
    assert "champion v1 could not be evaluated (signature does not verify)" in broken.reason
    # Figures that would promote under any later rule do not matter when the champion is broken.
    recent = comparison("recent", 100, 0.90, 0.50, 40, 0)
    holdout = comparison("holdout", 300, 0.90, 0.50, 120, 0)
    assert not decide(2, 1, recent, holdout, champion_error="gone").promote


# Each rule of core/promotion.py below has an example that meets that rule alone (the figures are
# chosen so that no other rule would give the same decision), and the reason is asserted: a rule
# that never fires, or fires in place of another, fails its own test.


def test_tie_or_noise_keeps_the_champion():
    recent = comparison("recent", 100, 0.78, 0.77, 6, 5)  # z = 0.30
    holdout = comparison("holdout", 300, 0.81, 0.80, 12, 9)  # z = 0.65
    decision = decide(3, 2, recent, holdout)
    assert not decision.promote
    assert decision.reason.startswith("v3 not promoted: no significant gain")
    assert decision.reason.endswith("v2 stays champion")


def test_significantly_better_on_recent_with_the_holdout_guard_held():
    # recent: z = 12 / sqrt(18) = 2.83; the champion has NOT degraded (recent 0.75 vs holdout
    # 0.80, within the 0.10 margin), so only the guard branch can promote; the holdout is
    # insignificantly worse (z = -0.63), within the 0.02 tolerance.
    recent = comparison("recent", 100, 0.80, 0.75, 15, 3)
    holdout = comparison("holdout", 300, 0.79, 0.80, 10, 13)
    decision = decide(3, 2, recent, holdout)
    assert decision.promote
    assert decision.reason == (
        "v3 promoted: better on recent passengers, holdout guard held; "
        "recent accuracy 0.8000 vs champion v2 0.7500 (n=100, z=+2.83); "
        "holdout accuracy 0.7900 vs champion v2 0.8000 (n=300, z=-0.63)"
    )


def test_worse_on_holdout_without_degradation_keeps_the_champion():
    recent = comparison("recent", 100, 0.80, 0.75, 15, 3)  # champion 0.75 recent vs 0.80 holdout
    worse_holdout = comparison("holdout", 300, 0.70, 0.80, 10, 40)  # beyond the 0.02 tolerance
    kept = decide(3, 2, recent, worse_holdout)
    assert not kept.promote
    assert kept.reason.startswith(
        "v3 not promoted: better on recent passengers but worse on the holdout while the "
        "champion has not degraded;"
    )
    assert kept.reason.endswith("v2 stays champion")


def test_regime_change_promotes_despite_a_worse_holdout():
    collapsed = comparison("recent", 100, 0.80, 0.20, 62, 2)  # champion 0.81 -> 0.20
    old = comparison("holdout", 300, 0.30, 0.81, 10, 160)  # guard fails, holdout z = -11.5
    regime = decide(3, 2, collapsed, old)
    assert regime.promote
    assert regime.reason.startswith("v3 promoted: regime change, champion degraded on recent")
    # Both promoting branches met (guard held and champion degraded): the guard's reason, first.
    held = comparison("holdout", 300, 0.81, 0.81, 0, 0)
    assert "holdout guard held" in decide(3, 2, collapsed, held).reason


def test_worse_on_recent_is_kept_even_if_better_on_holdout():
    recent = comparison("recent", 100, 0.60, 0.75, 2, 17)  # z = -3.44
    holdout = comparison("holdout", 300, 0.85, 0.80, 30, 15)  # z = +2.24: rule 5 would promote
    decision = decide(3, 2, recent, holdout)
    assert not decision.promote
    assert decision.reason.startswith("v3 not promoted: worse on recent passengers;")


def test_too_few_recent_rows_falls_back_to_the_holdout():
    tiny = comparison("recent", 10, 1.0, 0.5, 5, 0)  # z = 2.24 but n < 30
    level = comparison("holdout", 300, 0.80, 0.80, 10, 10)
    kept = decide(3, 2, tiny, level)
    assert not kept.promote and "no significant gain" in kept.reason
    better = comparison("holdout", 300, 0.84, 0.78, 25, 7)  # z = 3.18
    promoted = decide(3, 2, tiny, better)
    assert promoted.promote
    assert promoted.reason.startswith("v3 promoted: significantly better on the holdout;")
    worse_tiny = comparison("recent", 10, 0.5, 1.0, 0, 5)  # significantly worse, but n < 30
    assert decide(3, 2, worse_tiny, better).promote
    assert decide(3, 2, None, better).promote  # no recent set at all


def test_level_on_recent_falls_back_to_the_holdout():
    level = comparison("recent", 100, 0.80, 0.80, 5, 5)  # enough rows, z = 0
    better = comparison("holdout", 300, 0.84, 0.78, 25, 7)
    decision = decide(3, 2, level, better)
    assert decision.promote and "significantly better on the holdout" in decision.reason


def test_thresholds_are_inclusive_where_the_policy_says_reach():
    """z reaching the threshold counts, n reaching min_recent_rows counts, the tolerance is a
    bound the guard may touch, and degradation must exceed its margin (exact binary figures)."""
    policy = PromotionPolicy(z=2.0, holdout_tolerance=0.25, degradation_margin=0.25,
                             min_recent_rows=30)  # fmt: skip
    at_z = comparison("recent", 30, 0.75, 0.625, 4, 0)  # z = 4 / 2 = 2.0, n = 30
    guard_touched = comparison("holdout", 300, 0.5, 0.75, 0, 0)  # 0.5 == 0.75 - 0.25
    assert decide(3, 2, at_z, guard_touched, policy=policy).promote
    below_n = comparison("recent", 29, 0.75, 0.625, 4, 0)
    assert not decide(3, 2, below_n, guard_touched, policy=policy).promote
    below_z = comparison("recent", 30, 0.75, 0.625, 7, 2)  # z = 5 / 3 = 1.67
    assert not decide(3, 2, below_z, guard_touched, policy=policy).promote
    beyond_guard = comparison("holdout", 300, 0.5, 0.875, 0, 0)
    # champion recent 0.625 vs holdout 0.875: exactly the 0.25 margin, not beyond it.
    kept = decide(3, 2, at_z, beyond_guard, policy=policy)
    assert not kept.promote and "has not degraded" in kept.reason
    degraded = comparison("recent", 30, 0.75, 0.5, 4, 0)  # 0.5 < 0.875 - 0.25
    assert "regime change" in decide(3, 2, degraded, beyond_guard, policy=policy).reason
    worse_at_z = comparison("recent", 30, 0.625, 0.75, 0, 4)  # z = -2.0
    better_holdout = comparison("holdout", 300, 0.9, 0.5, 100, 0)
    assert not decide(3, 2, worse_at_z, better_holdout, policy=policy).promote
    assert decide(3, 2, None, comparison("holdout", 300, 0.9, 0.8, 4, 0), policy=policy).promote


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

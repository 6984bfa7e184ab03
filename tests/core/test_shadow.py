"""Champion vs shadow on the same labelled passengers, counted by hand; the shadow rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from titanic_assets.core.promotion import MAX_SHADOWS, shadow_candidates
from titanic_assets.core.shadow import COMPARISON_COLUMNS, shadow_comparison, shadow_scored


def _scored() -> pd.DataFrame:
    day = pd.Timestamp("2026-11-04 09:00")
    return pd.DataFrame(
        {
            "event_time": [day] * 6,
            "model_version": [1] * 6,
            "survival_probability": [0.9, 0.2, 0.4, 0.6, 0.7, 0.8],
            "predicted_survived": [1, 0, 0, 1, 1, 1],
            "survived": [1, 0, 1, 1, 0, np.nan],  # the last one not known yet
            "is_female": [1, 0, 1, 0, 1, 1],
            "pclass": [1, 3, 2, 3, 1, 2],
        }
    )


def test_comparison_same_passengers_by_hand() -> None:
    shadow = np.array([0.8, 0.3, 0.6, 0.4, 0.2, np.nan])  # did not score the last passenger
    out = shadow_comparison(_scored(), {2: shadow})
    assert list(out.columns) == list(COMPARISON_COLUMNS) and len(out) == 1
    row = out.iloc[0]
    # five labelled passengers scored by both: champion right 3 (0, 1, 3), shadow right 4
    assert (row["champion_version"], row["shadow_version"], row["n_labelled"]) == (1, 2, 5)
    assert row["champion_accuracy"] == pytest.approx(0.6)
    assert row["shadow_accuracy"] == pytest.approx(0.8)
    assert (row["wins"], row["losses"]) == (2, 1)
    assert row["accuracy_difference"] == pytest.approx(0.2)
    # champion: tp 2 (0, 3), fp 1 (4), fn 1 (2) -> F1 = 4/6; shadow: tp 2, fp 0, fn 1 -> 4/5
    assert row["champion_f1"] == pytest.approx(2 / 3)
    assert row["shadow_f1"] == pytest.approx(0.8)
    assert row["champion_brier"] == pytest.approx(1.06 / 5)
    assert row["shadow_brier"] == pytest.approx(0.69 / 5)
    assert row["accuracy_ci_low"] < 0.2 < row["accuracy_ci_high"]


def test_no_shadow_no_rows() -> None:
    assert shadow_comparison(_scored(), {}).empty


def test_shadow_scored_takes_the_shadows_numbers() -> None:
    out = shadow_scored(_scored(), 7, [0.1, 0.9, np.nan, 0.5, 0.49, 0.2])
    assert len(out) == 5 and (out["model_version"] == 7).all()
    assert out["predicted_survived"].tolist() == [0, 1, 1, 0, 0]


def test_shadow_candidates_newest_after_the_champion() -> None:
    assert MAX_SHADOWS == 2
    assert shadow_candidates([1, 2, 3, 4, 5], champion=2) == [5, 4]
    assert shadow_candidates([1, 2, 3], champion=3) == []
    assert shadow_candidates([1, 2, 3], champion=1) == [3, 2]
    assert shadow_candidates([1, 2], champion=None) == []


def _day(n: int, wins: int, losses: int, champion_brier=0.16, shadow_brier=0.15) -> dict:
    return {"n_labelled": n, "wins": wins, "losses": losses,
            "champion_brier": champion_brier, "shadow_brier": shadow_brier}  # fmt: skip


def test_live_rule_promotes_on_pooled_consistent_evidence() -> None:
    from titanic_assets.core.promotion import decide_live

    days = [_day(100, 12, 4), _day(100, 10, 5), _day(100, 9, 3)]
    # pooled: 31 wins, 12 losses -> z = 19 / sqrt(43) = 2.90; better on 3 of 3 days
    decision = decide_live(3, 2, days)
    assert decision.promote and decision.evidence == "live_shadow"
    assert "z=+2.90" in decision.reason and "300 labelled" in decision.reason


def test_live_rule_never_decides_on_one_day_or_few_passengers() -> None:
    from titanic_assets.core.promotion import decide_live

    one_huge_day = [_day(1000, 80, 10)]
    assert not decide_live(3, 2, one_huge_day).promote  # 1 day < 3
    small = [_day(40, 10, 1)] * 3  # 120 labelled < 200
    assert "too little live evidence" in decide_live(3, 2, small).reason


def test_live_rule_keeps_the_champion_when_one_day_carries_the_pool() -> None:
    from titanic_assets.core.promotion import decide_live

    # pooled z = (40 - 14) / sqrt(54) = 3.54, but the shadow is better on 1 of 3 days only
    lucky = [_day(100, 30, 2), _day(100, 5, 6), _day(100, 5, 6)]
    decision = decide_live(3, 2, lucky)
    assert not decision.promote and "not conclusive" in decision.reason
    # significantly better decisions but worse probabilities: kept too
    worse_brier = [_day(100, 12, 4, 0.15, 0.20)] * 3
    assert not decide_live(3, 2, worse_brier).promote
    # z just below 1.645: 20 wins vs 12 losses -> 8 / sqrt(32) = 1.41
    level = [_day(100, 7, 4), _day(100, 7, 4), _day(100, 6, 4)]
    assert not decide_live(3, 2, level).promote

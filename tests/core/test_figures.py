"""The chart sets the assets publish and the plain benchmark draws: which charts, for what."""

from __future__ import annotations

import numpy as np
import pandas as pd

from titanic_assets.core import figures
from titanic_assets.core.drift import feature_profile
from titanic_assets.core.monitoring import monitor_scored

DAY = pd.Timestamp("2026-11-03")


def _scored(n: int, version: int, labelled: bool = True, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, n)
    survived = (rng.uniform(0, 1, n) < p).astype(float)
    return pd.DataFrame(
        {
            "event_time": DAY + pd.to_timedelta(rng.uniform(0, 86_000, n), unit="s"),
            "model_version": version,
            "survival_probability": p,
            "predicted_survived": (p >= 0.5).astype(int),
            "survived": survived if labelled else np.nan,
            "is_female": rng.integers(0, 2, n).astype(float),
            "pclass": rng.integers(1, 4, n).astype(float),
        }
    )


def _alt(markdown: str) -> str:
    assert markdown.startswith("![") and "data:image/png;base64," in markdown
    return markdown[2 : markdown.index("](")]


def _other_day(day: str, tn: int, fp: int, fn: int, tp: int) -> dict:
    n = tn + fp + fn + tp
    return {"day": pd.Timestamp(day), "model_version": 1, "n_predictions": n, "n_labelled": n,
            "accuracy": (tn + tp) / n, "f1": 0.5, "tn": tn, "fp": fp, "fn": fn, "tp": tp,
            "max_psi": 0.01}  # fmt: skip


def test_a_day_headlines_the_version_that_scored_most_and_counts_every_stored_day() -> None:
    scored = pd.concat([_scored(300, 2), _scored(100, 3, seed=1)], ignore_index=True)
    performance = monitor_scored(scored, {})
    other_days = pd.DataFrame(
        [_other_day("2026-11-01", 5, 1, 1, 3), _other_day("2026-11-02", 4, 0, 2, 4)]
    )
    live = figures.live_calibration(scored)
    charts = figures.day_figures(performance, other_days.iloc[:0], other_days, live)

    assert list(charts) == ["confusion_matrix", "rolling_accuracy",
                            "confusion_matrix_all_history", "reliability_diagram"]  # fmt: skip
    assert _alt(charts["confusion_matrix"]) == "Model v2, 2026-11-03"
    assert _alt(charts["confusion_matrix_all_history"]) == "All labelled history, 3 days"
    assert _alt(charts["rolling_accuracy"]) == "Last 1 days"  # history was empty
    assert _alt(charts["reliability_diagram"]) == "Reliability, v2, v3 (n=400)"
    assert live.versions == (2, 3) and live.n_labelled == 400
    assert 0 <= live.figures["ece"] <= 1


def test_drift_is_drawn_only_with_a_profile_and_reliability_only_with_labels() -> None:
    scored = _scored(200, 2, labelled=False)
    profile = feature_profile(_scored(200, 1, seed=5), ["pclass", "is_female"])
    without = monitor_scored(scored, {})
    with_profile = monitor_scored(scored, {2: profile})
    live = figures.live_calibration(scored)
    charts = figures.day_figures(with_profile, without.iloc[:0], pd.DataFrame(), live)
    assert live.n_labelled == 0 and "reliability_diagram" not in charts
    assert _alt(charts["psi_by_feature"]) == "Drift per feature"
    assert "psi_by_feature" not in figures.day_figures(without, without, pd.DataFrame(), live)


def test_a_day_without_predictions_draws_nothing() -> None:
    empty = monitor_scored(_scored(0, 2), {})
    live = figures.live_calibration(_scored(0, 2))
    assert figures.day_figures(empty, empty, pd.DataFrame(), live) == {}


def test_the_rolling_chart_keeps_the_last_fourteen_days() -> None:
    history = monitor_scored(
        pd.concat(
            [_scored(20, 2, seed=i).assign(event_time=DAY - pd.Timedelta(days=i))
             for i in range(1, 21)],
            ignore_index=True,
        ),
        {},
    )  # fmt: skip
    today = monitor_scored(_scored(50, 2), {})
    live = figures.live_calibration(_scored(50, 2))
    charts = figures.day_figures(today, history, pd.DataFrame(), live)
    assert _alt(charts["rolling_accuracy"]) == f"Last {figures.ROLLING_DAYS} days"

"""The sex x class segment rule and its figures on hand-counted passengers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from titanic_assets.core.segments import (
    SEGMENT_COLUMNS,
    SEGMENTS,
    segment_codes,
    segment_names,
    segment_performance,
    segment_reasons,
    segment_table,
    served_segment_reasons,
)

IS_FEMALE = [1, 1, 1, 0, 0, 0, 0, 1]
PCLASS = [1, 3, 3, 3, 3, 1, 2, 3]
PREDICTED = [1, 1, 0, 0, 0, 1, 0, 1]
SURVIVED = [1, 0, 0, 0, 1, np.nan, 0, 1]


def test_six_cells_in_one_order() -> None:
    assert SEGMENTS == ("female/1", "female/2", "female/3", "male/1", "male/2", "male/3")
    assert segment_names([1, 0, 0], [3, 1, 2]).tolist() == ["female/3", "male/1", "male/2"]
    assert segment_codes([1, 0, np.nan], [4, 2, 1]).tolist() == [-1, 4, -1]  # unknown: -1


def test_segment_table_by_hand() -> None:
    cells = {c["segment"]: c for c in segment_table(IS_FEMALE, PCLASS, PREDICTED, SURVIVED)}
    assert list(cells) == list(SEGMENTS)
    f3 = cells["female/3"]  # passengers 1, 2, 7: one wrong (predicted 1, died)
    assert (f3["n_predictions"], f3["n_labelled"]) == (3, 3)
    assert f3["accuracy"] == pytest.approx(2 / 3)
    assert f3["predicted_survival_rate"] == pytest.approx(2 / 3)
    assert f3["actual_survival_rate"] == pytest.approx(1 / 3)
    m3 = cells["male/3"]  # passengers 3, 4: both predicted died, one survived
    assert (m3["n_labelled"], m3["accuracy"], m3["actual_survival_rate"]) == (2, 0.5, 0.5)
    m1 = cells["male/1"]  # scored but not labelled yet
    assert (m1["n_predictions"], m1["n_labelled"]) == (1, 0)
    assert math.isnan(m1["accuracy"]) and m1["predicted_survival_rate"] == 1.0
    assert (cells["female/1"]["accuracy"], cells["male/2"]["accuracy"]) == (1.0, 1.0)
    f2 = cells["female/2"]  # nobody: present, empty
    assert f2["n_predictions"] == 0 and math.isnan(f2["predicted_survival_rate"])


def test_segment_performance_six_rows_per_day_and_version() -> None:
    day = pd.Timestamp("2026-11-03 10:00")
    frame = pd.DataFrame(
        {
            "event_time": [day] * 8,
            "model_version": [2] * 8,
            "is_female": IS_FEMALE,
            "pclass": PCLASS,
            "predicted_survived": PREDICTED,
            "survived": SURVIVED,
        }
    )
    out = segment_performance(pd.concat([frame, frame.assign(model_version=3)]))
    assert list(out.columns) == list(SEGMENT_COLUMNS)
    assert len(out) == 12 and set(out["model_version"]) == {2, 3}
    assert (out["day"] == pd.Timestamp("2026-11-03")).all()
    assert out["n_labelled"].sum() == 2 * 7


def test_segment_reasons_margin_and_minimum() -> None:
    day = pd.Timestamp("2026-11-03")
    rows = pd.DataFrame(segment_table(IS_FEMALE, PCLASS, PREDICTED, SURVIVED)).assign(
        day=day, model_version=2
    )
    overall = {(day, 2): 0.9}
    reasons = segment_reasons(rows, overall, min_labelled=3, margin=0.15)
    # female/3 (2/3 on 3 labelled) is below 0.75; male/3 (0.5) has only 2 labelled: not judged
    assert len(reasons) == 1 and "female/3" in reasons[0] and "0.667" in reasons[0]
    assert segment_reasons(rows, overall, min_labelled=3, margin=0.25) == []
    assert len(segment_reasons(rows, overall, min_labelled=2, margin=0.15)) == 2


def test_only_the_versions_that_served_the_day_are_judged() -> None:
    day = pd.Timestamp("2026-11-03")
    cells = pd.DataFrame(segment_table(IS_FEMALE, PCLASS, PREDICTED, SURVIVED)).assign(day=day)
    champion, shadow = cells.assign(model_version=2), cells.assign(model_version=5)
    performance = pd.DataFrame([{"day": day, "model_version": 2, "accuracy": 0.9}])
    reasons, judged = served_segment_reasons(
        performance, pd.concat([champion, shadow]), min_labelled=3, margin=0.15
    )
    # The shadow's female/3 is as far below 0.9 as the champion's, but a shadow served nobody.
    assert len(reasons) == 1 and " v2 female/3" in reasons[0]
    assert set(judged["model_version"]) == {2} and set(judged["segment"]) == {"female/3"}

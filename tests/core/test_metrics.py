"""Classification metrics: correct counts, JSON-safe types, single-class input."""

from __future__ import annotations

import json
import math

import pytest

from titanic_assets.core.metrics import classification_counts, classification_metrics

# Worked out by hand (not by the library under test): 5 survivors, 5 who died.
#   survivors' scores 0.9 0.8 0.7 | 0.2 0.4   -> 3 true positives, 2 false negatives
#   the dead's scores  0.6 | 0.1 0.3 0.2 0.05 -> 1 false positive, 4 true negatives
# accuracy 7/10, precision 3/(3+1) = 0.75, recall 3/(3+2) = 0.6, F1 = 2pr/(p+r) = 0.9/1.35 = 2/3.
# ROC AUC: pairs (survivor, dead) ranked right, ties half: 5+5+5 for 0.9/0.8/0.7, 2.5 for 0.2
# (above 0.1 and 0.05, tied with 0.2), 4 for 0.4 -> 21.5 / 25 = 0.86.
Y_TRUE = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
Y_PROB = [0.9, 0.8, 0.7, 0.2, 0.4, 0.6, 0.1, 0.3, 0.2, 0.05]
EXPECTED = {"n": 10, "tn": 4, "fp": 1, "fn": 2, "tp": 3, "accuracy": 0.7, "precision": 0.75,
            "recall": 0.6, "f1": 2 / 3}  # fmt: skip


def test_counts_and_rates():
    m = classification_metrics(Y_TRUE, Y_PROB)
    assert m["fp"] != m["fn"] and m["precision"] != m["recall"]  # a swap cannot go unseen
    for key, value in EXPECTED.items():
        assert m[key] == pytest.approx(value), key
    assert m["roc_auc"] == pytest.approx(0.86)
    json.dumps(m, allow_nan=False)
    assert all(type(v) in (int, float) for v in m.values())
    y_right = [p if y else 1 - p for y, p in zip(Y_TRUE, Y_PROB, strict=True)]
    assert m["log_loss"] == pytest.approx(-sum(math.log(p) for p in y_right) / 10)


def test_more_false_positives_than_false_negatives():
    """The mirror case: predicting survival too often (fp > fn, precision < recall)."""
    # truth 1 1 0 0 0 0 0, predicted 1 0 1 1 1 0 0: tp 1, fn 1, fp 3, tn 2.
    m = classification_counts([1, 1, 0, 0, 0, 0, 0], [1, 0, 1, 1, 1, 0, 0])
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (2, 3, 1, 1)
    assert m["accuracy"] == pytest.approx(3 / 7)
    assert m["precision"] == pytest.approx(1 / 4)
    assert m["recall"] == pytest.approx(1 / 2)
    assert m["f1"] == pytest.approx(2 * (1 / 4) * (1 / 2) / (1 / 4 + 1 / 2))  # 1/3


def test_single_class_has_no_auc_and_does_not_crash():
    m = classification_metrics([1, 1, 1], [0.9, 0.2, 0.6])
    assert m["roc_auc"] is None
    assert m["accuracy"] == pytest.approx(2 / 3)
    # One rule for undefined ratios: None (JSON) here, NaN in monitoring frames, never 0.0.
    m = classification_metrics([0, 0], [0.1, 0.2])
    assert m["accuracy"] == 1.0
    assert m["precision"] is None and m["recall"] is None and m["f1"] is None
    assert m["log_loss"] is not None


def test_training_and_monitoring_share_one_rule():
    """The registry's dict and a monitoring row carry the same hand-worked figures, and an
    undefined one is None in the first and NaN in the second (never 0.0)."""
    counts = classification_counts(Y_TRUE, [int(p >= 0.5) for p in Y_PROB])
    for key, value in EXPECTED.items():
        assert counts[key] == pytest.approx(value), key
    nobody_predicted = classification_counts([0, 1, 0], [0, 0, 0])  # precision: 0 / 0
    assert (nobody_predicted["tn"], nobody_predicted["fn"]) == (2, 1)
    assert math.isnan(nobody_predicted["precision"]) and nobody_predicted["recall"] == 0.0
    no_survivor = classification_metrics([0, 0, 0], [0.7, 0.2, 0.1])  # recall: 0 / 0
    assert no_survivor["precision"] == 0.0 and no_survivor["recall"] is None
    assert no_survivor["fp"] == 1 and no_survivor["f1"] == 0.0  # 2tp / (2tp + fp + fn) = 0 / 1


def test_threshold_moves_predictions():
    """At 0.35 the survivor scored 0.4 becomes a true positive, the dead one at 0.6 stays a false
    positive: tp 4, fn 1, fp 1, tn 4."""
    m = classification_metrics(Y_TRUE, Y_PROB, threshold=0.35)
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (4, 1, 1, 4)
    assert m["precision"] == pytest.approx(0.8) and m["recall"] == pytest.approx(0.8)


def test_empty_and_mismatched_inputs():
    assert classification_metrics([], [])["n"] == 0
    with pytest.raises(ValueError):
        classification_metrics([0, 1], [0.5])


def test_plot_helpers_return_markdown_png():
    import base64

    from titanic_assets.core.plots import bar_chart_md, confusion_matrix_md, line_chart_md

    for md in (
        confusion_matrix_md(10, 2, 3, 5, "Holdout"),
        bar_chart_md(["a", "b"], [0.3, 0.7], "Importance", "gain"),
        line_chart_md(["d1", "d2"], {"accuracy": [0.8, None]}, "Accuracy", "accuracy"),
    ):
        assert md.startswith("![")
        payload = md.split("base64,", 1)[1].rstrip(")")
        assert base64.b64decode(payload)[:8] == b"\x89PNG\r\n\x1a\n"

"""Classification metrics: correct counts, JSON-safe types, single-class input."""

from __future__ import annotations

import json
import math

import pytest

from titanic_assets.core.metrics import classification_metrics


def test_counts_and_rates():
    m = classification_metrics([0, 0, 1, 1, 1], [0.1, 0.7, 0.8, 0.4, 0.9])
    assert (m["tn"], m["fp"], m["fn"], m["tp"], m["n"]) == (1, 1, 1, 2, 5)
    assert m["accuracy"] == pytest.approx(0.6)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["roc_auc"] == pytest.approx(5 / 6)
    assert m["log_loss"] > 0
    json.dumps(m, allow_nan=False)
    assert all(type(v) in (int, float) for v in m.values())
    assert m["log_loss"] == pytest.approx(
        -sum(
            math.log(p if y else 1 - p)
            for y, p in zip([0, 0, 1, 1, 1], [0.1, 0.7, 0.8, 0.4, 0.9], strict=True)
        )
        / 5
    )


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
    """The registry's dict and a monitoring row agree on every figure, undefined ones included."""
    import math

    from titanic_assets.core.metrics import classification_counts

    for y_true, y_prob in (([0, 1, 1, 0, 1], [0.2, 0.9, 0.3, 0.6, 0.8]), ([0, 0], [0.1, 0.7])):
        metrics = classification_metrics(y_true, y_prob)
        counts = classification_counts(y_true, [int(p >= 0.5) for p in y_prob])
        for key, value in counts.items():
            if isinstance(value, float) and math.isnan(value):
                assert metrics[key] is None, key
            else:
                assert metrics[key] == pytest.approx(value), key


def test_rates_equal_scikit_learn():
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    y_true, y_prob = [1, 0, 1, 1, 0, 0, 1], [0.7, 0.6, 0.2, 0.9, 0.1, 0.4, 0.55]
    y_pred = [int(p >= 0.5) for p in y_prob]
    m = classification_metrics(y_true, y_prob)
    assert m["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert m["precision"] == pytest.approx(precision_score(y_true, y_pred))
    assert m["recall"] == pytest.approx(recall_score(y_true, y_pred))
    assert m["f1"] == pytest.approx(f1_score(y_true, y_pred))


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

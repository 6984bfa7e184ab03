"""The charts each pipeline draws for the UI, by metadata name, as Markdown (no Dagster here).

The training and monitoring assets put these on their materializations; the plain benchmark
(``benchmarks/plain.py``) draws the same set through the same functions, so the two arms of
the overhead benchmark do equal work by construction rather than by a copy that can drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from titanic_assets.core import calibration, monitoring, plots
from titanic_assets.core.features import LABEL_COLUMN
from titanic_assets.core.model import feature_importance

if TYPE_CHECKING:  # the monitoring step draws its charts without loading the training code
    from titanic_assets.core.training import TrainedModel

#: Days on the rolling accuracy chart of ``monitoring/model_performance``.
ROLLING_DAYS = 14
#: The columns of every other day that the all-history figures read (and the history table).
CROSS_DAY_COLUMNS = ("day", "model_version", "n_predictions", "n_labelled", "accuracy", "f1",
                     "tn", "fp", "fn", "tp", "max_psi")  # fmt: skip


def training_figures(trained: TrainedModel, version: int) -> dict[str, str]:
    """A new version's holdout confusion matrix, feature importance and reliability diagram."""
    metrics = trained.metrics
    importance = feature_importance(trained.model)
    ece = metrics.get("ece")
    return {
        "confusion_matrix": plots.confusion_matrix_md(
            metrics["tn"],
            metrics["fp"],
            metrics["fn"],
            metrics["tp"],
            f"v{version} holdout (n={metrics['n']})",
        ),
        "feature_importance": plots.bar_chart_md(
            list(importance), list(importance.values()), "Feature importance", "gain share"
        ),
        "reliability_diagram": plots.reliability_diagram_md(
            metrics["calibration"]["reliability"],
            f"v{version} holdout reliability (ECE {'-' if ece is None else f'{ece:.3f}'})",
        ),
    }


@dataclass(frozen=True)
class LiveCalibration:
    """Calibration of a day's labelled predictions, all scoring versions together."""

    #: :func:`titanic_assets.core.calibration.calibration` of the labelled rows.
    figures: Mapping[str, Any]
    versions: tuple[int, ...]
    n_labelled: int


def live_calibration(scored: pd.DataFrame) -> LiveCalibration:
    """Brier, ECE and the reliability table of a scored day's labelled rows (one pass: the
    monitoring asset's numbers and its reliability diagram come from the same figures)."""
    labelled = scored[scored[LABEL_COLUMN].notna()]
    return LiveCalibration(
        figures=calibration.calibration(labelled[LABEL_COLUMN], labelled["survival_probability"]),
        versions=tuple(sorted(int(v) for v in labelled["model_version"].unique())),
        n_labelled=len(labelled),
    )


def day_figures(
    performance: pd.DataFrame,
    history: pd.DataFrame,
    other_days: pd.DataFrame,
    live: LiveCalibration,
) -> dict[str, str]:
    """A monitored day's charts: the headline version's confusion matrix and drift per
    feature, accuracy and max PSI over the last :data:`ROLLING_DAYS` days (``history``: earlier
    days), the confusion matrix of all labelled history (``other_days``: every other day) and
    the reliability diagram of the day's labelled predictions."""
    if performance.empty:
        return {}
    main = monitoring.main_rows(performance).iloc[-1]
    figures = {
        "confusion_matrix": plots.confusion_matrix_md(
            *(int(main[k]) for k in ("tn", "fp", "fn", "tp")),
            title=f"Model v{int(main['model_version'])}, {pd.Timestamp(main['day']):%Y-%m-%d}",
        )
    }
    psi = monitoring.psi_by_feature(main["psi_by_feature"])
    if psi:
        figures["psi_by_feature"] = plots.bar_chart_md(
            list(psi), list(psi.values()), "Drift per feature", "PSI"
        )
    figures["rolling_accuracy"] = _rolling_chart(history, performance)
    figures["confusion_matrix_all_history"] = _all_history_matrix(other_days, performance)
    if live.n_labelled:
        versions = ", ".join(f"v{v}" for v in live.versions)
        figures["reliability_diagram"] = plots.reliability_diagram_md(
            live.figures["reliability"], f"Reliability, {versions} (n={live.n_labelled})"
        )
    return figures


def all_history(other_days: pd.DataFrame, performance: pd.DataFrame) -> pd.DataFrame:
    """Every day's :data:`CROSS_DAY_COLUMNS`: the stored other days and the day just monitored."""
    frames = [f for f in (other_days, performance[list(CROSS_DAY_COLUMNS)]) if not f.empty]
    return pd.concat(frames, ignore_index=True)


def _all_history_matrix(other_days: pd.DataFrame, performance: pd.DataFrame) -> str:
    frame = all_history(other_days, performance)
    totals = monitoring.confusion_totals(frame)
    n_days = pd.to_datetime(frame["day"]).dt.floor("D").nunique()
    return plots.confusion_matrix_md(
        *(int(totals[k]) for k in ("tn", "fp", "fn", "tp")),
        title=f"All labelled history, {n_days} days",
    )


def _rolling_chart(history: pd.DataFrame, today: pd.DataFrame) -> str:
    frame = pd.concat([f for f in (history, today) if not f.empty], ignore_index=True)
    frame["day"] = pd.to_datetime(frame["day"])
    daily = monitoring.main_rows(frame).tail(ROLLING_DAYS)

    def values(column: str) -> list[float | None]:
        return [None if pd.isna(v) else float(v) for v in daily[column]]

    return plots.line_chart_md(
        [f"{d:%m-%d}" for d in daily["day"]],
        {"accuracy": values("accuracy"), "max PSI": values("max_psi")},
        title=f"Last {len(daily)} days",
        ylabel="accuracy / PSI",
    )

"""Cross-day monitoring metadata: accuracy over all labelled history and a per-day history
table on ``monitoring/model_performance``.

A day's materialization shows that day; these two answer "how has the model done overall and
day by day", next to it in the Dagster UI (the app's Model monitoring tab shows the same).
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd

from titanic_assets.core import monitoring
from titanic_assets.core.figures import all_history

CROSS_DAY_ROWS = 30


def cross_day_metadata(other_days: pd.DataFrame, performance: pd.DataFrame) -> dict[str, Any]:
    """Accuracy over all labelled history and the per-day history table (its confusion matrix
    is among :func:`titanic_assets.core.figures.day_figures`).

    Sums the per-day counts: each day holds its latest scoring (a re-run replaces the day), so
    the sum is every scored passenger's latest prediction against its label.
    """
    frame = all_history(other_days, performance)
    totals = monitoring.confusion_totals(frame)
    metadata: dict[str, Any] = {
        "n_labelled_all_history": dg.MetadataValue.int(int(totals["n"])),
    }
    if totals["n"]:
        metadata["accuracy_all_history"] = dg.MetadataValue.float(totals["accuracy"])
    lines = [
        "| day | model | predictions | labelled | accuracy | F1 | max PSI |",
        "|---|---|---|---|---|---|---|",
    ]
    recent = frame.assign(day=pd.to_datetime(frame["day"])).sort_values(
        ["day", "model_version"], ascending=False
    )
    for r in recent.head(CROSS_DAY_ROWS).to_dict("records"):
        cells = [_fmt(r[c]) for c in ("accuracy", "f1", "max_psi")]
        lines.append(
            f"| {r['day']:%Y-%m-%d} | v{int(r['model_version'])} | {int(r['n_predictions'])} "
            f"| {int(r['n_labelled'])} | {' | '.join(cells)} |"
        )
    metadata["history"] = dg.MetadataValue.md("\n".join(lines))
    return metadata


def _fmt(value: Any) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.3f}"

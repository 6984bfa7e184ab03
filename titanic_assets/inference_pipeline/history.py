"""Cross-day monitoring metadata: the confusion matrix over all labelled history and a
per-day history table on ``monitoring/model_performance``.

A day's materialization shows that day; these two answer "how has the model done overall and
day by day", next to it in the Dagster UI (the app's Model monitoring tab shows the same).
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd

from titanic_assets.core import monitoring, plots

#: Columns of the cross-day history table (and all the cumulative matrix needs).
CROSS_DAY_COLUMNS = ("day", "model_version", "n_predictions", "n_labelled", "accuracy", "f1",
                     "tn", "fp", "fn", "tp", "max_psi")  # fmt: skip
CROSS_DAY_ROWS = 30


def cross_day_metadata(other_days: pd.DataFrame, performance: pd.DataFrame) -> dict[str, Any]:
    """The confusion matrix over all labelled history and the per-day history table.

    Sums the per-day counts: each day holds its latest scoring (a re-run replaces the day), so
    the sum is every scored passenger's latest prediction against its label.
    """
    frames = [f for f in (other_days, performance[list(CROSS_DAY_COLUMNS)]) if not f.empty]
    frame = pd.concat(frames, ignore_index=True)
    totals = monitoring.confusion_totals(frame)
    tn, fp, fn, tp = (int(totals[k]) for k in ("tn", "fp", "fn", "tp"))
    n_days = pd.to_datetime(frame["day"]).dt.floor("D").nunique()
    metadata: dict[str, Any] = {
        "n_labelled_all_history": dg.MetadataValue.int(int(totals["n"])),
        "confusion_matrix_all_history": dg.MetadataValue.md(
            plots.confusion_matrix_md(tn, fp, fn, tp, title=f"All labelled history, {n_days} days")
        ),
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

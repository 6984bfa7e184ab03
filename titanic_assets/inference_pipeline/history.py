"""Cross-day monitoring metadata: the confusion matrix over all labelled history and a
per-day history table on ``monitoring/model_performance``.

A day's materialization shows that day; these two answer "how has the model done overall and
day by day", next to it in the Dagster UI (the app's Model monitoring tab shows the same).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pandas as pd

from titanic_assets import names
from titanic_assets.core import plots
from titanic_assets.data_layer.warehouse import table_exists

PERFORMANCE_TABLE = names.PERFORMANCE_TABLE

#: Columns of the cross-day history table (and all the cumulative matrix needs).
CROSS_DAY_COLUMNS = ("day", "model_version", "n_predictions", "n_labelled", "accuracy", "f1",
                     "tn", "fp", "fn", "tp", "max_psi")  # fmt: skip
CROSS_DAY_ROWS = 30


def other_days(conn, start: datetime, end: datetime) -> pd.DataFrame:
    """Every other day of ``monitoring.model_performance`` (before and after this partition):
    the cumulative confusion matrix covers all labelled history, not one day."""
    if not table_exists(conn, PERFORMANCE_TABLE):
        return pd.DataFrame(columns=list(CROSS_DAY_COLUMNS))
    return conn.execute(
        f"SELECT {', '.join(CROSS_DAY_COLUMNS)} FROM {PERFORMANCE_TABLE} WHERE day < ? OR day >= ?",
        [_naive_utc(start), _naive_utc(end)],
    ).df()


def cross_day_metadata(other_days: pd.DataFrame, performance: pd.DataFrame) -> dict[str, Any]:
    """The confusion matrix over all labelled history and the per-day history table.

    Sums the per-day counts: each day holds its latest scoring (a re-run replaces the day), so
    the sum is every scored passenger's latest prediction against its label.
    """
    frames = [f for f in (other_days, performance[list(CROSS_DAY_COLUMNS)]) if not f.empty]
    frame = pd.concat(frames, ignore_index=True)
    tn, fp, fn, tp = (int(frame[k].sum()) for k in ("tn", "fp", "fn", "tp"))
    n_days = pd.to_datetime(frame["day"]).dt.floor("D").nunique()
    metadata: dict[str, Any] = {
        "n_labelled_all_history": dg.MetadataValue.int(tn + fp + fn + tp),
        "confusion_matrix_all_history": dg.MetadataValue.md(
            plots.confusion_matrix_md(tn, fp, fn, tp, title=f"All labelled history, {n_days} days")
        ),
    }
    if tn + fp + fn + tp:
        metadata["accuracy_all_history"] = dg.MetadataValue.float((tn + tp) / (tn + fp + fn + tp))
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


def _naive_utc(moment: datetime) -> datetime:
    """Partition bounds are tz-aware UTC; the ``day`` column is naive UTC."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)

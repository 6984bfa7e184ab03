"""Small charts as Markdown with an embedded PNG, for Dagster metadata (no Dagster here).

Dagster has no image metadata type; the documented way to show a chart on an asset's
materialization is ``MetadataValue.md("![title](data:image/png;base64,...)")``. These helpers
return that Markdown string. matplotlib is imported lazily (it costs ~0.5 s) with the Agg
backend, so nothing here needs a display and code locations load fast.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _to_markdown(fig: Any, title: str) -> str:
    plt = _pyplot()
    buffer = io.BytesIO()
    try:
        fig.tight_layout()
        fig.savefig(buffer, format="png", dpi=80)
    finally:
        plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = title.replace("[", "(").replace("]", ")")
    return f"![{alt}](data:image/png;base64,{encoded})"


def confusion_matrix_md(tn: int, fp: int, fn: int, tp: int, title: str = "Confusion matrix") -> str:
    """A 2x2 confusion matrix: rows are the actual class, columns the predicted class.

    Order is died (0) then survived (1) on both axes, so the diagonal (tn, tp) is correct.
    """
    plt = _pyplot()
    cells = [[tn, fp], [fn, tp]]
    labels = ["died", "survived"]
    fig, ax = plt.subplots(figsize=(3.8, 3.4))
    ax.imshow(cells, cmap="Blues")
    ax.set_xticks([0, 1], labels=labels)
    ax.set_yticks([0, 1], labels=labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    peak = max(max(row) for row in cells) or 1
    for i in range(2):
        for j in range(2):
            colour = "white" if cells[i][j] > peak / 2 else "black"
            ax.text(j, i, str(int(cells[i][j])), ha="center", va="center", color=colour)
    return _to_markdown(fig, title)


def bar_chart_md(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str) -> str:
    """A horizontal bar chart (long labels stay readable), largest value on top."""
    plt = _pyplot()
    pairs = sorted(zip(labels, values, strict=True), key=lambda lv: lv[1])
    fig, ax = plt.subplots(figsize=(5.0, 0.3 * max(len(pairs), 3) + 1.0))
    ax.barh([str(label) for label, _ in pairs], [float(v) for _, v in pairs], color="#4c72b0")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return _to_markdown(fig, title)


def line_chart_md(
    x_labels: Sequence[str], series: dict[str, list[float]], title: str, ylabel: str
) -> str:
    """One line per series over shared x labels (e.g. days); ``None`` values leave a gap."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 3.2))
    positions = list(range(len(x_labels)))
    for name, values in series.items():
        ys = [float("nan") if v is None else float(v) for v in values]
        ax.plot(positions, ys, marker="o", label=str(name))
    step = max(1, len(x_labels) // 10)
    ax.set_xticks(positions[::step], labels=[str(x) for x in x_labels][::step], rotation=30)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if series:
        ax.legend()
    return _to_markdown(fig, title)


def draw_reliability(ax: Any, table: Sequence[dict[str, Any]], title: str) -> None:
    """The reliability diagram of a :func:`titanic_assets.core.calibration.reliability_table`
    on ``ax``: observed survival rate against mean predicted probability per bin, the diagonal
    of a calibrated model, and each bin's count beside its point (Dagster metadata and the
    monitoring app draw the same picture)."""
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="calibrated")
    filled = [
        row
        for row in table
        if row["n"] and row["mean_predicted"] is not None and row["observed_rate"] is not None
    ]
    xs = [float(row["mean_predicted"]) for row in filled]
    ys = [float(row["observed_rate"]) for row in filled]
    ax.plot(xs, ys, marker="o", color="#4c72b0", label="model")
    for x, y, row in zip(xs, ys, filled, strict=True):
        ax.annotate(f"n={int(row['n'])}", (x, y), textcoords="offset points", xytext=(4, -10),
                    fontsize=7)  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted survival probability (bin mean)")
    ax.set_ylabel("observed survival rate")
    ax.set_title(title)
    ax.legend(loc="upper left")


def reliability_diagram_md(table: Sequence[dict[str, Any]], title: str) -> str:
    """:func:`draw_reliability` as Markdown with an embedded PNG (Dagster metadata)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    draw_reliability(ax, table, title)
    return _to_markdown(fig, title)

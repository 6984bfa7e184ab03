"""The apps' answers as a person sees them: HTML cards, Markdown and charts (no Gradio here).

Charts are plain :class:`matplotlib.figure.Figure` objects (not pyplot figures): nothing is
registered globally, so a page refreshed by a timer every few seconds does not pile figures up.
Every number drawn comes from :mod:`titanic_assets.apps.data`; the HTML carries ``data-*``
attributes with the raw values so the browser test reads exactly what is shown.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from titanic_assets.apps.data import Latest, Monitoring, Prediction

# Symbols from DejaVu Sans (no emoji): a headless browser or a minimal desktop draws them too.

#: Readable names of the model inputs (the feature function's column names are terse).
FEATURE_LABELS = {
    "pclass": "ticket class",
    "is_female": "sex is female",
    "age": "age",
    "fare": "fare",
    "sibsp": "siblings/spouses",
    "parch": "parents/children",
    "family_size": "family size",
    "is_alone": "travels alone",
    "embarked_c": "embarked Cherbourg",
    "embarked_q": "embarked Queenstown",
    "embarked_s": "embarked Southampton",
}

_SURVIVED = ("#1a7f37", "✔", "SURVIVED")
_DIED = ("#b42318", "✘", "DID NOT SURVIVE")
_UNKNOWN = ("#6e7781", "?", "NOT KNOWN YET")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=90, layout="constrained")


def _badge(kind: tuple[str, str, str], caption: str, test_id: str) -> str:
    colour, icon, text = kind
    return (
        f'<div data-testid="{test_id}" style="flex:1;border:3px solid {colour};border-radius:12px;'
        f'padding:12px;text-align:center;color:{colour}">'
        f'<div style="font-size:14px;color:#57606a">{html.escape(caption)}</div>'
        f'<div style="font-size:44px;line-height:1.2">{icon}</div>'
        f'<div style="font-size:20px;font-weight:700">{text}</div></div>'
    )


# --- Will they survive? ----------------------------------------------------------------------


def prediction_html(result: Prediction) -> str:
    """The verdict at a glance: outcome, probability and the model version behind it."""
    kind = _SURVIVED if result.survived else _DIED
    return (
        f'<div data-testid="prediction" data-survived="{int(result.survived)}" '
        f'data-probability="{result.probability:.6f}" data-version="{result.model_version}">'
        + _badge(kind, "prediction", "prediction-badge")
        + '<p style="font-size:18px;margin-top:10px">Survival probability '
        f'<b data-testid="probability">{result.probability:.1%}</b> by champion model '
        f'<b data-testid="model-version">v{result.model_version}</b> '
        f"(holdout accuracy {result.model_accuracy:.1%}).</p></div>"
    )


def explanation_table(result: Prediction) -> pd.DataFrame:
    """Per-feature contributions in log-odds: positive pushes towards survival."""
    rows = [
        {
            "feature": FEATURE_LABELS.get(name, name),
            "value": None if math.isnan(value) else round(value, 4),
            "contribution (log-odds)": round(contribution, 4),
        }
        for name, value, contribution in result.explanation.contributions
    ]
    rows.append(
        {
            "feature": "base rate (bias)",
            "value": None,
            "contribution (log-odds)": round(result.explanation.bias, 4),
        }
    )
    return pd.DataFrame(rows)


def explanation_figure(result: Prediction):
    """Horizontal bars, one per input: green towards survival, red against."""
    items = list(reversed(result.explanation.contributions))  # largest at the top
    fig = _figure(6.0, 0.32 * len(items) + 1.2)
    ax = fig.add_subplot()
    names = [FEATURE_LABELS.get(n, n) for n, _, _ in items]
    values = [c for _, _, c in items]
    ax.barh(names, values, color=["#1a7f37" if v > 0 else "#b42318" for v in values])
    ax.axvline(0, color="#57606a", linewidth=0.8)
    ax.set_xlabel("contribution to the log-odds of survival")
    ax.set_title(f"Why: XGBoost contributions (model v{result.model_version})")
    return fig


# --- Latest passengers -----------------------------------------------------------------------


def newest_html(view: Latest) -> str:
    """The newest passenger: predicted and actual outcome side by side, details below."""
    p = view.newest
    predicted = _SURVIVED if p["predicted"] == "survived" else _DIED
    actual = {"survived": _SURVIVED, "died": _DIED}.get(p["actual"], _UNKNOWN)
    if p["right"]:
        verdict = "✔ the model was right" if p["right"] == "yes" else "✘ the model was wrong"
    else:
        verdict = "outcome not known yet"
    details = ", ".join(
        f"{k} {v}"
        for k, v in (
            ("class", p["class"]),
            ("", p["sex"]),
            ("age", "unknown" if p["age"] is None else f"{p['age']:g}"),
            ("fare", "unknown" if p["fare"] is None else f"{p['fare']:.2f}"),
            ("siblings/spouses", p["sibsp"]),
            ("parents/children", p["parch"]),
            ("embarked", p["embarked"] or "unknown"),
        )
    ).replace(",  ", ", ")
    predicted_caption = f"predicted (p={p['p_survive']:.2f}, model v{p['model_version']})"
    return (
        f'<div data-testid="newest" data-passenger="{html.escape(str(p["passenger_id"]))}" '
        f'data-predicted="{p["predicted"]}" data-actual="{p["actual"]}" '
        f'data-version="{p["model_version"]}" data-probability="{p["p_survive"]}">'
        f'<h3 style="margin:0 0 8px 0">Newest passenger <code>{html.escape(p["passenger_id"])}'
        f"</code> ({html.escape(str(p['source']))}, {p['event_time']} UTC)</h3>"
        '<div style="display:flex;gap:16px">'
        + _badge(predicted, predicted_caption, "newest-predicted")
        + _badge(actual, "actual outcome", "newest-actual")
        + f'</div><p style="font-size:18px">{verdict}</p>'
        f"<p>{html.escape(details)}</p></div>"
    )


def recent_summary_md(view: Latest) -> str:
    if not view.recent_labelled:
        return f"Last {len(view.history)} predictions (no outcomes known yet):"
    return (
        f"Last {len(view.history)} predictions: the model was right on "
        f"**{view.recent_right} of {view.recent_labelled}** with a known outcome."
    )


HISTORY_COLUMNS = ["passenger_id", "event_time", "class", "sex", "age", "p_survive",
                   "predicted", "actual", "right", "model_version"]  # fmt: skip


def lineage_md(record: dict[str, Any]) -> str:
    """The facts ``titanic lineage`` prints (one wording: ``lineage_facts``), as Markdown."""
    from titanic_assets.data_layer.lineage import lineage_facts

    lines = [f"### Passenger `{record['passenger_id']}`"]
    for label, text in lineage_facts(record, code=lambda value: f"`{value}`"):
        lines.append(f"- **{label}**: {text}" if label else f"  - {text}")
    return "\n".join(lines)


# --- Model monitoring ------------------------------------------------------------------------


def performance_figure(view: Monitoring):
    """Accuracy and F1 per day, one line per model version."""
    fig = _figure(7.0, 3.4)
    ax = fig.add_subplot()
    days = sorted(view.daily["day"].unique())
    position = {d: i for i, d in enumerate(days)}
    for version, group in view.daily.groupby("model_version"):
        x = [position[d] for d in group["day"]]
        ax.plot(x, group["accuracy"], marker="o", label=f"accuracy v{version}")
        ax.plot(x, group["f1"], marker="s", linestyle="--", label=f"F1 v{version}")
    step = max(1, len(days) // 10)
    ax.set_xticks(list(range(len(days)))[::step], labels=days[::step], rotation=30)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("on labelled predictions")
    ax.set_title("Accuracy and F1 per day and model version")
    ax.legend(fontsize=8, loc="lower left")
    return fig


def confusion_figure(view: Monitoring):
    """The 2x2 matrix over all labelled history: rows actual, columns predicted, died first."""
    c = view.confusion
    cells = [[c["tn"], c["fp"]], [c["fn"], c["tp"]]]
    fig = _figure(3.9, 3.5)
    ax = fig.add_subplot()
    ax.imshow(cells, cmap="Blues")
    labels = ["died", "survived"]
    ax.set_xticks([0, 1], labels=labels)
    ax.set_yticks([0, 1], labels=labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(f"All labelled history (n={c['n']})")
    peak = max(max(row) for row in cells) or 1
    for i in range(2):
        for j in range(2):
            colour = "white" if cells[i][j] > peak / 2 else "black"
            ax.text(j, i, str(int(cells[i][j])), ha="center", va="center", color=colour)
    return fig


def confusion_html(view: Monitoring) -> str:
    c = view.confusion
    accuracy = "n/a" if math.isnan(c["accuracy"]) else f"{c['accuracy']:.1%}"
    return (
        f'<div data-testid="confusion" data-tn="{c["tn"]}" data-fp="{c["fp"]}" '
        f'data-fn="{c["fn"]}" data-tp="{c["tp"]}">'
        f"<p><b>{c['n']}</b> labelled predictions over all history, accuracy <b>{accuracy}</b>: "
        f"{c['tn']} correctly predicted died, {c['tp']} correctly predicted survived, "
        f"{c['fp']} predicted survived but died, {c['fn']} predicted died but survived.</p></div>"
    )


def psi_figure(view: Monitoring):
    """PSI per feature on the latest day (bars) and its trend (lines, top features)."""
    fig = _figure(8.0, 3.4)
    bars, lines = fig.subplots(1, 2, width_ratios=[1, 1.3])
    latest = view.psi_latest.iloc[::-1]
    bars.barh([FEATURE_LABELS.get(f, f) for f in latest["feature"]], latest["psi"])
    bars.axvline(0.25, color="#b42318", linestyle=":", label="major shift (0.25)")
    bars.set_title(f"PSI per feature, {view.latest_day}")
    bars.legend(fontsize=8)
    days = sorted(view.psi_trend["day"].unique())
    position = {d: i for i, d in enumerate(days)}
    top = list(view.psi_latest["feature"][:5])
    for feature in top:
        series = view.psi_trend[view.psi_trend["feature"] == feature]
        lines.plot([position[d] for d in series["day"]], series["psi"], marker="o",
                   label=FEATURE_LABELS.get(feature, feature))  # fmt: skip
    step = max(1, len(days) // 8)
    lines.set_xticks(list(range(len(days)))[::step], labels=days[::step], rotation=30)
    lines.set_title("PSI trend (top 5 features today)")
    lines.legend(fontsize=7)
    return fig


def reliability_figure(view: Monitoring):
    """The latest day's reliability diagram (predicted vs observed survival per bin)."""
    from titanic_assets.core.plots import draw_reliability

    c = view.calibration
    fig = _figure(4.6, 4.2)
    draw_reliability(
        fig.add_subplot(), c["reliability"], f"Reliability, v{c['version']}, {c['day']}"
    )
    return fig


def calibration_html(view: Monitoring) -> str:
    """The latest day's Brier score and ECE in words, raw values as data-* attributes."""
    c = view.calibration
    brier = "n/a" if c["brier"] is None else f"{c['brier']:.3f}"
    ece = "n/a" if c["ece"] is None else f"{c['ece']:.3f}"
    labelled = sum(int(row["n"]) for row in c["reliability"])
    return (
        f'<div data-testid="calibration" data-day="{c["day"]}" data-brier="{c["brier"]}" '
        f'data-ece="{c["ece"]}" data-n="{labelled}">'
        f"<p>On <b>{c['day']}</b>, model v{c['version']}: Brier score <b>{brier}</b> "
        f"(0 is perfect, 0.25 is always saying 50%) and expected calibration error <b>{ece}</b> "
        f"(10 equal-width bins) on {labelled} labelled passengers. A calibrated model's points "
        "lie on the diagonal: of the passengers given about 30%, about 30% survived.</p></div>"
    )


def segments_html(view: Monitoring) -> str:
    """Served accuracy per segment (rows) and day (columns), coloured from red (low) to green
    (high); each cell carries its accuracy and labelled count as data-* attributes."""
    grid, counts = view.segment_accuracy, view.segment_counts
    if grid.empty or not len(grid.columns):
        return '<p data-testid="segments-empty">No segment figures yet.</p>'
    days = list(grid.columns)
    head = "".join(f"<th>{html.escape(str(d)[5:])}</th>" for d in days)
    rows = []
    for segment in grid.index:
        cells = []
        for day in days:
            value, n = grid.loc[segment, day], counts.loc[segment, day]
            labelled = 0 if pd.isna(n) else int(n)
            if pd.isna(value):
                colour, shown = "#f6f8fa", "-"
            else:
                colour, shown = _heat(float(value)), f"{float(value):.2f}"
            cells.append(
                f'<td data-testid="segment-cell" data-segment="{segment}" data-day="{day}" '
                f'data-accuracy="{"" if pd.isna(value) else float(value)}" data-n="{labelled}" '
                f'style="background:{colour};text-align:center;padding:4px 6px" '
                f'title="{labelled} labelled">{shown}<br><small>n={labelled}</small></td>'
            )
        rows.append(f"<tr><th style='text-align:left'>{segment}</th>{''.join(cells)}</tr>")
    return (
        '<table data-testid="segments" style="border-collapse:collapse;font-size:13px">'
        f"<tr><th>segment</th>{head}</tr>{''.join(rows)}</table>"
        "<p><small>Accuracy of the served model per sex / ticket class and day (n = labelled "
        "passengers); red is low, green is high.</small></p>"
    )


def _heat(accuracy: float) -> str:
    """Red at 0.5 and below, through yellow, to green at 1.0."""
    t = min(1.0, max(0.0, (accuracy - 0.5) / 0.5))
    red = int(230 - 120 * t)
    green = int(120 + 100 * t)
    return f"rgb({red},{green},120)"


def status_md(text: str) -> str:
    return f"<small>{html.escape(text)}</small>"

"""The model card of one version: what a reviewer reads before trusting it (no Dagster here).

:func:`render_card` turns the facts the registry and monitoring hold about a version
(:class:`CardFacts`, gathered by :mod:`titanic_assets.data_layer.cards`) into Markdown: what
the model is for and not for, its training window and rows, data hash and parameters, holdout
metrics with calibration and segments, live results since it was trained (as champion or in
the shadow), why it was promoted or not, whether its signature verifies, and its known
limitations. One text for ``titanic card VERSION``, the training materialization's metadata
and the apps' Models view.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from titanic_assets.core.calibration import ECE_BINS

INTENDED_USE = (
    "Estimate the probability that a Titanic passenger (real 1912 list, or synthetic "
    "passengers drawn from it) survived, from ticket class, sex, age, fare, port and family "
    "size; a teaching and demonstration system for feature, training and inference pipelines."
)
NOT_FOR = (
    "Decisions about real people (insurance, rescue, credit or any other outcome); "
    "populations unlike the 1912 passenger list; explaining why an individual survived "
    "(the model learns correlations, not causes)."
)
LIMITATIONS = (
    "Trained on about 1,300 real passengers plus synthetic ones generated from them: rare "
    "combinations (e.g. first-class children) rest on a handful of rows.",
    "On these inputs an accuracy above ~0.90 would mean leakage, not a better model.",
    "Segment and calibration figures on a day with few labelled passengers are noisy: read "
    "them with their counts.",
    "Sex and ticket class dominate the prediction: the model reproduces 1912's 'women and "
    "children first' and class gaps; it is not fair by design and must not be used as if it were.",
)


@dataclass(frozen=True)
class CardFacts:
    """Everything a card shows about one version (plain values, JSON-like)."""

    version: int
    created_at: Any
    role: str
    features: Sequence[str]
    params: dict
    metrics: dict
    training_rows: int
    training_cutoff: Any
    training_window: dict | None
    training_data_hash: str
    artifact_sha256: str
    run_id: str | None
    signature_status: str
    #: Days it served as champion: dicts with day, n_labelled, accuracy, f1, brier, ece.
    live_champion: list[dict] = field(default_factory=list)
    #: Days it ran in the shadow: ``monitoring.shadow_comparison`` rows as dicts.
    live_shadow: list[dict] = field(default_factory=list)
    #: Live segments pooled over its days: dicts with segment, n_labelled, accuracy.
    live_segments: list[dict] = field(default_factory=list)
    #: Its rows of ``models.promotions``: action, reason, evidence, decided_at.
    decisions: list[dict] = field(default_factory=list)


def render_card(facts: CardFacts) -> str:
    """The card as Markdown (headings, short tables)."""
    m = facts.metrics
    window = facts.training_window or {}
    lines = [
        f"# Model card: version {facts.version}",
        "",
        f"**Status:** {facts.role}. Registered {_text(facts.created_at)} by run "
        f"`{facts.run_id or '-'}`.",
        "",
        "## Intended use",
        INTENDED_USE,
        "",
        "**Not for:** " + NOT_FOR,
        "",
        "## Training",
        f"- rows: {facts.training_rows} (train split); cutoff {_text(facts.training_cutoff)}",
        f"- window: {_text(window.get('start') or window.get('window_start'), 'all history')}"
        f" (reason: {window.get('reason', '-')})",
        f"- data hash (SHA-256 of the training set): `{facts.training_data_hash}`",
        f"- artifact SHA-256: `{facts.artifact_sha256}`",
        f"- inputs: {', '.join(facts.features)}",
        f"- parameters: `{json.dumps(facts.params, sort_keys=True)}`",
        "",
        "## Holdout metrics",
        f"On {m.get('holdout_rows', m.get('n', '-'))} holdout passengers (never trained on):",
        "",
        "| accuracy | F1 | ROC AUC | Brier | ECE | CV accuracy |",
        "|---|---|---|---|---|---|",
        f"| {_num(m.get('accuracy'))} | {_num(m.get('f1'))} | {_num(m.get('roc_auc'))} "
        f"| {_num(m.get('brier'))} | {_num(m.get('ece'))} | {_num(m.get('cv_accuracy'))} |",
        "",
        "## Calibration",
        f"Brier score {_num(m.get('brier'))} and expected calibration error (ECE, "
        f"{ECE_BINS} equal-width bins) {_num(m.get('ece'))} on the holdout. Reliability "
        "(predicted vs observed survival per bin):",
        "",
        *_reliability(m.get("calibration", {}).get("reliability", [])),
        "",
        "## Segments (sex x ticket class)",
        *_segments(m.get("segments", []), facts.live_segments),
        "",
        "## Live results since training",
        *_live(facts),
        "",
        "## Promotion decisions",
        *_decisions(facts.decisions),
        "",
        "## Signature",
        facts.signature_status,
        "",
        "## Known limitations",
        *(f"- {text}" for text in LIMITATIONS),
    ]
    return "\n".join(lines) + "\n"


def _reliability(table: Sequence[dict]) -> list[str]:
    rows = [r for r in table if r.get("n")]
    if not rows:
        return ["_no holdout rows recorded (a version registered before calibration was kept)_"]
    out = ["| bin | n | mean predicted | observed |", "|---|---|---|---|"]
    for r in rows:
        out.append(
            f"| {r['lower']:.1f}-{r['upper']:.1f} | {r['n']} | {_num(r['mean_predicted'])} "
            f"| {_num(r['observed_rate'])} |"
        )
    return out


def _segments(holdout: Sequence[dict], live: Sequence[dict]) -> list[str]:
    if not holdout and not live:
        return ["_no segment figures recorded_"]
    live_by = {r["segment"]: r for r in live}
    names = [r["segment"] for r in holdout] or [r["segment"] for r in live]
    out = [
        "| segment | holdout n | holdout accuracy | live n | live accuracy |",
        "|---|---|---|---|---|",
    ]
    hold_by = {r["segment"]: r for r in holdout}
    for name in names:
        h, lv = hold_by.get(name, {}), live_by.get(name, {})
        out.append(
            f"| {name} | {h.get('n_labelled', '-')} | {_num(h.get('accuracy'))} "
            f"| {_int(lv.get('n_labelled'))} | {_num(lv.get('accuracy'))} |"
        )
    return out


def _live(facts: CardFacts) -> list[str]:
    out: list[str] = []
    if facts.live_champion:
        out += [
            "As champion (served):",
            "",
            "| day | labelled | accuracy | F1 | Brier | ECE |",
            "|---|---|---|---|---|---|",
        ]
        for r in facts.live_champion:
            out.append(
                f"| {_text(r.get('day'))[:10]} | {_int(r.get('n_labelled'))} "
                f"| {_num(r.get('accuracy'))} | {_num(r.get('f1'))} | {_num(r.get('brier'))} "
                f"| {_num(r.get('ece'))} |"
            )
        out.append("")
    if facts.live_shadow:
        out += [
            "In the shadow (same labelled passengers as the champion; difference = this "
            "version minus the champion, 95% interval):",
            "",
            "| day | champion | labelled | accuracy (this / champion) | difference [95% CI] "
            "| Brier (this / champion) |",
            "|---|---|---|---|---|---|",
        ]
        for r in facts.live_shadow:
            out.append(
                f"| {_text(r.get('day'))[:10]} | v{r['champion_version']} "
                f"| {_int(r.get('n_labelled'))} | {_num(r.get('shadow_accuracy'))} / "
                f"{_num(r.get('champion_accuracy'))} | {_signed(r.get('accuracy_difference'))} "
                f"[{_signed(r.get('accuracy_ci_low'))}, {_signed(r.get('accuracy_ci_high'))}] "
                f"| {_num(r.get('shadow_brier'))} / {_num(r.get('champion_brier'))} |"
            )
    if not out:
        out.append("_no monitored day yet, neither as champion nor in the shadow_")
    return out


def _decisions(rows: Sequence[dict]) -> list[str]:
    if not rows:
        return ["_none logged_"]
    return [
        f"- {_text(r.get('decided_at'))[:19]} **{r.get('action')}**"
        f" (evidence: {r.get('evidence') or '-'}): {r.get('reason') or ''}"
        for r in rows
    ]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _num(value: Any) -> str:
    return "-" if _missing(value) else f"{float(value):.3f}"


def _signed(value: Any) -> str:
    return "-" if _missing(value) else f"{float(value):+.3f}"


def _int(value: Any) -> str:
    return "-" if _missing(value) else str(int(value))


def _text(value: Any, default: str = "-") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    return str(value)

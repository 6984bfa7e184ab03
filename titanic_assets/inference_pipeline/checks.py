"""Asset checks on ``monitoring/model_performance``: warn, never block.

A low accuracy or a drifted day is a reason to look (and, through the retraining sensor, to
retrain), not to stop publishing monitoring figures, so both checks are WARN and non-blocking.
They are evaluated inside the monitoring asset (``check_specs``), on the frame it just computed,
with the same :func:`titanic_assets.core.monitoring.verdict` rules the retraining sensor uses.

Thresholds (environment variables read at run time through :mod:`titanic_assets.settings`,
which validates them and holds their defaults):

* ``TITANIC_ACCURACY_FLOOR`` (default 0.70) — accuracy below this warns ...
* ``TITANIC_MIN_LABELLED`` (default 30) — ... once at least this many predictions have labels.
* ``TITANIC_PSI_CEILING`` (default 0.25) — the largest per-feature PSI above this warns.
* ``TITANIC_ECE_CEILING`` (default 0.10) — the champion's expected calibration error above
  this warns (with ``TITANIC_MIN_LABELLED`` labels).
* ``TITANIC_SEGMENT_MIN_LABELLED`` (default 30) and ``TITANIC_SEGMENT_MARGIN`` (default 0.15)
  — a sex x class segment with that many labels whose accuracy is more than the margin below
  the day's overall accuracy warns.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import dagster as dg
import pandas as pd

from titanic_assets import names
from titanic_assets.core import monitoring, segments
from titanic_assets.names import ACCURACY_CHECK, CALIBRATION_CHECK, DRIFT_CHECK, SEGMENT_CHECK

PERFORMANCE_KEY = dg.AssetKey(names.MODEL_PERFORMANCE)

PERFORMANCE_CHECK_SPECS = [
    dg.AssetCheckSpec(
        ACCURACY_CHECK,
        asset=PERFORMANCE_KEY,
        blocking=False,
        description=(
            "Accuracy of the day's labelled predictions is at least TITANIC_ACCURACY_FLOOR "
            "(default 0.70); judged only with TITANIC_MIN_LABELLED (default 30) labels."
        ),
    ),
    dg.AssetCheckSpec(
        DRIFT_CHECK,
        asset=PERFORMANCE_KEY,
        blocking=False,
        description=(
            "The largest per-feature PSI of the day's scored passengers against the model's "
            "training profile is at most TITANIC_PSI_CEILING (default 0.25)."
        ),
    ),
    dg.AssetCheckSpec(
        CALIBRATION_CHECK,
        asset=PERFORMANCE_KEY,
        blocking=False,
        description=(
            "The expected calibration error (10 equal-width bins) of the day's labelled "
            "predictions is at most TITANIC_ECE_CEILING (default 0.10); judged only with "
            "TITANIC_MIN_LABELLED labels."
        ),
    ),
    dg.AssetCheckSpec(
        SEGMENT_CHECK,
        asset=PERFORMANCE_KEY,
        blocking=False,
        description=(
            "No sex x class segment with TITANIC_SEGMENT_MIN_LABELLED (default 30) labelled "
            "passengers is more than TITANIC_SEGMENT_MARGIN (default 0.15) below the day's "
            "overall accuracy (champion rows)."
        ),
    ),
]


def evaluate(
    performance: pd.DataFrame, thresholds: monitoring.Thresholds
) -> Iterator[dg.AssetCheckResult]:
    """One result per check, over every (day, model_version) row of the partition."""
    rows = performance.to_dict("records")
    accuracy_reasons = [r for row in rows for r in monitoring.accuracy_reasons(row, thresholds)]
    drift_reasons = [r for row in rows for r in monitoring.drift_reasons(row, thresholds)]
    yield dg.AssetCheckResult(
        asset_key=PERFORMANCE_KEY,
        check_name=ACCURACY_CHECK,
        passed=not accuracy_reasons,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(accuracy_reasons) or _accuracy_note(rows, thresholds),
        metadata={
            "accuracy_floor": thresholds.accuracy_floor,
            "min_labelled": thresholds.min_labelled,
            **_worst(rows, "accuracy", min),
        },
    )
    yield dg.AssetCheckResult(
        asset_key=PERFORMANCE_KEY,
        check_name=DRIFT_CHECK,
        passed=not drift_reasons,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(drift_reasons)
        or ("no scored passengers" if not rows else "no feature above the PSI ceiling"),
        metadata={"psi_ceiling": thresholds.psi_ceiling, **_worst(rows, "max_psi", max)},
    )


def evaluate_model(
    performance: pd.DataFrame, segment_rows: pd.DataFrame, thresholds: monitoring.ModelThresholds
) -> Iterator[dg.AssetCheckResult]:
    """The calibration and segment checks of the day (champion rows: those served)."""
    rows = performance.to_dict("records")
    ece_reasons = [r for row in rows for r in monitoring.calibration_reasons(row, thresholds)]
    labelled = sum(int(r["n_labelled"]) for r in rows)
    yield dg.AssetCheckResult(
        asset_key=PERFORMANCE_KEY,
        check_name=CALIBRATION_CHECK,
        passed=not ece_reasons,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(ece_reasons)
        or (
            f"only {labelled} labelled predictions (< {thresholds.min_labelled}): not judged"
            if labelled < thresholds.min_labelled
            else "ECE at or below the ceiling"
        ),
        metadata={"ece_ceiling": thresholds.ece_ceiling, **_worst(rows, "ece", max)},
    )
    reasons, judged = segments.served_segment_reasons(
        performance, segment_rows, thresholds.segment_min_labelled, thresholds.segment_margin
    )
    yield dg.AssetCheckResult(
        asset_key=PERFORMANCE_KEY,
        check_name=SEGMENT_CHECK,
        passed=not reasons,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(reasons)
        or f"{len(judged)} segment(s) judged, none more than "
        f"{thresholds.segment_margin:.2f} below the day's accuracy",
        metadata={
            "segment_min_labelled": thresholds.segment_min_labelled,
            "segment_margin": thresholds.segment_margin,
            "segments_judged": len(judged),
        },
    )


def _accuracy_note(rows: list[dict], thresholds: monitoring.Thresholds) -> str:
    labelled = sum(int(r["n_labelled"]) for r in rows)
    if labelled < thresholds.min_labelled:
        return f"only {labelled} labelled predictions (< {thresholds.min_labelled}): not judged"
    return "accuracy at or above the floor"


def _worst(rows: list[dict], column: str, pick) -> dict[str, float]:
    values = [float(r[column]) for r in rows if r[column] is not None and math.isfinite(r[column])]
    return {f"observed_{column}": pick(values)} if values else {}

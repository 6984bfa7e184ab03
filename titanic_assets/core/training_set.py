"""The training set's rules: cutoff, splits, regime window, checks and identity (no Dagster here).

Rows are the labelled feature-store passengers with ``event_time <= cutoff`` (point in time).
Each gets a ``split``:

* ``holdout`` — chosen by a hash of the passenger id (:func:`~titanic_assets.core.model.holdout_mask`),
  never trained on by any version; scored for the champion/challenger decision;
* ``train`` — the rest, inside the training window;
* ``excluded`` — the rest, before the training window (kept for lineage, not trained on).

The training window is all of history unless a **regime start** is set: after monitoring
reported degradation, training starts at the first day of the trailing run of degraded days
(:func:`regime_start`), so the model learns the regime that is instead of a blend with 1912.
A window with fewer than ``min_window_rows`` labelled rows is widened back to the latest
``min_window_rows`` rows: one noisy hour must not become a whole training set.

**What a run reads** is bounded (:data:`MAX_TRAINING_ROWS`): a year at 10,000 passengers an hour
is ~88 million labelled rows, ~9 GB as a frame, hours of fitting. Past the bound, the synthetic
passengers are read as a sample chosen by a hash of the passenger id (:func:`sample_buckets`):
the same passenger is in or out for every run, every hour contributes the same fraction in
expectation, and membership is independent of the label (stratified in expectation, as the
holdout is). The historical passengers (the real list, ~1.3k) are always read in full.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from titanic_assets.core.clock import utc_now
from titanic_assets.core.features import LABEL_COLUMN
from titanic_assets.core.model import holdout_mask
from titanic_assets.core.monitoring import Thresholds, verdict

TRAIN, HOLDOUT, EXCLUDED = "train", "holdout", "excluded"
#: The smallest regime window trained on (about half a day of synthetic passengers).
MIN_WINDOW_ROWS = 200
#: The "recent" evaluation set: holdout passengers of the last day before the cutoff.
EVAL_WINDOW_HOURS = 24
REASON_DEGRADATION = "model_degradation"
#: The most labelled passengers a training run reads (see the module docstring). 100,000, not
#: more: on a 203-day history (48.7M passengers) the default model scored 0.784 on one fixed
#: holdout set whether it was trained on 20k, 100k or 500k of them, while each fit (six a run:
#: the model and five CV folds) costs in proportion to the rows, ~5x more at 500k. ``make bench``
#: measures both (``year_history.sample_accuracy`` and ``training_s``; docs/performance.md).
MAX_TRAINING_ROWS = 100_000
#: The hash space of the sample: a passenger is read when ``hash(id) % SAMPLE_BUCKETS`` is
#: below the bucket count :func:`sample_buckets` gives.
SAMPLE_BUCKETS = 1 << 20


class TrainingSetError(ValueError):
    """The rows cannot make a trustworthy model (the message says why and what to do)."""


def parse_cutoff(value: str | None) -> datetime:
    """The cutoff as naive UTC (the warehouse's event_time convention); default now."""
    if value is None or not str(value).strip():
        return utc_now()
    try:
        stamp = pd.Timestamp(str(value).strip())
    except ValueError as error:
        raise TrainingSetError(
            f"cutoff {value!r} is not an ISO timestamp (e.g. 2026-01-31T12:00)"
        ) from error
    if pd.isna(stamp):
        raise TrainingSetError(f"cutoff {value!r} is not an ISO timestamp")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def content_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of the rows (sorted by passenger) and column names: the training data's identity."""
    ordered = frame.sort_values("passenger_id").reset_index(drop=True)
    digest = hashlib.sha256(json.dumps(list(ordered.columns)).encode())
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def sample_buckets(labelled_rows: int, max_rows: int = MAX_TRAINING_ROWS) -> int | None:
    """How many of :data:`SAMPLE_BUCKETS` hash buckets of synthetic passengers to read so that
    about ``max_rows`` of ``labelled_rows`` are read; None: read them all (at or under the bound).
    """
    if max_rows < 1:
        raise TrainingSetError(f"max_rows must be at least 1, got {max_rows}")
    if labelled_rows <= max_rows:
        return None
    return max(1, int(SAMPLE_BUCKETS * max_rows / labelled_rows))


def widen_window(
    event_times: pd.Series, start: datetime | None, min_rows: int = MIN_WINDOW_ROWS
) -> datetime | None:
    """``start``, moved back if needed so the window holds at least ``min_rows`` rows."""
    if start is None:
        return None
    times = pd.to_datetime(event_times).sort_values()
    if int((times >= pd.Timestamp(start)).sum()) >= min_rows:
        return start
    if len(times) <= min_rows:
        return None  # everything is fewer rows than the minimum: use all of it
    return pd.Timestamp(times.iloc[-min_rows]).to_pydatetime()


def assign_splits(frame: pd.DataFrame, window_start: datetime | None = None) -> pd.DataFrame:
    """A copy with the ``split`` column (see the module docstring)."""
    out = frame.copy()
    out["split"] = TRAIN
    if window_start is not None:
        out.loc[out["event_time"] < pd.Timestamp(window_start), "split"] = EXCLUDED
    out.loc[holdout_mask(out["passenger_id"]), "split"] = HOLDOUT
    return out


def recent_mask(frame: pd.DataFrame, hours: float = EVAL_WINDOW_HOURS) -> pd.Series:
    """Holdout rows of the last ``hours`` before the latest labelled passenger: "recent".

    Measured from the data's latest ``event_time`` rather than the run's cutoff, so the same
    training set always gives the same evaluation set.
    """
    if frame.empty:
        return pd.Series(False, index=frame.index)
    since = pd.Timestamp(frame["event_time"].max()) - timedelta(hours=hours)
    return (frame["split"] == HOLDOUT) & (frame["event_time"] > since)


def validate_training_rows(frame: pd.DataFrame, min_rows: int) -> None:
    """Refuse what cannot make a trustworthy model, before anything is written."""
    if len(frame) < min_rows:
        raise TrainingSetError(
            f"only {len(frame)} labelled passengers up to the cutoff; at least {min_rows} are "
            "needed to train and hold out a fair evaluation set (move the cutoff later, or "
            "run the feature pipeline)"
        )
    for name, part in (("training set", frame), ("train split", frame[frame["split"] == TRAIN])):
        classes = sorted(part[LABEL_COLUMN].unique().tolist())
        if len(classes) < 2:
            raise TrainingSetError(
                f"the {name} holds a single class {classes}: a classifier cannot learn survival "
                "from it (check the labels in the feature store)"
            )
    if (frame["split"] == HOLDOUT).sum() == 0:
        raise TrainingSetError("the holdout split is empty: nothing to evaluate the model on")


def regime_start(
    performance: Iterable[Mapping[str, Any]],
    degraded_day: datetime,
    thresholds: Thresholds,
) -> datetime:
    """First day of the run of consecutive degraded days that ends at ``degraded_day``.

    ``performance`` are ``monitoring.model_performance`` rows (``day`` plus the verdict's
    inputs). A day counts as degraded when any of its rows fails the monitoring verdict; the
    walk back stops at the first healthy or unmonitored day.
    """
    degraded: set[pd.Timestamp] = set()
    for row in performance:
        if verdict(row, thresholds):
            degraded.add(pd.Timestamp(row["day"]).normalize())
    day = pd.Timestamp(degraded_day).normalize()
    while day - timedelta(days=1) in degraded:
        day -= timedelta(days=1)
    return day.to_pydatetime()


def window_lineage(frame: pd.DataFrame, reason: str, eval_window_hours: float) -> dict[str, Any]:
    """What the registry records about the rows behind a version (which rows, window, weights).

    The window start is read off the splits (the earliest trained-on row when older rows were
    excluded), so a training set read back from the warehouse gives the same lineage.
    """
    splits = frame["split"].value_counts()
    train = frame[frame["split"] == TRAIN]
    windowed = bool(splits.get(EXCLUDED, 0)) and not train.empty
    start = pd.Timestamp(train["event_time"].min()).isoformat() if windowed else None
    return {
        "reason": reason,
        "window_start": start,
        "latest_event_time": pd.Timestamp(frame["event_time"].max()).isoformat(),
        "weights": "uniform",
        "train_rows": int(splits.get(TRAIN, 0)),
        "holdout_rows": int(splits.get(HOLDOUT, 0)),
        "excluded_rows": int(splits.get(EXCLUDED, 0)),
        "recent_rows": int(recent_mask(frame, eval_window_hours).sum()),
        "eval_window_hours": eval_window_hours,
    }

"""Passengers in: the historical load and one synthetic hour, each as one library call.

Why here and not in the assets: the rules (which rows are accepted, what the raw table keeps,
that a generator producing an invalid passenger is a bug and not bad luck) are the same for the
Dagster assets, the plain benchmark and any notebook; the assets only add Dagster metadata and
turn :class:`BackfillError` into ``dg.Failure``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from titanic_assets.core.generator import DriftSpec, PassengerGenerator
from titanic_assets.core.schema import (
    PASSENGER_COLUMNS,
    detect_shape,
    extra_columns,
    label_leak_columns,
    normalise_source,
    validate_passengers,
)
from titanic_assets.core.sources import SourceError, read_source_csv


class BackfillError(ValueError):
    """Passengers cannot be loaded or generated; the message says why and where."""


@dataclass(frozen=True)
class HistoricalLoad:
    """One source file, loaded: every row as read, the accepted and rejected passengers."""

    path: Path
    shape: str
    raw: pd.DataFrame
    passenger_ids: pd.Series
    accepted: pd.DataFrame
    rejected: pd.DataFrame
    #: Columns beyond the known shape (kept in the raw table only, never model inputs).
    extras: list[str] = field(default_factory=list)
    #: Columns that restate the survival label (leakage), among the extras.
    leaks: list[str] = field(default_factory=list)

    def raw_records(self, loaded_at: datetime) -> pd.DataFrame:
        """``features.raw_historical_passengers``: each source row exactly as loaded (JSON)."""
        return pd.DataFrame(
            {
                "source_row": range(1, len(self.raw) + 1),
                "passenger_id": self.passenger_ids.to_numpy(),
                "source_file": str(self.path),
                "source_shape": self.shape,
                "record": [json.dumps(r, ensure_ascii=False) for r in self.raw.to_dict("records")],
                "loaded_at": loaded_at,
            }
        )

    def rejected_records(self, loaded_at: datetime) -> pd.DataFrame:
        """``features.rejected_historical_passengers``: rejected rows with every reason."""
        return self.rejected.assign(source_file=str(self.path), loaded_at=loaded_at)


def load_historical(path: Path) -> HistoricalLoad:
    """Read, normalise and validate a passenger list; refuse a file with no valid passenger."""
    try:
        raw = read_source_csv(path)
        passengers, shape = normalise_source(raw)
    except SourceError as error:
        raise BackfillError(str(error)) from error
    except ValueError as error:  # SourceShapeError names missing / unexpected columns
        raise BackfillError(f"{path}: {error}") from error
    accepted, rejected = validate_passengers(passengers, raw)
    if accepted.empty:
        raise BackfillError(
            f"no row of {path} is a valid passenger ({len(rejected)} rejected); first reasons: "
            + "; ".join(rejected["reject_reasons"].head(3))
        )
    return HistoricalLoad(
        path=path,
        shape=shape,
        raw=raw,
        passenger_ids=passengers["passenger_id"],
        accepted=accepted,
        rejected=rejected,
        extras=extra_columns(raw.columns, detect_shape(raw.columns)),
        leaks=label_leak_columns(raw, passengers),
    )


def synthetic_hour(
    historical: pd.DataFrame,
    hour_start: datetime,
    n: int,
    *,
    seed: int,
    drift: DriftSpec | None = None,
) -> tuple[pd.DataFrame, PassengerGenerator]:
    """One hour of valid synthetic passengers, and the generator that drew them.

    Raises :class:`BackfillError` with no historical passengers to learn from, on bad generator
    settings, or when the generator produced an invalid passenger (a bug, never stored).
    """
    [accepted], generator = synthetic_hours(historical, [hour_start], n, seed=seed, drift=drift)
    return accepted, generator


def synthetic_hours(
    historical: pd.DataFrame,
    hour_starts: list[datetime],
    n: int,
    *,
    seed: int,
    drift: DriftSpec | None = None,
) -> tuple[list[pd.DataFrame], PassengerGenerator]:
    """Several hours of valid synthetic passengers (one frame per hour, each exactly what
    :func:`synthetic_hour` gives for it), from one fit of the generator.

    A batched backfill generates many hours in one run: fitting once keeps its cost per hour
    down to the generation itself. Raises :class:`BackfillError` like :func:`synthetic_hour`,
    naming the hour when one is invalid.
    """
    if historical.empty:
        raise BackfillError("no historical passengers to learn from: run historical_backfill first")
    try:
        generator = PassengerGenerator.fit(historical[list(PASSENGER_COLUMNS)])
    except ValueError as error:  # bad generator settings: say which
        raise BackfillError(str(error)) from error
    frames = []
    for hour_start in hour_starts:
        try:
            passengers = generator.generate(hour_start, n, seed=seed, drift=drift)
        except ValueError as error:  # bad drift settings: say which
            raise BackfillError(str(error)) from error
        accepted, rejected = validate_passengers(passengers)
        if not rejected.empty:
            raise BackfillError(
                f"{hour_start:%Y-%m-%d %H:00}: generator produced {len(rejected)} invalid "
                "passengers: " + "; ".join(rejected["reject_reasons"].head(3))
            )
        frames.append(accepted)
    return frames, generator

"""Synthetic passengers learned from the historical list, so new data keeps arriving every hour.

Realism comes from two learned parts:

* **Who travels**: each new passenger starts from a historical passenger drawn at random (keeping
  the joint mix of class, sex, port, family and fare), then gets a jittered age.
* **Who survives**: a logistic model fitted on the historical passengers (sex, class, their
  interaction, age, fare, family) gives each new passenger a survival probability, and the label
  is drawn from it. Labels therefore depend on the features as in 1912, the survival rate stays
  near 38%, and a model's accuracy on synthetic passengers means something.

Both parts learn from the **training split only** (the passengers for whom
:func:`titanic_assets.core.model.holdout_mask` is False, the one split rule training uses). A
holdout passenger's label never shapes the survival model, and no holdout passenger is copied
into a synthetic training row, so the holdout stays unseen by everything a model trains on.

Everything is seeded from the partition key: the same hour always yields the same passengers.
Drift is available on request (class mix, age shift, and a concept shift that weakens the
learned relationship) so that monitoring can be shown to catch it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from titanic_assets import names
from titanic_assets.core.model import holdout_mask
from titanic_assets.core.schema import (
    PASSENGER_COLUMNS,
    PCLASSES,
    SOURCE_SYNTHETIC,
    empty_passengers,
)

AGE_JITTER_YEARS = 2.5
AGE_BOUNDS = (0.17, 80.0)


@dataclass(frozen=True)
class DriftSpec:
    """A requested shift of the generated population; the default is no drift.

    ``pclass_weights`` re-weights the class mix (e.g. ``{3: 5.0}`` makes third class five times as
    likely as in 1912), ``age_shift_years`` moves every age, and ``concept_shift`` in [0, 1]
    blends each survival probability toward its opposite (0 = 1912's rules, 1 = inverted).
    """

    pclass_weights: dict[int, float] = field(default_factory=dict)
    age_shift_years: float = 0.0
    concept_shift: float = 0.0

    def __post_init__(self) -> None:
        # NaN passes every range comparison below (and a NaN age shift would silently blank
        # every age), inf breaks the class weights: refuse both up front, naming the field.
        for name, value in (
            ("age_shift_years", self.age_shift_years),
            ("concept_shift", self.concept_shift),
            *((f"pclass_weights[{k}]", w) for k, w in self.pclass_weights.items()),
        ):
            if not math.isfinite(value):
                raise ValueError(f"drift {name} must be a finite number, got {value}")
        unknown = sorted(set(self.pclass_weights) - set(PCLASSES))
        if unknown:
            raise ValueError(f"drift pclass_weights has unknown classes {unknown}; use 1, 2, 3")
        if any(w < 0 for w in self.pclass_weights.values()):
            raise ValueError("drift pclass_weights must be non-negative")
        if not 0.0 <= self.concept_shift <= 1.0:
            raise ValueError(f"drift concept_shift must be within 0..1, got {self.concept_shift}")
        if abs(self.age_shift_years) > 50:
            raise ValueError(
                f"drift age_shift_years must be within -50..50, got {self.age_shift_years}"
            )

    @property
    def is_drifted(self) -> bool:
        return bool(self.pclass_weights) or self.age_shift_years != 0 or self.concept_shift > 0


@dataclass(frozen=True)
class PassengerGenerator:
    """The learned generator: historical templates plus a survival model's coefficients."""

    templates: pd.DataFrame
    coefficients: np.ndarray
    intercept: float
    age_fill: float

    @classmethod
    def fit(cls, historical: pd.DataFrame) -> PassengerGenerator:
        """Learn from the training split of normalised historical passengers.

        ``historical`` may hold every historical passenger (schema.PASSENGER_COLUMNS): the
        holdout rows are dropped here, so no caller can leak them by passing the whole list.
        """
        historical = training_split(historical)
        if len(historical) < 50 or historical["survived"].nunique() < 2:
            raise ValueError(
                "the generator needs at least 50 historical passengers with both outcomes in "
                f"the training split to learn from; got {len(historical)} rows"
            )
        from sklearn.linear_model import LogisticRegression

        templates = (
            historical[
                ["passenger_id", "pclass", "sex", "age", "sibsp", "parch", "fare", "embarked"]
            ]
            .sort_values("passenger_id")
            .reset_index(drop=True)
        )
        age_fill = float(historical["age"].median())
        design = _survival_design(historical, age_fill)
        model = LogisticRegression(C=1.0, max_iter=2000)
        model.fit(design, historical["survived"].to_numpy())
        return cls(templates, model.coef_[0].copy(), float(model.intercept_[0]), age_fill)

    def survival_probability(self, passengers: pd.DataFrame) -> np.ndarray:
        logits = _survival_design(passengers, self.age_fill) @ self.coefficients + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))

    def generate(
        self,
        hour_start: datetime,
        n: int,
        *,
        seed: int = 0,
        drift: DriftSpec | None = None,
        id_prefix: str = "syn",
    ) -> pd.DataFrame:
        """``n`` passengers with event times inside the hour starting at ``hour_start``."""
        if n < 0:
            raise ValueError(f"passengers per partition must be >= 0, got {n}")
        if n == 0:
            return empty_passengers()
        drift = drift or DriftSpec()
        rng = np.random.default_rng(_seed_for(hour_start, seed))
        picks = rng.choice(len(self.templates), size=n, p=self._template_weights(drift))
        out = self.templates.iloc[picks].reset_index(drop=True)

        age = out["age"].to_numpy(dtype=float)
        age = age + rng.normal(0.0, AGE_JITTER_YEARS, n) + drift.age_shift_years
        out["age"] = np.round(np.clip(age, *AGE_BOUNDS), 1)
        # Fares are kept as drawn: real fares sit on a few tariff values (7.75, 7.8958, 8.05...)
        # and jitter would move them across those values, which PSI rightly reports as drift.

        p = self.survival_probability(out)
        p = (1.0 - drift.concept_shift) * p + drift.concept_shift * (1.0 - p)
        out["survived"] = (rng.random(n) < p).astype("int64")

        offsets = np.sort(rng.integers(0, 3_600_000_000, n))  # microseconds within the hour
        out["event_time"] = pd.Timestamp(hour_start) + pd.to_timedelta(offsets, unit="us")
        out["event_time"] = out["event_time"].astype("datetime64[us]")
        stamp = hour_start.strftime("%Y%m%d%H")
        out["passenger_id"] = [f"{id_prefix}-{stamp}-{i:06d}" for i in range(1, n + 1)]
        out["source"] = SOURCE_SYNTHETIC
        out["batch_id"] = hour_start.strftime(names.HOUR_BATCH_FORMAT)
        for column in ("pclass", "sibsp", "parch"):
            out[column] = out[column].astype("int64")
        return out[list(PASSENGER_COLUMNS)]

    def _template_weights(self, drift: DriftSpec) -> np.ndarray:
        weights = np.ones(len(self.templates))
        for pclass, weight in drift.pclass_weights.items():
            weights[self.templates["pclass"].to_numpy() == pclass] = weight
        if weights.sum() == 0:
            raise ValueError("drift pclass_weights leave no passenger class to draw from")
        return weights / weights.sum()


def training_split(passengers: pd.DataFrame) -> pd.DataFrame:
    """The passengers outside the holdout, by the same per-passenger rule training applies."""
    return passengers[~holdout_mask(passengers["passenger_id"])]


def _seed_for(hour_start: datetime, seed: int) -> int:
    """A 64-bit seed from the hour and the user's seed: same key, same passengers."""
    digest = hashlib.sha256(f"{seed}:{hour_start.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _survival_design(passengers: pd.DataFrame, age_fill: float) -> np.ndarray:
    """Inputs of the survival model: who you were on board, as the 1912 outcome depended on it."""
    female = (passengers["sex"] == "female").to_numpy(dtype=float)
    pclass = passengers["pclass"].to_numpy(dtype=float)
    second = (pclass == 2).astype(float)
    third = (pclass == 3).astype(float)
    age = passengers["age"].to_numpy(dtype=float)
    age_missing = np.isnan(age).astype(float)
    age = np.where(np.isnan(age), age_fill, age)
    fare = passengers["fare"].to_numpy(dtype=float)
    log_fare = np.log1p(np.where(np.isnan(fare), 0.0, fare))
    family = passengers["sibsp"].to_numpy(dtype=float) + passengers["parch"].to_numpy(dtype=float)
    return np.column_stack(
        [
            female,
            second,
            third,
            female * second,
            female * third,
            age / 10.0,
            (age < 10).astype(float),
            age_missing,
            log_fare,
            family,
            (family == 0).astype(float),
            (family >= 4).astype(float),
        ]
    )

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
from functools import cached_property

import numpy as np
import pandas as pd

from titanic_assets import names
from titanic_assets.core import ids
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
        templates = (
            historical[
                ["passenger_id", "pclass", "sex", "age", "sibsp", "parch", "fare", "embarked"]
            ]
            .sort_values("passenger_id")
            .reset_index(drop=True)
        )
        age_fill = float(historical["age"].median())
        design = _survival_design(historical, age_fill)
        coefficients, intercept = _fit_logistic(design, historical["survived"].to_numpy(float))
        return cls(templates, coefficients, intercept, age_fill)

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
        if drift.pclass_weights:
            picks = rng.choice(len(self.templates), size=n, p=self._template_weights(drift))
        else:  # every template equally likely: a bounded integer draw, not a weighted search
            picks = rng.integers(0, len(self.templates), size=n)
        drawn = self._template_columns

        age = drawn["age"][picks] + rng.normal(0.0, AGE_JITTER_YEARS, n) + drift.age_shift_years
        age = np.round(np.clip(age, *AGE_BOUNDS), 1)
        # Fares are kept as drawn: real fares sit on a few tariff values (7.75, 7.8958, 8.05...)
        # and jitter would move them across those values, which PSI rightly reports as drift.

        p = self._survival_given_age(picks, age)
        p = (1.0 - drift.concept_shift) * p + drift.concept_shift * (1.0 - p)
        survived = (rng.random(n) < p).astype("int64")

        # Microseconds within the hour (they fit 32 bits, which sort faster than 64).
        offsets = np.sort(rng.integers(0, 3_600_000_000, n, dtype=np.uint32))
        start = pd.Timestamp(hour_start).as_unit("us").to_datetime64()
        columns = {
            "passenger_id": _numbered_ids(ids.id_prefix(id_prefix, hour_start), n),
            "event_time": start + offsets.astype("timedelta64[us]"),
            "source": _constant(SOURCE_SYNTHETIC, n),
            "batch_id": _constant(batch_id_for(hour_start), n),
            "age": age,
            "survived": survived,
        }
        for column in ("pclass", "sex", "sibsp", "parch", "fare", "embarked"):
            columns[column] = drawn[column][picks]
        # Every array is new: copy=False only skips pandas' block consolidation (a full copy).
        return pd.DataFrame({c: columns[c] for c in PASSENGER_COLUMNS}, copy=False)

    @cached_property
    def _template_columns(self) -> dict[str, np.ndarray]:
        """The templates as plain arrays in storage types (missing text as None), drawn by index."""
        t = self.templates
        columns: dict[str, np.ndarray] = {
            c: t[c].to_numpy(dtype="int64") for c in ("pclass", "sibsp", "parch")
        }
        for column in ("age", "fare"):
            columns[column] = t[column].to_numpy(dtype="float64", na_value=np.nan)
        for column in ("sex", "embarked"):
            values = t[column].to_numpy(dtype=object)
            values[pd.isna(values)] = None
            columns[column] = values
        return columns

    @cached_property
    def _template_logits(self) -> np.ndarray:
        """Each template's survival logit from everything but age (age is jittered per draw)."""
        design = _survival_design(self.templates, self.age_fill)
        design[:, list(_AGE_TERMS.values())] = 0.0
        return design @ self.coefficients + self.intercept

    def _survival_given_age(self, picks: np.ndarray, age: np.ndarray) -> np.ndarray:
        """:meth:`survival_probability` of the drawn passengers, without building their design
        matrix: the template's age-free logit plus the age terms of the drawn age."""
        missing = np.isnan(age)
        filled = np.where(missing, self.age_fill, age)
        w = self.coefficients
        logits = self._template_logits[picks]
        logits += w[_AGE_TERMS["age"]] * (filled / 10.0)
        logits += w[_AGE_TERMS["child"]] * (filled < 10)
        logits += w[_AGE_TERMS["age_missing"]] * missing
        return 1.0 / (1.0 + np.exp(-logits))

    def _template_weights(self, drift: DriftSpec) -> np.ndarray:
        weights = np.ones(len(self.templates))
        for pclass, weight in drift.pclass_weights.items():
            weights[self.templates["pclass"].to_numpy() == pclass] = weight
        if weights.sum() == 0:
            raise ValueError("drift pclass_weights leave no passenger class to draw from")
        return weights / weights.sum()


def batch_id_for(hour: datetime | str) -> str:
    """The batch id of an hour's synthetic passengers: the quality ledger's key for the hour.

    ``hour`` is its start or its hourly partition key; the generator stamps the rows with it
    and the feature pipeline certifies and withdraws the same batch by it.
    """
    if isinstance(hour, str):
        hour = datetime.strptime(hour, names.HOUR_KEY_FORMAT)
    return hour.strftime(names.HOUR_BATCH_FORMAT)


def training_split(passengers: pd.DataFrame) -> pd.DataFrame:
    """The passengers outside the holdout, by the same per-passenger rule training applies."""
    return passengers[~holdout_mask(passengers["passenger_id"])]


def _seed_for(hour_start: datetime, seed: int) -> int:
    """A 64-bit seed from the hour and the user's seed: same key, same passengers."""
    digest = hashlib.sha256(f"{seed}:{hour_start.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _constant(value: str, n: int) -> np.ndarray:
    """``n`` references to one str (``np.full`` would make ``n`` copies of it)."""
    values = np.empty(n, dtype=object)
    values.fill(value)
    return values


def _numbered_ids(prefix: str, n: int, width: int = 6) -> np.ndarray:
    """``prefix`` + 1..n zero-padded to ``width`` digits (more when n needs them), as str objects.

    The same strings as ``f"{prefix}{i:06d}"``, written as code points into fixed-width arrays
    (digits from a lookup table) and converted a block at a time: a Python loop formatting a
    million ids costs several times more, and blocks keep the scratch arrays small. The str
    objects are made by ``tolist`` (numpy's ``astype(object)`` of a fixed-width text array makes
    the same strings at about twice the cost).
    """
    ids = np.empty(n, dtype=object)
    for low in range(0, n, _ID_BLOCK):
        high = min(n, low + _ID_BLOCK)
        ids[low:high] = _numbered_block(prefix, low + 1, high, width)
    return ids


def _numbered_block(prefix: str, first: int, last: int, width: int) -> list[str]:
    """The ids of numbers ``first..last`` (see :func:`_numbered_ids`)."""
    numbers = np.arange(first, last + 1, dtype=np.int64)
    digits = max(width, len(str(last)))
    codes = np.zeros((len(numbers), len(prefix) + digits), dtype=np.uint32)
    codes[:, : len(prefix)] = np.frombuffer(prefix.encode("utf-32-le"), dtype=np.uint32)
    for d in range(width, digits + 1):  # rows whose number has d digits (d = width: fewer too)
        smallest = 1 if d == width else 10 ** (d - 1)
        rows = slice(max(smallest, first) - first, min(10**d - 1, last) - first + 1)
        rest = numbers[rows]
        end = len(prefix) + d
        while end > len(prefix):  # three digits at a time, right to left
            start = max(len(prefix), end - 3)
            codes[rows, start:end] = _DIGIT_TRIPLES[rest % 1000][:, 3 - (end - start) :]
            rest = rest // 1000
            end = start
    # Shorter ids end in NUL code points, which numpy drops when it makes the str objects.
    return codes.view(f"<U{len(prefix) + digits}").ravel().tolist()


#: Ids made per block by :func:`_numbered_ids`.
_ID_BLOCK = 1 << 16
#: "000".."999" as code points: row k holds the three digits of k.
_DIGIT_TRIPLES = np.array([[ord(c) for c in f"{k:03d}"] for k in range(1000)], dtype=np.uint32)


def _fit_logistic(
    design: np.ndarray, labels: np.ndarray, *, c: float = 1.0
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression (intercept not penalised), fitted by Newton's method.

    The objective is scikit-learn's ``LogisticRegression(C=c)``: the sum of log losses plus
    ``||w||^2 / (2c)``. With a dozen inputs Newton converges in a few steps to the exact optimum
    (L-BFGS stops at its tolerance), in milliseconds, and without importing scikit-learn.
    """
    rows, inputs = design.shape
    a = np.column_stack([design, np.ones(rows)])
    penalty = np.full(inputs + 1, 1.0 / c)
    penalty[-1] = 0.0

    def objective(beta: np.ndarray) -> float:
        z = a @ beta
        return float(np.sum(np.logaddexp(0.0, z) - labels * z) + 0.5 * penalty @ (beta * beta))

    beta = np.zeros(inputs + 1)
    value = objective(beta)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(a @ beta)))
        gradient = a.T @ (p - labels) + penalty * beta
        hessian = (a * (p * (1.0 - p))[:, None]).T @ a + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        t = 1.0  # backtracking keeps every step a descent step
        while True:
            candidate = beta - t * step
            candidate_value = objective(candidate)
            if candidate_value <= value - 1e-4 * t * (gradient @ step) or t < 1e-8:
                break
            t /= 2.0
        beta, value = candidate, candidate_value
        if np.max(np.abs(t * step)) < 1e-10:
            break
    return beta[:-1].copy(), float(beta[-1])


#: Columns of :func:`_survival_design` that depend on age.
_AGE_TERMS = {"age": 5, "child": 6, "age_missing": 7}


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

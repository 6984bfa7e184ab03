"""Every ``TITANIC_*`` environment variable, read and validated in this one module.

Why one module: a setting read in five places drifts into five parsing rules, and a typo that
silently falls back to a default (``TITANIC_SENSOR_INTERVAL_S=abc`` polling every minute as if
unset) is found only in production. Here each variable has one parser; a bad value raises
:class:`SettingsError` naming the variable, the value and what is allowed. Nothing falls back.

The one lenient rule: a variable that is unset *or empty* takes its documented default (so
``TITANIC_X= make dev`` behaves like leaving it out).

Who reads what:

* ``titanic_assets.definitions`` calls :func:`load` when the code location loads, so any bad
  value stops the location from loading (Dagster shows the message) instead of failing later
  inside a sensor tick or a run.
* Adapters (assets, checks, sensors, the CLI, the demo) call :func:`load` where they use a
  value; the library in ``core/`` never reads the environment and takes values as arguments.

Plain Python, no Dagster or data-layer import: the CLI and the benchmarks use it too.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from titanic_assets import names

if TYPE_CHECKING:  # the import is lazy at run time: core.monitoring pulls in pandas
    from titanic_assets.core.monitoring import ModelThresholds, Thresholds

PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: Not named after a schema: DuckDB would report an ambiguous catalog/schema reference.
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "titanic_warehouse.duckdb"
#: A model-signing key shorter than this is refused (HMAC-SHA256 wants >= 256 bits of secret).
MIN_SIGNING_KEY_CHARS = 32


class SettingsError(ValueError):
    """A ``TITANIC_*`` variable holds a value outside what it allows; the message says which."""

    def __init__(self, name: str, raw: str, allowed: str, *, secret: bool = False) -> None:
        shown = f"<{len(raw.strip())} characters, not shown>" if secret else repr(raw)
        super().__init__(f"{name}={shown} is not allowed: {allowed}")
        self.name = name
        self.raw = raw
        self.allowed = allowed


# --- parsers: text -> value, or ValueError ------------------------------------------------------


def _integer(low: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)  # ValueError for "abc", "1.5"
        if value < low:
            raise ValueError(raw)
        return value

    return parse


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise ValueError(raw)
    return value


def _non_negative(raw: str) -> float:
    value = float(raw)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(raw)
    return value


_ON = {"on", "1", "true", "yes"}
_OFF = {"off", "0", "false", "no"}


def _switch(raw: str) -> bool:
    word = raw.lower()
    if word in _ON:
        return True
    if word in _OFF:
        return False
    raise ValueError(raw)


def _warehouse(raw: str) -> str:
    path = Path(raw).expanduser()
    if path.is_dir():
        raise ValueError(raw)
    if path.stem.lower() in names.SCHEMAS:
        raise ValueError(raw)
    return str(path)


def _signing_key(raw: str) -> str:
    if len(raw) < MIN_SIGNING_KEY_CHARS:
        raise ValueError("too short")
    return raw


def _file(raw: str) -> str:
    return str(Path(raw).expanduser())


_CRON_ALIASES = {"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"}
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
#: (low, high, names) of the five cron fields: minute, hour, day of month, month, day of week.
_CRON_FIELDS = ((0, 59, []), (0, 23, []), (1, 31, []), (1, 12, _MONTHS), (0, 7, _DAYS))
_CRON_ITEM = re.compile(r"^(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?$")


def _cron(raw: str) -> str:
    """A five-field cron string (or an alias such as ``@hourly``), as Dagster schedules take."""
    text = " ".join(raw.split())
    if text.lower() in _CRON_ALIASES:
        return text.lower()
    fields = text.lower().split(" ")
    if len(fields) != 5:
        raise ValueError(raw)
    for field, (low, high, words) in zip(fields, _CRON_FIELDS, strict=True):
        for item in field.split(","):
            match = _CRON_ITEM.match(item)
            if not match:
                raise ValueError(raw)
            span, step = match.groups()
            if step is not None and int(step) < 1:
                raise ValueError(raw)
            if span == "*":
                continue
            for bound in span.split("-"):
                number = words.index(bound) + low if bound in words else int(bound)
                if not low <= number <= high:
                    raise ValueError(raw)
    return text


# --- the variables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """One environment variable: its default (as text), what it allows, when it is read."""

    name: str
    default: str | None
    allowed: str
    parse: Callable[[str], Any]
    read_at: str
    purpose: str
    #: Never echoed in an error message (only its length is).
    secret: bool = False


VARIABLES: dict[str, Variable] = {
    v.name: v
    for v in (
        Variable(
            "TITANIC_DUCKDB",
            str(DEFAULT_WAREHOUSE),
            "a file path (not a directory; not named features/models/inference/monitoring, "
            "which DuckDB would confuse with a schema)",
            _warehouse,
            "code-location load, CLI start",
            "the DuckDB warehouse file",
        ),
        Variable(
            "TITANIC_SOURCE_CSV",
            None,
            "a path to a Kaggle- or titanic3-shaped CSV (checked when the backfill reads it)",
            _file,
            "each backfill run (run config `source_csv` wins)",
            "the historical passenger list to backfill from; default the packaged titanic3 list",
        ),
        Variable(
            "TITANIC_MODEL_SIGNING_KEY",
            None,
            f"at least {MIN_SIGNING_KEY_CHARS} characters, e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`",
            _signing_key,
            "every model sign and load",
            "the HMAC key that signs model artifacts; unset: a 0600 key file in $DAGSTER_HOME",
            secret=True,
        ),
        Variable(
            "TITANIC_AUTOMATION",
            "on",
            "on/off (also 1/0, true/false, yes/no)",
            _switch,
            "code-location load",
            "schedules and sensors start RUNNING (on) or STOPPED (off) in a fresh instance",
        ),
        Variable(
            "TITANIC_FEATURE_SCHEDULE_CRON",
            "0 * * * *",
            "a five-field cron string (minute hour day month weekday) or @hourly/@daily/...",
            _cron,
            "code-location load",
            "when the hourly feature schedule ticks (UTC)",
        ),
        Variable(
            "TITANIC_SENSOR_INTERVAL_S",
            None,
            "a whole number of seconds >= 1",
            _integer(1),
            "code-location load",
            "minimum seconds between evaluations of every sensor; default each sensor's own "
            "(30-60 s)",
        ),
        Variable(
            "TITANIC_FEATURES_FRESH_MINUTES",
            "120",
            "a whole number of minutes >= 1",
            _integer(1),
            "code-location load",
            "minutes without a new hour before features/synthetic_features fails its freshness "
            "policy (warns at three quarters of it)",
        ),
        Variable(
            "TITANIC_RETRAIN_MIN_NEW_ROWS",
            "500",
            "a whole number >= 1",
            _integer(1),
            "each tick of retrain_on_new_passengers",
            "labelled passengers newer than the champion's cutoff that trigger retraining",
        ),
        Variable(
            "TITANIC_ACCURACY_FLOOR",
            "0.70",
            "a number from 0 to 1",
            _fraction,
            "each monitoring run and retraining-sensor tick",
            "accuracy below this warns and triggers retraining",
        ),
        Variable(
            "TITANIC_MIN_LABELLED",
            "30",
            "a whole number >= 1",
            _integer(1),
            "each monitoring run and retraining-sensor tick",
            "labelled predictions needed before accuracy is judged",
        ),
        Variable(
            "TITANIC_PSI_CEILING",
            "0.25",
            "a finite number >= 0",
            _non_negative,
            "each monitoring run and retraining-sensor tick",
            "largest per-feature PSI before drift warns and triggers retraining",
        ),
        Variable(
            "TITANIC_MIN_SCORED_FOR_DRIFT",
            "200",
            "a whole number >= 1",
            _integer(1),
            "each monitoring run and retraining-sensor tick",
            "scored passengers needed before drift is judged (PSI of a tiny day is noise)",
        ),
        Variable(
            "TITANIC_ECE_CEILING",
            "0.10",
            "a number from 0 to 1",
            _fraction,
            "each monitoring run",
            "expected calibration error (10 equal-width bins) above this warns, once "
            "TITANIC_MIN_LABELLED predictions have labels",
        ),
        Variable(
            "TITANIC_SEGMENT_MIN_LABELLED",
            "30",
            "a whole number >= 1",
            _integer(1),
            "each monitoring run",
            "labelled passengers a segment (sex x class) needs before its accuracy is judged",
        ),
        Variable(
            "TITANIC_SEGMENT_MARGIN",
            "0.15",
            "a number from 0 to 1",
            _fraction,
            "each monitoring run",
            "a segment whose accuracy is more than this below the day's overall accuracy warns",
        ),
        Variable(
            "TITANIC_RELIABILITY_HOURS",
            "48",
            "a whole number >= 1",
            _integer(1),
            "tests/reliability/test_concurrency.py",
            "(tests) hours the concurrency test backfills through the real daemon",
        ),
        Variable(
            "TITANIC_UPDATE_DOCS",
            "0",
            "1 or 0 (also on/off, true/false, yes/no)",
            _switch,
            "tests/e2e/test_browser.py, tests/e2e/test_app_browser.py",
            "(tests) 1 also writes the browser screenshots to docs/",
        ),
        Variable(
            "TITANIC_REQUIRE_SYSTEM_DEPS",
            "0",
            "1 or 0 (also on/off, true/false, yes/no)",
            _switch,
            "tests/system_deps.py (the browser and PostgreSQL tests)",
            "(tests) 1 fails a test whose Chromium or PostgreSQL is missing instead of skipping "
            "it; .ci/run sets it",
        ),
        Variable(
            "TITANIC_BENCH_SCRATCH",
            None,
            "a directory path",
            _file,
            "benchmarks",
            "(benchmarks) scratch folder for the benchmark warehouses",
        ),
    )
}


def value(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The validated value of one variable (its default when unset or empty; None if none)."""
    variable = VARIABLES[name]
    env = os.environ if environ is None else environ
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None if variable.default is None else variable.parse(variable.default)
    try:
        return variable.parse(raw.strip())
    except (ValueError, IndexError):
        raise SettingsError(name, raw, variable.allowed, secret=variable.secret) from None


@dataclass(frozen=True)
class Settings:
    """The project's settings, validated. Build with :func:`load`."""

    duckdb: str
    source_csv: str | None
    automation: bool
    feature_schedule_cron: str
    sensor_interval_s: int | None
    features_fresh_minutes: int
    retrain_min_new_rows: int
    accuracy_floor: float
    min_labelled: int
    psi_ceiling: float
    min_scored_for_drift: int
    ece_ceiling: float
    segment_min_labelled: int
    segment_margin: float

    def model_thresholds(self) -> ModelThresholds:
        """The calibration and segment thresholds of the monitoring checks."""
        from titanic_assets.core.monitoring import ModelThresholds

        return ModelThresholds(
            ece_ceiling=self.ece_ceiling,
            min_labelled=self.min_labelled,
            segment_min_labelled=self.segment_min_labelled,
            segment_margin=self.segment_margin,
        )

    def thresholds(self) -> Thresholds:
        """The monitoring thresholds, for :func:`titanic_assets.core.monitoring.verdict`."""
        from titanic_assets.core.monitoring import Thresholds

        return Thresholds(
            accuracy_floor=self.accuracy_floor,
            min_labelled=self.min_labelled,
            psi_ceiling=self.psi_ceiling,
            min_scored_for_drift=self.min_scored_for_drift,
        )

    def sensor_interval(self, default: int) -> int:
        """Seconds between a sensor's evaluations: the variable if set, else the sensor's own."""
        return default if self.sensor_interval_s is None else self.sensor_interval_s


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Every project setting from ``environ`` (default ``os.environ``); the first bad one raises.

    The signing key is validated here too but not kept in :class:`Settings` (a secret is read
    only where it is used, :mod:`titanic_assets.data_layer.signing`).
    """
    value("TITANIC_MODEL_SIGNING_KEY", environ)
    return Settings(
        duckdb=value("TITANIC_DUCKDB", environ),
        source_csv=value("TITANIC_SOURCE_CSV", environ),
        automation=value("TITANIC_AUTOMATION", environ),
        feature_schedule_cron=value("TITANIC_FEATURE_SCHEDULE_CRON", environ),
        sensor_interval_s=value("TITANIC_SENSOR_INTERVAL_S", environ),
        features_fresh_minutes=value("TITANIC_FEATURES_FRESH_MINUTES", environ),
        retrain_min_new_rows=value("TITANIC_RETRAIN_MIN_NEW_ROWS", environ),
        accuracy_floor=value("TITANIC_ACCURACY_FLOOR", environ),
        min_labelled=value("TITANIC_MIN_LABELLED", environ),
        psi_ceiling=value("TITANIC_PSI_CEILING", environ),
        min_scored_for_drift=value("TITANIC_MIN_SCORED_FOR_DRIFT", environ),
        ece_ceiling=value("TITANIC_ECE_CEILING", environ),
        segment_min_labelled=value("TITANIC_SEGMENT_MIN_LABELLED", environ),
        segment_margin=value("TITANIC_SEGMENT_MARGIN", environ),
    )

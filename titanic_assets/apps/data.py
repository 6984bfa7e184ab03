"""What the apps show, read from the warehouse without ever standing in a pipeline's way.

No Gradio here: every tab of the app is a thin layer over one function of this module, so the
numbers on screen can be tested against SQL, and a notebook can call the same functions.

**How the app reads the warehouse.** DuckDB admits one writer process per file, and an open
reader blocks that writer too. So the app never keeps a connection: a :class:`WarehouseReader`
opens the file read-only for one short read (a few small queries, milliseconds), closes it, and
keeps the result as a :class:`Snapshot`:

* all requests of the app process share one snapshot for :data:`SNAPSHOT_TTL_S` seconds, so
  however many browser tabs poll, the file is opened at most once per TTL;
* reads are serialised and spaced by at least :data:`MIN_GAP_S` of idle time, so a writer whose
  connect is retried (the pipelines back off from 50 ms) always finds the file free within
  about a second;
* a read waits at most :data:`CONNECT_BUDGET_S` for a writer; when a run holds the file
  longer, the app answers with the last good snapshot and says how old it is, never with
  DuckDB's lock error.

A passenger look-up (``titanic lineage``'s facts) is its own short read through the same gate.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import duckdb
import pandas as pd

from titanic_assets.core import monitoring as monitoring_lib
from titanic_assets.core.clock import utc_now
from titanic_assets.core.explain import Explanation, explain_one
from titanic_assets.core.features import build_features
from titanic_assets.core.predict import (
    THRESHOLD,
    UNKNOWN_OUTCOME,
    PassengerInput,
    PassengerInputError,
    outcome_word,
    score_features,
)
from titanic_assets.core.segments import SEGMENTS
from titanic_assets.data_layer import monitoring_store, registry
from titanic_assets.data_layer.cards import model_card
from titanic_assets.data_layer.feature_store import certified_rows
from titanic_assets.data_layer.lineage import PassengerNotFoundError, passenger_lineage
from titanic_assets.data_layer.warehouse import connect, is_lock_error, warehouse_path

T = TypeVar("T")

#: Predictions shown in the recent history (the newest first).
HISTORY_ROWS = 20
#: A snapshot younger than this is served as is, whatever the number of polling browsers.
SNAPSHOT_TTL_S = 2.0
#: How long one read waits for a writer to let go before the last good data is shown instead.
CONNECT_BUDGET_S = 1.0
#: Idle time between two reads of the app, so a writer retrying its connect finds a gap.
MIN_GAP_S = 0.25

#: What to run first, by what is missing (the messages every tab shows instead of a traceback).
RUN_DEMO = "run `make demo` (a whole cycle)"
NEED_FEATURES = f"No passengers in the warehouse yet: {RUN_DEMO}, or the historical_backfill job."
NEED_CHAMPION = f"No champion model yet: {RUN_DEMO}, or the training_pipeline job."
NEED_PREDICTIONS = (
    f"No predictions yet: {RUN_DEMO}, or the inference_pipeline job for a day with passengers."
)
NEED_MONITORING = (
    f"No monitoring figures yet: {RUN_DEMO}, or the inference_pipeline job "
    "(its monitoring/model_performance step)."
)

_PERFORMANCE_COLUMNS = (
    "day", "model_version", "n_predictions", "n_labelled", "accuracy", "f1", "brier", "ece",
    "tn", "fp", "fn", "tp", "max_psi", "max_psi_feature", "psi_by_feature", "reliability",
)  # fmt: skip
#: Monitored days the segment heatmap and the shadow table show.
RECENT_DAYS = 14
_PASSENGER_COLUMNS = (
    "pclass", "is_female", "age", "fare", "sibsp", "parch", "embarked_c", "embarked_q",
    "embarked_s", "survived",
)  # fmt: skip


class AppDataError(Exception):
    """The warehouse cannot answer this request; the message says what to run or fix."""


class WarehouseMissing(AppDataError):
    """No warehouse file at the configured path."""


class WarehouseBusy(AppDataError):
    """A pipeline run holds the file and there is no earlier snapshot to show."""


@dataclass(frozen=True)
class Snapshot:
    """Everything the tabs show, read in one short read-only connection."""

    warehouse: str
    #: When the read finished (naive UTC, like every timestamp in the warehouse).
    read_at: datetime
    #: Seconds the file was held open for this read.
    held_s: float
    #: Rows in the feature store; None when the feature store does not exist yet.
    n_features: int | None
    #: The newest scoring of the newest passengers, newest first, with features and label.
    latest: pd.DataFrame
    #: ``monitoring.model_performance``, oldest day first.
    performance: pd.DataFrame
    versions: pd.DataFrame
    promotions: pd.DataFrame
    #: ``monitoring.segment_performance`` of the latest :data:`RECENT_DAYS` days.
    segments: pd.DataFrame
    #: ``monitoring.shadow_comparison`` of the latest :data:`RECENT_DAYS` days.
    shadow: pd.DataFrame
    champion: registry.ModelVersion | None
    #: The champion's verified model (None without a champion or when it failed to verify).
    model: Any
    #: Why the champion cannot serve (artifact failed verification), else None.
    champion_problem: str | None


@dataclass(frozen=True)
class View:
    """A snapshot and how fresh it is."""

    snapshot: Snapshot
    #: None when just read or within the TTL; else why older data is shown.
    stale_reason: str | None = None

    def status(self, now: datetime | None = None) -> str:
        """One line for the page: where the data comes from and how old it is."""
        now = now or utc_now()
        age = max(0.0, (now - self.snapshot.read_at).total_seconds())
        read = f"read {self.snapshot.read_at:%Y-%m-%d %H:%M:%S} UTC ({age:.0f} s ago)"
        if self.stale_reason:
            return f"⚠ {self.stale_reason}: showing the last good data, {read}."
        return f"Warehouse {self.snapshot.warehouse}, {read}."


class WarehouseReader:
    """Short, serialised, rate-limited read-only access to the warehouse for one app process."""

    def __init__(
        self,
        path: str | None = None,
        *,
        ttl_s: float = SNAPSHOT_TTL_S,
        connect_budget_s: float = CONNECT_BUDGET_S,
        min_gap_s: float = MIN_GAP_S,
        history_rows: int = HISTORY_ROWS,
    ) -> None:
        self.path = path or warehouse_path()
        self.ttl_s = ttl_s
        self.connect_budget_s = connect_budget_s
        self.min_gap_s = min_gap_s
        self.history_rows = history_rows
        self._io_lock = threading.Lock()
        self._snapshot_lock = threading.Lock()
        self._last_close = -math.inf
        self._snapshot: Snapshot | None = None
        self._models: dict[tuple[int, str, str | None], Any] = {}

    def read(self, action: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """``action(conn)`` on a read-only connection held only while it runs.

        Raises :class:`WarehouseMissing` or :class:`WarehouseBusy` (after
        ``connect_budget_s``) instead of DuckDB's errors.
        """
        with self._io_lock:
            pause = self._last_close + self.min_gap_s - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            try:
                with connect(self.path, read_only=True, timeout_s=self.connect_budget_s) as conn:
                    return action(conn)
            except FileNotFoundError as error:
                raise WarehouseMissing(
                    f"No warehouse at {self.path} yet: {RUN_DEMO}, or point TITANIC_DUCKDB at "
                    "an existing warehouse file."
                ) from error
            except duckdb.IOException as error:
                if is_lock_error(error):
                    raise WarehouseBusy(
                        "A pipeline run is writing to the warehouse; the app shows data as soon "
                        "as the run lets go of the file (refresh in a moment)."
                    ) from error
                raise
            finally:
                self._last_close = time.monotonic()

    def view(self, *, force: bool = False) -> View:
        """The current snapshot: re-read when older than the TTL (or ``force``), else reused.

        While a run holds the file, the previous snapshot comes back with a ``stale_reason``.
        """
        # XGBoost's import (~1 s) must not happen while the file is open: a model is loaded
        # inside the read when the champion changes.
        import xgboost  # noqa: F401

        with self._snapshot_lock:
            current = self._snapshot
            if current is not None and not force:
                age = (utc_now() - current.read_at).total_seconds()
                if age < self.ttl_s:
                    return View(current)
            try:
                fresh = self.read(self._take_snapshot)
            except WarehouseBusy:
                if current is None:
                    raise
                return View(current, stale_reason="A pipeline run is writing to the warehouse")
            except WarehouseMissing:
                self._snapshot = None
                raise
            self._snapshot = fresh
            return View(fresh)

    def _take_snapshot(self, conn: duckdb.DuckDBPyConnection) -> Snapshot:
        started = time.monotonic()
        n_features = certified_rows(conn)
        latest = monitoring_store.latest_predictions(conn, self.history_rows, _PASSENGER_COLUMNS)
        performance = monitoring_store.performance(conn, _PERFORMANCE_COLUMNS)
        versions = registry.list_versions(conn)
        promotions = registry.promotions(conn)
        segments = monitoring_store.read_segments(conn, RECENT_DAYS)
        shadow = monitoring_store.read_shadow_comparison(conn, days=RECENT_DAYS)
        champion = registry.champion(conn)
        model, problem = None, None
        if champion is not None:
            key = (champion.version, champion.artifact_sha256, champion.signature)
            model = self._models.get(key)
            if model is None:
                try:
                    _, model = registry.load_model(conn, champion.version)
                    self._models = {key: model}  # only the serving model is kept
                except registry.RegistryError as error:
                    problem = f"The champion v{champion.version} cannot serve: {error}"
        return Snapshot(
            warehouse=self.path,
            read_at=utc_now(),
            held_s=time.monotonic() - started,
            n_features=n_features,
            latest=latest,
            performance=performance,
            versions=versions,
            promotions=promotions,
            segments=segments,
            shadow=shadow,
            champion=champion,
            model=model,
            champion_problem=problem,
        )


# --- Will they survive? ----------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """One passenger scored by the champion, with the model's own explanation."""

    passenger: PassengerInput
    survived: bool
    probability: float
    model_version: int
    #: The champion's holdout accuracy, to read the probability against.
    model_accuracy: float
    explanation: Explanation
    view: View


def predict(reader: WarehouseReader, **raw: Any) -> Prediction:
    """Validate a form's raw values and score them with the champion.

    :class:`PassengerInputError` names the bad field; :class:`AppDataError` says what to run.
    The passenger goes through ``build_features``, the pipelines' one feature function.
    """
    passenger = PassengerInput.parse(**raw)
    view = reader.view()
    snapshot = view.snapshot
    if snapshot.champion is None:
        raise AppDataError(NEED_CHAMPION)
    if snapshot.model is None:
        raise AppDataError(snapshot.champion_problem or NEED_CHAMPION)
    features = build_features(passenger.to_frame())
    columns = snapshot.champion.features
    probability = float(score_features(snapshot.model, features, columns)[0])
    return Prediction(
        passenger=passenger,
        survived=probability >= THRESHOLD,
        probability=probability,
        model_version=int(snapshot.champion.version),
        model_accuracy=float(snapshot.champion.accuracy),
        explanation=explain_one(snapshot.model, features, columns),
        view=view,
    )


# --- Latest passengers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Latest:
    """The newest scored passenger and the recent prediction history."""

    #: The newest passenger: details, prediction, outcome (None if not known yet), model.
    newest: dict[str, Any]
    #: The last predictions, newest first: one row per passenger, with outcome and verdict.
    history: pd.DataFrame
    #: Right / labelled among ``history`` (the "how is it doing lately" figure).
    recent_right: int
    recent_labelled: int


def latest(snapshot: Snapshot) -> Latest:
    """The Latest passengers tab; :class:`AppDataError` when nothing was scored yet."""
    if snapshot.latest.empty:
        raise AppDataError(NEED_FEATURES if not snapshot.n_features else NEED_PREDICTIONS)
    rows = [_passenger_row(r) for r in snapshot.latest.to_dict("records")]
    history = pd.DataFrame(rows)
    labelled = history[history["actual"] != UNKNOWN_OUTCOME]
    return Latest(
        newest=rows[0],
        history=history,
        recent_right=int((labelled["right"] == "yes").sum()),
        recent_labelled=len(labelled),
    )


def _passenger_row(r: dict[str, Any]) -> dict[str, Any]:
    predicted = outcome_word(r["predicted_survived"])
    actual = outcome_word(r.get("survived"))
    known = actual != UNKNOWN_OUTCOME
    return {
        "passenger_id": r["passenger_id"],
        "event_time": pd.Timestamp(r["event_time"]).strftime("%Y-%m-%d %H:%M:%S"),
        "class": _int_or_none(r.get("pclass")),
        "sex": _sex(r.get("is_female")),
        "age": _float_or_none(r.get("age")),
        "fare": _float_or_none(r.get("fare")),
        "sibsp": _int_or_none(r.get("sibsp")),
        "parch": _int_or_none(r.get("parch")),
        "embarked": _port(r),
        "p_survive": round(float(r["survival_probability"]), 3),
        "predicted": predicted,
        "actual": actual,
        "right": ("yes" if predicted == actual else "no") if known else "",
        "model_version": int(r["model_version"]),
        "source": r.get("source"),
    }


def lookup(reader: WarehouseReader, passenger_id: str) -> dict[str, Any]:
    """What ``titanic lineage`` prints for one passenger (source, checks, features,
    predictions, each model's training data and metrics), in one short read."""
    key = (passenger_id or "").strip()
    if not key:
        raise PassengerInputError("passenger id", "is required (e.g. titanic3-41330420f6f5a8cf)")
    try:
        return reader.read(lambda conn: passenger_lineage(conn, key))
    except PassengerNotFoundError as error:
        raise AppDataError(f"{error}. Ids are shown in the history table above.") from error


# --- Model monitoring ------------------------------------------------------------------------


@dataclass(frozen=True)
class Monitoring:
    """The Model monitoring tab's figures."""

    #: Per day and model version: predictions, labelled, accuracy, F1 (oldest first).
    daily: pd.DataFrame
    #: Over all labelled history: tn, fp, fn, tp, n, accuracy.
    confusion: dict[str, float]
    #: The latest monitored day, and PSI per feature on it (largest first).
    latest_day: str
    psi_latest: pd.DataFrame
    #: PSI per day and feature (long form: day, feature, psi), oldest first.
    psi_trend: pd.DataFrame
    #: Every model version, the champion marked.
    versions: pd.DataFrame
    #: The registry's decisions (register / promote / decline / rollback) with their reasons and
    #: the evidence that decided, newest first.
    promotions: pd.DataFrame
    #: The latest day's calibration: brier, ece and the reliability table (list of bins).
    calibration: dict[str, Any]
    #: Served (champion) accuracy per segment (rows) and day (columns), recent days.
    segment_accuracy: pd.DataFrame
    #: Labelled passengers behind each cell of :attr:`segment_accuracy`.
    segment_counts: pd.DataFrame
    #: Champion vs shadow per day (same labelled passengers), newest first.
    shadow: pd.DataFrame


def monitoring(snapshot: Snapshot) -> Monitoring:
    """The Model monitoring tab; :class:`AppDataError` when nothing was monitored yet."""
    perf = snapshot.performance
    if perf.empty:
        if snapshot.versions.empty:
            raise AppDataError(NEED_FEATURES if not snapshot.n_features else NEED_CHAMPION)
        raise AppDataError(NEED_MONITORING)
    perf = perf.assign(day=pd.to_datetime(perf["day"]).dt.strftime("%Y-%m-%d"))
    daily = perf[
        ["day", "model_version", "n_predictions", "n_labelled", "accuracy", "f1", "brier", "ece"]
    ]
    confusion = monitoring_lib.confusion_totals(perf)
    # One row per day for drift: the version that scored most of that day (as the asset does).
    main = monitoring_lib.main_rows(perf)
    trend = [
        {"day": row["day"], "feature": feature, "psi": float(value)}
        for row in main.to_dict("records")
        for feature, value in monitoring_lib.psi_by_feature(row["psi_by_feature"]).items()
    ]
    psi_trend = pd.DataFrame(trend, columns=["day", "feature", "psi"])
    latest_day = str(main["day"].iloc[-1])
    psi_latest = (
        psi_trend[psi_trend["day"] == latest_day][["feature", "psi"]]
        .sort_values("psi", ascending=False)
        .reset_index(drop=True)
    )
    return Monitoring(
        daily=daily.reset_index(drop=True),
        confusion=confusion,
        latest_day=latest_day,
        psi_latest=psi_latest,
        psi_trend=psi_trend,
        versions=_versions_table(snapshot.versions),
        promotions=_promotions_table(snapshot.promotions),
        calibration=_calibration(main.iloc[-1]),
        segment_accuracy=_segment_grid(snapshot.segments, main, "accuracy"),
        segment_counts=_segment_grid(snapshot.segments, main, "n_labelled"),
        shadow=_shadow_table(snapshot.shadow),
    )


def _calibration(row: pd.Series) -> dict[str, Any]:
    raw = row.get("reliability")
    table = json.loads(raw) if isinstance(raw, str) and raw else []
    return {
        "day": str(row["day"]),
        "version": int(row["model_version"]),
        "brier": _exact_or_none(row.get("brier")),
        "ece": _exact_or_none(row.get("ece")),
        "reliability": table,
    }


def _segment_grid(cells: pd.DataFrame, main: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` of the served version per segment (rows, :data:`SEGMENTS` order) and day."""
    if cells.empty:
        return pd.DataFrame(index=list(SEGMENTS))
    cells = cells.assign(day=pd.to_datetime(cells["day"]).dt.strftime("%Y-%m-%d"))
    served = cells.merge(main[["day", "model_version"]], on=["day", "model_version"])
    grid = served.pivot_table(index="segment", columns="day", values=column, aggfunc="first")
    return grid.reindex(list(SEGMENTS))


def _shadow_table(rows: pd.DataFrame) -> pd.DataFrame:
    columns = ["day", "champion_version", "shadow_version", "n_labelled", "champion_accuracy",
               "shadow_accuracy", "accuracy_difference", "accuracy_ci_low", "accuracy_ci_high",
               "champion_brier", "shadow_brier"]  # fmt: skip
    if rows.empty:
        return pd.DataFrame(columns=columns)
    out = rows.assign(day=pd.to_datetime(rows["day"]).dt.strftime("%Y-%m-%d"))
    return out.sort_values(["day", "shadow_version"], ascending=False)[columns].reset_index(
        drop=True
    )


# --- Models ----------------------------------------------------------------------------------


def version_choices(snapshot: Snapshot) -> list[str]:
    """The versions a card can be shown for, newest first (labels such as ``v3 ★``)."""
    versions = snapshot.versions.sort_values("version", ascending=False)
    return [
        f"v{int(v)}{' ★ champion' if c else ''}"
        for v, c in zip(versions["version"], versions["is_champion"], strict=True)
    ]


def card(reader: WarehouseReader, choice: str) -> str:
    """The model card (Markdown) of the version a :func:`version_choices` label names."""
    text = (choice or "").strip().lstrip("v").split(" ")[0]
    try:
        version = int(text)
    except ValueError:
        raise AppDataError(f"Pick a model version (got {choice!r}).") from None
    try:
        return reader.read(lambda conn: model_card(conn, version))
    except registry.ModelNotFoundError as error:
        raise AppDataError(str(error)) from error


def _versions_table(versions: pd.DataFrame) -> pd.DataFrame:
    columns = ["version", "champion", "accuracy", "f1", "roc_auc", "training_rows",
               "training_cutoff", "created_at"]  # fmt: skip
    if versions.empty:
        return pd.DataFrame(columns=columns)
    out = versions.assign(champion=["★ champion" if c else "" for c in versions["is_champion"]])
    return out[columns].sort_values("version", ascending=False).reset_index(drop=True)


def _promotions_table(log: pd.DataFrame) -> pd.DataFrame:
    columns = ["decided_at", "action", "version", "previous_champion", "evidence", "reason",
               "run_id"]  # fmt: skip
    if log.empty:
        return pd.DataFrame(columns=columns)
    # reindex: a warehouse whose log predates a column (``evidence``), opened read-only by the
    # app, is never migrated; its rows show that column empty.
    ordered = log.sort_values("event_id", ascending=False)
    return ordered.reindex(columns=columns).reset_index(drop=True)


# --- helpers ---------------------------------------------------------------------------------


def _int_or_none(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _exact_or_none(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _float_or_none(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 2)


def _sex(is_female: Any) -> str | None:
    if is_female is None or pd.isna(is_female):
        return None
    return "female" if float(is_female) == 1.0 else "male"


def _port(row: dict[str, Any]) -> str | None:
    for port in ("C", "Q", "S"):
        value = row.get(f"embarked_{port.lower()}")
        if value is not None and not pd.isna(value) and float(value) == 1.0:
            return port
    return None

"""The model registry: every trained model, its lineage and which one serves, in the warehouse.

Two tables in the ``models`` schema:

* ``models.model_versions`` — one row per trained model: metrics, params, input columns,
  training-data lineage (rows, cutoff, content hash, drift profile), the Dagster run id and the
  model itself as XGBoost UBJSON (never a Python object dump) with its SHA-256 and an
  HMAC-SHA256 ``signature`` made with a key kept outside the warehouse (:mod:`.signing`).
  Both are verified on every load: a corrupted artifact fails the hash, an artifact swapped
  together with its hash fails the signature, and either is refused instead of served.
* ``models.promotions`` — an append-only log of register/promote/decline/rollback decisions,
  with the reason, run id and the ``evidence`` that decided (``first_model``, ``holdout``,
  ``recent``, ``live_shadow``, ``champion_unloadable``, ``manual``). Rollback replays this log, so "the previous champion" is well defined
  even after several promotions and rollbacks.
* ``models.champion_state`` — one row: the champion and a ``generation`` that every champion
  change increments. :func:`decide_champion` promotes with a compare-and-set on it, so a
  training run never overwrites a champion it was not compared with (two runs at once end with
  the better one champion, whatever the engine's locking).

Every write runs in one transaction (:func:`warehouse.transaction`): a failure leaves both
tables, and therefore the champion, exactly as they were. All SQL takes parameters; nothing
a caller passes is formatted into a statement. No Dagster import: the CLI and tests use this
directly.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from titanic_assets import names
from titanic_assets.core.clock import utc_now
from titanic_assets.core.features import forbidden_inputs
from titanic_assets.core.model import model_from_bytes
from titanic_assets.data_layer import signing
from titanic_assets.data_layer.registry_errors import (  # re-exported: the registry's failures
    ArtifactIntegrityError,
    ModelNotFoundError,
    NoChampionError,
    RegistryError,
)
from titanic_assets.data_layer.warehouse import table_exists, transaction

VERSIONS_TABLE = names.MODEL_VERSIONS_TABLE
PROMOTIONS_TABLE = names.PROMOTIONS_TABLE

_DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {names.MODELS_SCHEMA}",
    f"""
    CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} (
        version INTEGER PRIMARY KEY,
        created_at TIMESTAMP NOT NULL,
        is_champion BOOLEAN NOT NULL,
        accuracy DOUBLE NOT NULL,
        f1 DOUBLE NOT NULL,
        roc_auc DOUBLE,
        params JSON NOT NULL,
        features JSON NOT NULL,
        metrics JSON NOT NULL,
        training_rows BIGINT NOT NULL,
        training_cutoff TIMESTAMP,
        training_data_hash VARCHAR NOT NULL,
        training_profile JSON NOT NULL,
        artifact BLOB NOT NULL,
        artifact_sha256 VARCHAR NOT NULL,
        artifact_format VARCHAR NOT NULL,
        run_id VARCHAR,
        signature VARCHAR,
        training_window JSON
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS models.champion_state (
        id INTEGER PRIMARY KEY,
        version INTEGER,
        generation BIGINT NOT NULL
    )
    """,
    f"""
    CREATE TABLE IF NOT EXISTS {PROMOTIONS_TABLE} (
        event_id INTEGER PRIMARY KEY,
        version INTEGER NOT NULL,
        action VARCHAR NOT NULL,
        reason VARCHAR,
        decided_at TIMESTAMP NOT NULL,
        run_id VARCHAR,
        previous_champion INTEGER,
        evidence VARCHAR
    )
    """,
)

#: Every column except the artifact blob, in table order.
_META_COLUMNS = (
    "version", "created_at", "is_champion", "accuracy", "f1", "roc_auc", "params", "features",
    "metrics", "training_rows", "training_cutoff", "training_data_hash", "training_profile",
    "artifact_sha256", "artifact_format", "run_id", "signature", "training_window",
)  # fmt: skip
#: Columns added after the first release: an older warehouse gets them on first use.
_ADDED_COLUMNS = (("signature", "VARCHAR"), ("training_window", "JSON"))
_JSON_COLUMNS = ("params", "features", "metrics", "training_profile", "training_window")
STATE_TABLE = names.CHAMPION_STATE_TABLE
#: How often a decision is retried when another writer changed the champion meanwhile.
DECISION_ATTEMPTS = 20


#: What a concurrent writer's commit looks like to the loser of a race: retried.
_CONFLICTS = (duckdb.TransactionException, duckdb.ConstraintException)


@dataclass(frozen=True)
class ModelVersion:
    """One registry row, without the artifact."""

    version: int
    created_at: datetime
    is_champion: bool
    accuracy: float
    f1: float
    roc_auc: float | None
    params: dict
    features: list[str]
    metrics: dict
    training_rows: int
    training_cutoff: datetime | None
    training_data_hash: str
    training_profile: dict
    run_id: str | None
    artifact_sha256: str
    signature: str | None = None
    #: Which rows, window and weights trained it (``core.training_set.window_lineage``).
    training_window: dict | None = None


def ensure_registry(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the registry schema, tables and newer columns if missing (idempotent).

    Only what is missing is created: DDL is a catalog write, and two writers issuing it at
    once conflict even when it would change nothing.
    """
    for attempt in range(DECISION_ATTEMPTS):
        try:
            _ensure_registry(conn)
            return
        except _CONFLICTS:  # another writer created the same thing at the same moment
            _backoff(attempt)
    _ensure_registry(conn)


def _ensure_registry(conn: duckdb.DuckDBPyConnection) -> None:
    if not (table_exists(conn, VERSIONS_TABLE) and table_exists(conn, PROMOTIONS_TABLE)):
        for statement in _DDL:
            conn.execute(statement)
    present = {
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'models' AND table_name = 'model_versions'"
        ).fetchall()
    }
    for column, kind in _ADDED_COLUMNS:
        if column not in present:
            conn.execute(f"ALTER TABLE models.model_versions ADD COLUMN {column} {kind}")
    logged = {
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'models' AND table_name = 'promotions'"
        ).fetchall()
    }
    if "evidence" not in logged:  # which evidence decided (added with shadow scoring)
        conn.execute("ALTER TABLE models.promotions ADD COLUMN evidence VARCHAR")
    if not table_exists(conn, STATE_TABLE):
        conn.execute(next(ddl for ddl in _DDL if "champion_state" in ddl))
    if _scalar(conn, "SELECT count(*) FROM models.champion_state") == 0:
        conn.execute(
            "INSERT INTO models.champion_state SELECT 1, "
            "(SELECT max(version) FROM models.model_versions WHERE is_champion), 0"
        )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def register_version(
    conn: duckdb.DuckDBPyConnection,
    *,
    model_bytes: bytes,
    params: dict,
    features: list[str],
    metrics: dict,
    training_rows: int,
    training_cutoff: Any,
    training_data_hash: str,
    training_profile: dict,
    run_id: str | None,
    training_window: dict | None = None,
) -> int:
    """Append a model version (not champion) and log it; returns the new version number.

    Two writers registering at once (possible on an engine without DuckDB's file lock) race
    for the next number; the loser's transaction fails on the primary key and is retried.
    """
    _refuse_unsound(model_bytes, features, metrics)
    ensure_registry(conn)
    try:  # before the transaction: a key problem writes nothing
        key = signing.signing_key()
    except signing.SigningKeyError as error:
        raise RegistryError(f"cannot sign the new model version: {error}") from error
    for attempt in range(DECISION_ATTEMPTS):
        try:
            with transaction(conn):
                version = _scalar(
                    conn, "SELECT coalesce(max(version), 0) + 1 FROM models.model_versions"
                )
                conn.execute(
                    """
                    INSERT INTO models.model_versions (
                        version, created_at, is_champion, accuracy, f1, roc_auc, params,
                        features, metrics, training_rows, training_cutoff, training_data_hash,
                        training_profile, artifact, artifact_sha256, artifact_format, run_id,
                        signature, training_window
                    ) VALUES (?, ?, false, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'xgboost-ubj',
                              ?, ?, ?)
                    """,
                    [
                        version, utc_now(), float(metrics["accuracy"]), float(metrics["f1"]),
                        None if metrics.get("roc_auc") is None else float(metrics["roc_auc"]),
                        _dumps(params), _dumps(list(features)), _dumps(metrics),
                        int(training_rows), _timestamp(training_cutoff), training_data_hash,
                        _dumps(training_profile), bytes(model_bytes),
                        sha256_hex(bytes(model_bytes)), run_id,
                        signing.sign(version, list(features), bytes(model_bytes), key),
                        None if training_window is None else _dumps(training_window),
                    ],
                )  # fmt: skip
                _log(conn, version, "register", "trained and registered", run_id,
                     _champion_number(conn))  # fmt: skip
            return int(version)
        except _CONFLICTS:
            _backoff(attempt)
    raise RegistryError(f"could not register: {DECISION_ATTEMPTS} write conflicts in a row")


def _refuse_unsound(model_bytes: bytes, features: list[str], metrics: dict) -> None:
    """What no version may be registered with: no artifact, an id or leak among its inputs,
    or no accuracy/F1 to judge it by."""
    if not model_bytes:
        raise RegistryError("refusing to register an empty model artifact")
    leaked = forbidden_inputs(features)
    if leaked:
        raise RegistryError(f"refusing to register a model with forbidden inputs: {leaked}")
    for key in ("accuracy", "f1"):
        if metrics.get(key) is None:
            raise RegistryError(f"metrics must include {key!r}")


def list_versions(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """All versions, oldest first, without the artifact blob (empty frame if no registry)."""
    if not table_exists(conn, VERSIONS_TABLE):
        return pd.DataFrame(columns=list(_META_COLUMNS))
    columns = ", ".join(_META_COLUMNS)
    return conn.execute(f"SELECT {columns} FROM models.model_versions ORDER BY version").df()


def get_version(conn: duckdb.DuckDBPyConnection, version: int) -> ModelVersion:
    """One version's metadata; :class:`ModelNotFoundError` if it does not exist."""
    row = _fetch(conn, "WHERE version = ?", [_as_version(version)])
    if row is None:
        raise ModelNotFoundError(f"model version {version} does not exist{_known_hint(conn)}")
    return row


def champion(conn: duckdb.DuckDBPyConnection) -> ModelVersion | None:
    """The serving version, or None before the first promotion."""
    return _fetch(conn, "WHERE is_champion", [])


def load_model(conn: duckdb.DuckDBPyConnection, version: int) -> tuple[ModelVersion, Any]:
    """A version and its model, after checking the artifact's SHA-256 and signature.

    The SHA-256 catches corruption; the HMAC signature (:mod:`.signing`, key outside the
    warehouse) catches a deliberate swap of artifact and hash together. Every path that serves
    a model (training's champion comparison, batch inference, ``titanic predict``, the app)
    loads through here.
    """
    meta = get_version(conn, version)
    row = conn.execute(
        "SELECT artifact FROM models.model_versions WHERE version = ?", [meta.version]
    ).fetchone()
    data = bytes(row[0]) if row and row[0] is not None else b""
    actual = sha256_hex(data)
    if actual != meta.artifact_sha256:
        raise ArtifactIntegrityError(
            f"model version {meta.version}: artifact SHA-256 {actual[:12]}... does not match the "
            f"registered {meta.artifact_sha256[:12]}...; refusing to load a corrupted or tampered "
            "model (retrain, or promote another version)"
        )
    try:
        key = signing.signing_key()
    except signing.SigningKeyError as error:
        raise ArtifactIntegrityError(
            f"model version {meta.version}: cannot verify its signature: {error}"
        ) from error
    if not meta.signature:
        raise ArtifactIntegrityError(
            f"model version {meta.version} is unsigned (registered before models were signed, "
            "or written outside the registry); refusing to load it: retrain (training_pipeline) "
            "or promote a signed version"
        )
    if not signing.verify(meta.version, meta.features, data, meta.signature, key):
        raise ArtifactIntegrityError(
            f"model version {meta.version}: signature does not verify with the signing key "
            f"({signing.KEY_ENV}, else {signing.key_path()}); refusing to load a tampered model, "
            "or one signed with another key (retrain, or restore the key it was signed with)"
        )
    try:
        model = model_from_bytes(data)
    except Exception as error:  # XGBoost raises its own error types for unparseable input
        raise ArtifactIntegrityError(
            f"model version {meta.version}: artifact is not a loadable XGBoost model: {error}"
        ) from error
    return meta, model


def load_champion(conn: duckdb.DuckDBPyConnection) -> tuple[ModelVersion, Any]:
    """The champion and its verified model; :class:`NoChampionError` if none."""
    current = champion(conn)
    if current is None:
        raise NoChampionError(
            "no champion model in the registry: run the training_pipeline job first"
        )
    return load_model(conn, current.version)


def champion_problems(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """What is wrong with the registry's champion: not exactly one, an artifact that does not
    verify, or an id/leakage column among any version's inputs (empty: sound).

    The champion asset check's rules; here, beside the registry they judge, so any caller (a
    check, a command, a notebook) applies the same ones."""
    versions = list_versions(conn)
    champions = int(versions["is_champion"].sum()) if not versions.empty else 0
    problems = []
    if champions != 1:
        problems.append(f"{champions} champions (expected exactly 1)")
    else:
        try:
            load_champion(conn)
        except RegistryError as error:
            problems.append(str(error))
    for row in versions.itertuples():
        leaked = forbidden_inputs(json.loads(row.features))
        if leaked:
            problems.append(f"v{row.version} uses forbidden inputs {leaked}")
    return problems


def decide_champion(
    conn: duckdb.DuckDBPyConnection,
    version: int,
    judge: Callable[[ModelVersion | None, Any, str | None], tuple],
    run_id: str | None = None,
    log_decline: bool = True,
) -> tuple[bool, str, ModelVersion | None]:
    """Read the champion, judge ``version`` against it, and promote it or not: atomically.

    ``judge(champion, champion_model, load_error)`` returns ``(promote, reason)`` or
    ``(promote, reason, evidence)``; the decision is logged in ``models.promotions`` with
    the evidence that decided (a ``decline`` row when not promoted, unless ``log_decline`` is
    False: the live rule judges every day and logs only what changes something); the champion
    is ``None`` when there is none, and ``load_error`` says why its model could not be loaded
    (then ``champion_model`` is None). The decision is a compare-and-set on
    ``models.champion_state.generation``, which every champion change increments: if another
    writer changed the champion between the read and the write, nothing is written and the
    challenger is judged again against the new champion. So two trainings finishing together
    end with the better model as champion whatever the engine's locking (DuckDB's file lock
    serialises processes today; threads with their own connections, or a multi-writer
    engine, do not). Returns ``(promoted, reason, champion judged against)``.
    """
    version = _as_version(version)
    ensure_registry(conn)
    for attempt in range(DECISION_ATTEMPTS):
        generation = _scalar(conn, "SELECT generation FROM models.champion_state WHERE id = 1")
        current = champion(conn)
        model, error = None, None
        if current is not None:
            try:
                _, model = load_model(conn, current.version)
            except RegistryError as failure:
                error = str(failure)
        promoted, reason, *rest = judge(current, model, error)
        evidence = rest[0] if rest else None
        previous = None if current is None else current.version
        try:
            with transaction(conn):
                if promoted:
                    changed = _set_champion(conn, version, expected_generation=generation)
                    if changed:
                        _log(conn, version, "promote", reason, run_id, previous, evidence)
                else:
                    changed = generation == _scalar(
                        conn, "SELECT generation FROM models.champion_state WHERE id = 1"
                    )
                    if changed and log_decline:
                        _log(conn, version, "decline", reason, run_id, previous, evidence)
        except _CONFLICTS:
            changed = False
        if changed:
            return promoted, reason, current
        _backoff(attempt)
    raise RegistryError(
        f"v{version}: the champion changed {DECISION_ATTEMPTS} times while deciding; "
        "nothing promoted (retry the training run)"
    )


def promote(
    conn: duckdb.DuckDBPyConnection,
    version: int,
    reason: str,
    run_id: str | None = None,
    evidence: str = "manual",
) -> None:
    """Make ``version`` the one champion, and log why, in one transaction."""
    version = _as_version(version)
    ensure_registry(conn)
    with transaction(conn):
        if not _exists(conn, version):
            raise ModelNotFoundError(
                f"cannot promote model version {version}: it does not exist{_known_hint(conn)}"
            )
        previous = _champion_number(conn)
        _set_champion(conn, version)
        _log(conn, version, "promote", reason, run_id, previous, evidence)


def rollback(conn: duckdb.DuckDBPyConnection, reason: str, run_id: str | None = None) -> int:
    """Return to the champion before the current one; returns that version.

    The champion history is replayed from the promotions log as a stack (promote pushes,
    rollback pops), so two rollbacks after promoting v1, v2, v3 land on v1, not back on v3.
    """
    ensure_registry(conn)
    with transaction(conn):
        history = _champion_history(conn)
        current = _champion_number(conn)
        if current is not None and (not history or history[-1] != current):
            history.append(current)
        if len(history) < 2:
            raise RegistryError("no previous champion to roll back to")
        target = history[-2]
        if not _exists(conn, target):
            raise ModelNotFoundError(f"previous champion version {target} no longer exists")
        _set_champion(conn, target)
        _log(conn, target, "rollback", reason, run_id, current, "manual")
    return target


def discard_versions_after(conn: duckdb.DuckDBPyConnection, version: int, reason: str) -> list[int]:
    """Return a benchmark's kept warehouse to the registry it was built with: every version
    after ``version`` is deleted with its promotion events, and ``version`` is the champion
    again (logged with ``reason``). Returns the versions dropped.

    For the year-of-history benchmark only, whose measured training run registers (and may
    promote) a version on the kept year each time it is measured: left there, later versions
    would be scored as shadows by the next measured daily run, which the fresh warehouse it is
    compared with does not do. Never used by the pipelines: a registry in use keeps every
    version it ever had, and its log.
    """
    version = _as_version(version)
    ensure_registry(conn)
    with transaction(conn):
        if not _exists(conn, version):
            raise ModelNotFoundError(f"model version {version} does not exist{_known_hint(conn)}")
        rows = conn.execute(
            "SELECT version FROM models.model_versions WHERE version > ? ORDER BY 1", [version]
        ).fetchall()
        dropped = [int(row[0]) for row in rows]
        previous = _champion_number(conn)
        conn.execute(
            "DELETE FROM models.promotions WHERE version > ? OR previous_champion > ?",
            [version, version],
        )
        conn.execute("DELETE FROM models.model_versions WHERE version > ?", [version])
        if previous != version:
            _set_champion(conn, version)
            _log(conn, version, "promote", reason, None, None, "manual")
    return dropped


def promotions(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The decision log, oldest first."""
    if not table_exists(conn, PROMOTIONS_TABLE):
        return pd.DataFrame(
            columns=["event_id", "version", "action", "reason", "decided_at", "run_id",
                     "previous_champion", "evidence"]
        )  # fmt: skip
    return conn.execute("SELECT * FROM models.promotions ORDER BY event_id").df()


# --- internals -------------------------------------------------------------------------------


def _champion_history(conn: duckdb.DuckDBPyConnection) -> list[int]:
    stack: list[int] = []
    rows = conn.execute(
        "SELECT version, action FROM models.promotions "
        "WHERE action IN ('promote', 'rollback') ORDER BY event_id"
    ).fetchall()
    for version, action in rows:
        if action == "promote":
            if not stack or stack[-1] != version:
                stack.append(int(version))
        else:
            if stack:
                stack.pop()
            if not stack or stack[-1] != version:
                stack.append(int(version))
    return stack


def _set_champion(
    conn: duckdb.DuckDBPyConnection, version: int, expected_generation: int | None = None
) -> bool:
    """Make ``version`` the champion inside the caller's transaction; bump the generation.

    With ``expected_generation`` this is a compare-and-set: False (nothing changed) when
    another writer changed the champion since that generation was read.
    """
    condition = "" if expected_generation is None else " AND generation = ?"
    params = [version] + ([] if expected_generation is None else [expected_generation])
    updated = conn.execute(
        "UPDATE models.champion_state SET version = ?, generation = generation + 1 "
        f"WHERE id = 1{condition}",
        params,
    ).fetchall()
    if not updated or not updated[0][0]:
        return False
    conn.execute(
        "UPDATE models.model_versions SET is_champion = (version = ?) "
        "WHERE is_champion OR version = ?",
        [version, version],
    )
    champions = _scalar(conn, "SELECT count(*) FROM models.model_versions WHERE is_champion")
    if champions != 1:  # a guard, never expected: the transaction is rolled back
        raise RegistryError(f"promotion would leave {champions} champions; nothing changed")
    return True


def _backoff(attempt: int) -> None:
    time.sleep(min(0.01 * 2**attempt, 0.5))


def _log(
    conn: duckdb.DuckDBPyConnection,
    version: int,
    action: str,
    reason: str,
    run_id: str | None,
    previous: int | None,
    evidence: str | None = None,
) -> None:
    """Append a decision; ``evidence`` says what decided it (:data:`EVIDENCE`)."""
    event_id = _scalar(conn, "SELECT coalesce(max(event_id), 0) + 1 FROM models.promotions")
    conn.execute(
        "INSERT INTO models.promotions (event_id, version, action, reason, decided_at, run_id, "
        "previous_champion, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [event_id, version, action, reason, utc_now(), run_id, previous, evidence],
    )


def _champion_number(conn: duckdb.DuckDBPyConnection) -> int | None:
    row = conn.execute("SELECT version FROM models.model_versions WHERE is_champion").fetchone()
    return None if row is None else int(row[0])


def _fetch(conn: duckdb.DuckDBPyConnection, where: str, params: list) -> ModelVersion | None:
    """``where`` is a constant clause from this module; values go in ``params``."""
    if not table_exists(conn, VERSIONS_TABLE):
        return None
    columns = ", ".join(_META_COLUMNS)
    cursor = conn.execute(
        f"SELECT {columns} FROM models.model_versions {where} ORDER BY version DESC LIMIT 1",
        params,
    )
    row = cursor.fetchone()
    if row is None:
        return None
    values = dict(zip(_META_COLUMNS, row, strict=True))
    for column in _JSON_COLUMNS:
        values[column] = json.loads(values[column]) if values[column] is not None else None
    values.pop("artifact_format")
    values["version"] = int(values["version"])
    values["is_champion"] = bool(values["is_champion"])
    values["training_rows"] = int(values["training_rows"])
    return ModelVersion(**values)


def _known_hint(conn: duckdb.DuckDBPyConnection) -> str:
    if not table_exists(conn, VERSIONS_TABLE):
        return " (the registry is empty)"
    rows = conn.execute("SELECT version FROM models.model_versions ORDER BY 1").fetchall()
    known = [r[0] for r in rows]
    return f" (known versions: {known})" if known else " (the registry is empty)"


def _exists(conn: duckdb.DuckDBPyConnection, version: int) -> bool:
    sql = "SELECT count(*) FROM models.model_versions WHERE version = ?"
    return bool(_scalar(conn, sql, [version]))


def _scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Any:
    row = conn.execute(sql, params or []).fetchone()
    return None if row is None else row[0]


def _as_version(version: Any) -> int:
    try:
        number = int(version)
    except (TypeError, ValueError) as error:
        raise ModelNotFoundError(f"model version must be an integer, got {version!r}") from error
    if number != version and not isinstance(version, str):
        raise ModelNotFoundError(f"model version must be an integer, got {version!r}")
    return number


def _timestamp(value: Any) -> datetime | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _finite(value: Any) -> Any:
    """NaN/inf become null: they are not JSON, and DuckDB's JSON type rejects them."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_finite(value), sort_keys=True, default=_json_default, allow_nan=False)

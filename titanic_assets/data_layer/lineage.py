"""Row-level lineage: from one passenger to its source, features, predictions and models.

Dagster's asset graph answers "which assets feed which"; this answers the user's question about
one row: "where did this passenger come from, did it pass the checks, which model versions scored
it, and what were those models trained on?" Everything is read from the warehouse, so the answer
holds with or without a running Dagster.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import duckdb

from titanic_assets.core.ids import hour_of_id
from titanic_assets.data_layer.warehouse import table_exists
from titanic_assets.names import (
    BLOCKING_SUITE,
    HISTORICAL_BATCH,
    MODEL_VERSIONS_TABLE,
    PREDICTIONS_TABLE,
    QUALITY_LEDGER,
    RAW_HISTORICAL_TABLE,
    SYNTHETIC_PASSENGERS_TABLE,
)
from titanic_assets.names import HISTORICAL_FEATURES_TABLE as HISTORICAL_FEATURES
from titanic_assets.names import SYNTHETIC_FEATURES_TABLE as SYNTHETIC_FEATURES


class PassengerNotFoundError(LookupError):
    """No source row, feature row or prediction names this passenger."""


def passenger_lineage(conn: duckdb.DuckDBPyConnection, passenger_id: str) -> dict[str, Any]:
    """Everything the warehouse knows about one passenger, as plain JSON-able data.

    A generated passenger's id names its hour (``core.ids``): its synthetic
    rows and predictions are looked up within that hour, so DuckDB reads the few row groups of
    that hour (min/max of event_time per row group) instead of scanning a year of ids.
    """
    hour = _hour_bounds(passenger_id)
    source = _source(conn, passenger_id, hour)
    features = _first(conn, HISTORICAL_FEATURES, passenger_id) or _first(
        conn, SYNTHETIC_FEATURES, passenger_id, hour
    )
    predictions = _rows(
        conn,
        PREDICTIONS_TABLE,
        f"SELECT * FROM {PREDICTIONS_TABLE} WHERE passenger_id = ?{_IN_HOUR if hour else ''} "
        "ORDER BY predicted_at",
        [passenger_id, *hour],
    )
    if source is None and features is None and not predictions:
        raise PassengerNotFoundError(f"no passenger with id {passenger_id!r} in the warehouse")
    batch_id = (features or source or {}).get("batch_id")
    quality = _rows(
        conn,
        QUALITY_LEDGER,
        f"SELECT suite, passed, evaluated_rows, evaluated_at, run_id FROM {QUALITY_LEDGER} "
        "WHERE batch_id = ? ORDER BY suite",
        [batch_id],
    )
    certified = any(q["suite"] == BLOCKING_SUITE and q["passed"] for q in quality)
    versions = sorted({int(p["model_version"]) for p in predictions})
    models = [_model(conn, version) for version in versions]
    return {
        "passenger_id": passenger_id,
        "source": source,
        "features": features,
        "quality": {"batch_id": batch_id, "certified": certified, "suites": quality},
        "predictions": predictions,
        "models": [m for m in models if m is not None],
    }


#: The condition :func:`_hour_bounds` fills in: a generated passenger's own hour.
_IN_HOUR = " AND event_time >= ? AND event_time < ?"


def _hour_bounds(passenger_id: str) -> tuple[datetime, ...]:
    """(start, end) of a generated passenger's hour; () for any other id."""
    start = hour_of_id(passenger_id)
    return () if start is None else (start, start + timedelta(hours=1))


def _source(
    conn: duckdb.DuckDBPyConnection, passenger_id: str, hour: tuple[datetime, ...] = ()
) -> dict[str, Any] | None:
    raw = _rows(
        conn,
        RAW_HISTORICAL_TABLE,
        "SELECT source_file, source_shape, source_row, record, loaded_at "
        f"FROM {RAW_HISTORICAL_TABLE} WHERE passenger_id = ?",
        [passenger_id],
    )
    if raw:
        row = raw[0]
        return {
            "kind": "historical",
            "batch_id": HISTORICAL_BATCH,
            "file": row["source_file"],
            "shape": row["source_shape"],
            "row": row["source_row"],
            "record_as_loaded": json.loads(row["record"]),
            "loaded_at": row["loaded_at"],
        }
    synthetic = _rows(
        conn,
        SYNTHETIC_PASSENGERS_TABLE,
        f"SELECT * FROM {SYNTHETIC_PASSENGERS_TABLE} WHERE passenger_id = ?"
        + (_IN_HOUR if hour else ""),
        [passenger_id, *hour],
    )
    if synthetic:
        row = synthetic[0]
        return {"kind": "synthetic", "partition": row["batch_id"], **row}
    return None


def _model(conn: duckdb.DuckDBPyConnection, version: int) -> dict[str, Any] | None:
    rows = _rows(
        conn,
        MODEL_VERSIONS_TABLE,
        # Every column but the blobs: a warehouse from before the training window was recorded
        # simply lacks that key.
        f"SELECT * EXCLUDE (artifact, params, training_profile) FROM {MODEL_VERSIONS_TABLE} "
        "WHERE version = ?",
        [version],
    )
    if not rows:
        return None
    model = rows[0]
    for column in ("metrics", "training_window", "features"):
        value = model.get(column)
        model[column] = json.loads(value) if isinstance(value, str) and value else value
    model["metrics"] = model["metrics"] or {}
    return model


def _first(
    conn: duckdb.DuckDBPyConnection, table: str, passenger_id: str, hour: tuple = ()
) -> dict | None:
    sql = f"SELECT * FROM {table} WHERE passenger_id = ?" + (_IN_HOUR if hour else "")
    rows = _rows(conn, table, sql, [passenger_id, *hour])
    return rows[0] if rows else None


def _rows(conn: duckdb.DuckDBPyConnection, table: str, sql: str, params: list) -> list[dict]:
    """Rows as JSON-able dicts; a table that does not exist yet simply has no rows."""
    if not table_exists(conn, table):
        return []
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [
        {name: _plain(value) for name, value in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def lineage_facts(
    record: dict[str, Any], code: Callable[[Any], str] = str
) -> list[tuple[str, str]]:
    """A :func:`passenger_lineage` record as ``(label, text)`` facts, oldest first.

    The one wording of the lineage, shared by ``titanic lineage`` (plain text) and the app
    (Markdown, ``code`` wrapping identifiers in backticks); each only lays the facts out.
    """
    facts = [_source_fact(record.get("source") or {}, code), _checks_fact(record["quality"], code)]
    features = record.get("features")
    if features:
        shown = {k: v for k, v in features.items() if k not in ("passenger_id", "batch_id")}
        facts.append(("features", ", ".join(f"{k}={v}" for k, v in shown.items())))
    if not record["predictions"]:
        facts.append(("predictions", "none yet"))
    for p in record["predictions"]:
        facts.append(
            (
                "prediction",
                f"{p['predicted_survived']} (p={p['survival_probability']:.3f}) "
                f"by model v{p['model_version']} at {p['predicted_at']}",
            )
        )
    for m in record["models"]:
        facts.extend(_model_facts(m, code))
    return facts


def _source_fact(source: dict[str, Any], code: Callable[[Any], str]) -> tuple[str, str]:
    """Where the passenger came from: a row of a historical file, or a synthetic hour."""
    if source.get("kind") == "historical":
        return (
            "source",
            f"historical: {code(source['file'])} row {source['row']} "
            f"({source['shape']} shape, loaded {source['loaded_at']})",
        )
    if source.get("kind") == "synthetic":
        return ("source", f"synthetic partition {code(source['partition'])}")
    return ("source", "unknown (no source row kept)")


def _checks_fact(quality: dict[str, Any], code: Callable[[Any], str]) -> tuple[str, str]:
    """The batch's data-quality verdicts, and whether they let it into the feature store."""
    verdicts = ", ".join(
        f"{q['suite']} {'passed' if q['passed'] else 'FAILED'}" for q in quality["suites"]
    )
    status = "in the feature store" if quality["certified"] else "WITHHELD from the feature store"
    return ("checks", f"batch {code(quality['batch_id'])}: {verdicts or 'not run'} -> {status}")


def _model_facts(m: dict[str, Any], code: Callable[[Any], str]) -> list[tuple[str, str]]:
    """A model version that scored the passenger: its training data, metrics and window."""
    champion = " (champion)" if m["is_champion"] else ""
    facts = [
        (
            f"model v{m['version']}{champion}",
            f"trained on {m['training_rows']} rows up to {m['training_cutoff']} "
            f"(data hash {code(str(m['training_data_hash'])[:12])}), holdout accuracy "
            f"{m['accuracy']:.3f}, F1 {m['f1']:.3f}, run {code(m['run_id'])}",
        )
    ]
    window = m.get("training_window")
    if window:
        facts.append(
            (
                "",
                f"window {window.get('window_start') or 'all history'} "
                f"({window.get('reason')}), weights {window.get('weights')}, "
                f"{window.get('excluded_rows', 0)} older rows excluded",
            )
        )
    return facts

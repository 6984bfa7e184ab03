"""Tests for titanic_assets.data_layer.validation: the GX suites run by DuckDB, on a batch in a
warehouse file (the pipelines' route) or a frame in memory."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from titanic_assets.core import quality
from titanic_assets.data_layer.validation import validate_batch_in_warehouse, validate_frame


def test_unknown_suite_is_refused_by_name(historical_features):
    with pytest.raises(ValueError, match="unknown suite 'shape'"):
        validate_frame(historical_features, "shape")


def test_batch_is_judged_where_it_lies_in_the_warehouse(tmp_path, historical_features):
    """The pipelines' route: GX's SQL engine queries the warehouse file through the caller's
    connection; only the selected batch is judged, and nothing keeps the file open after."""
    import duckdb

    features = historical_features.copy()
    features.loc[7, "pclass"] = 4.0
    bad_id = features.loc[7, "passenger_id"]
    features["batch_id"] = np.where(features.index < 700, "a", "b")
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE SCHEMA features")
        conn.execute("CREATE TABLE features.rows AS SELECT * FROM features")
        judged = {
            batch: validate_batch_in_warehouse(
                conn, f"SELECT * FROM features.rows WHERE batch_id = '{batch}'"
            )
            for batch in ("a", "b")
        }
    assert judged["a"][quality.INTEGRITY].evaluated_rows == 700
    assert judged["b"][quality.INTEGRITY].evaluated_rows == 609
    failed = judged["a"][quality.INTEGRITY].failed
    assert [o.expectation for o in failed] == ["expect_column_values_to_be_in_set(pclass)"]
    assert failed[0].failing_rows == [bad_id]
    assert judged["b"][quality.INTEGRITY].success
    # Another process can take the writer lock at once: GX left no connection behind.
    code = f"import duckdb; duckdb.connect({str(path)!r}).execute('SELECT 1')"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def _judged_both_ways(tmp_path, monkeypatch, features, batches):
    """Each batch judged alone, and all judged together (the backfill's route); also the
    batches that the joint route judged alone after all."""
    import duckdb

    from titanic_assets.data_layer.validation import validate_batches_in_warehouse

    judged_alone = []
    one_batch = quality.validate_batch

    def counted(conn, relation, target):
        judged_alone.append(relation.rsplit("'", 2)[1])
        return one_batch(conn, relation, target)

    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        conn.execute("CREATE SCHEMA features")
        conn.execute("CREATE TABLE features.rows AS SELECT * FROM features")
        alone = {
            batch: validate_batch_in_warehouse(
                conn, f"SELECT * FROM features.rows WHERE batch_id = '{batch}'"
            )
            for batch in batches
        }
        monkeypatch.setattr(quality, "validate_batch", counted)
        together = validate_batches_in_warehouse(conn, "features.rows", batches)
    return alone, together, judged_alone


def _summary(judged):
    return {
        batch: {suite: result.as_metadata() for suite, result in suites.items()}
        for batch, suites in judged.items()
    }


def test_batches_judged_together_get_the_verdicts_each_gets_alone(
    tmp_path, monkeypatch, historical_features
):
    """Two GX validations for many batches instead of two per batch, with the same verdicts,
    figures and bands: here one batch's survival is implausible (distribution fails for it
    alone) and one batch selected has no rows (integrity fails for it alone)."""
    features = historical_features.copy()
    features["batch_id"] = [f"2026-11-02-{i % 6:02d}:00" for i in range(len(features))]
    drifted = features["batch_id"] == "2026-11-02-02:00"
    features.loc[drifted, "survived"] = 1
    batches = [*sorted(set(features["batch_id"])), "2026-11-02-07:00"]  # the last has no rows
    alone, together, judged_alone = _judged_both_ways(tmp_path, monkeypatch, features, batches)
    assert _summary(together) == _summary(alone)
    assert judged_alone == ["2026-11-02-07:00"]  # the others in the two joint validations
    distribution = {b: together[b][quality.DISTRIBUTION].success for b in batches}
    assert [b for b, ok in distribution.items() if not ok] == [
        "2026-11-02-02:00",
        "2026-11-02-07:00",
    ]
    integrity = {b: together[b][quality.INTEGRITY].success for b in batches}
    assert [b for b, ok in integrity.items() if not ok] == ["2026-11-02-07:00"]


def test_a_batch_failing_integrity_is_judged_alone_naming_its_rows(
    tmp_path, monkeypatch, historical_features
):
    features = historical_features.copy()
    features["batch_id"] = np.where(features.index % 2 == 0, "a", "b")
    features.loc[8, "pclass"] = 4.0
    alone, together, judged_alone = _judged_both_ways(tmp_path, monkeypatch, features, ["a", "b"])
    assert _summary(together) == _summary(alone)
    assert judged_alone == ["a", "b"]  # the joint integrity failed: each judged alone
    failed = together["a"][quality.INTEGRITY].failed
    assert failed[0].failing_rows == [features.loc[8, "passenger_id"]]
    assert together["b"][quality.INTEGRITY].success

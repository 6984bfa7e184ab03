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

"""The feature store's counts come from the ledger (cost independent of history), and they must
agree with what the certified view really serves, failed and withdrawn batches included."""

from datetime import datetime

from titanic_assets.core.features import FEATURE_COLUMNS
from titanic_assets.core.quality import SuiteResult
from titanic_assets.data_layer.feature_store import (
    ensure_feature_store,
    feature_store_counts,
    record_suite_results,
    withdraw_certificates,
)
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.names import (
    BLOCKING_SUITE,
    DISTRIBUTION_SUITE,
    FEATURE_VIEW,
    HISTORICAL_BATCH,
    HISTORICAL_FEATURES_TABLE,
    SYNTHETIC_FEATURES_TABLE,
)


def _insert(conn, table: str, batch: str, source: str, rows: int) -> None:
    inputs = ", ".join(f"1.0 AS {c}" for c in FEATURE_COLUMNS)
    conn.execute(
        f"""INSERT INTO {table} BY NAME
        SELECT '{batch}-' || i AS passenger_id, TIMESTAMP '{datetime(2026, 11, 2)}' AS event_time,
               '{source}' AS source, '{batch}' AS batch_id, {inputs}, 1 AS survived
        FROM range({rows}) r(i)"""
    )


def _verdict(conn, batch: str, suite: str, passed: bool, rows: int) -> None:
    record_suite_results(
        conn,
        {batch: {suite: SuiteResult(suite, passed, rows, outcomes=[])}},
        asset="features/x",
        run_id=None,
    )


def _view_counts(conn) -> dict[str, int]:
    return dict(
        conn.execute(f"SELECT source, count(*) FROM {FEATURE_VIEW} GROUP BY source").fetchall()
    )


def test_counts_match_the_certified_view(tmp_path):
    with connect(str(tmp_path / "w.duckdb")) as conn:
        ensure_feature_store(conn)
        _insert(conn, HISTORICAL_FEATURES_TABLE, HISTORICAL_BATCH, "historical", 7)
        _verdict(conn, HISTORICAL_BATCH, BLOCKING_SUITE, True, 7)
        for batch, rows, passed in (("h0", 5, True), ("h1", 3, False), ("h2", 4, True)):
            _insert(conn, SYNTHETIC_FEATURES_TABLE, batch, "synthetic", rows)
            _verdict(conn, batch, BLOCKING_SUITE, passed, rows)
            _verdict(conn, batch, DISTRIBUTION_SUITE, False, rows)  # a warning counts nothing
        _insert(conn, SYNTHETIC_FEATURES_TABLE, "h3", "synthetic", 2)  # written, not yet judged
        withdraw_certificates(conn, ["h2"])  # being rewritten: no longer served

        counts = feature_store_counts(conn)
        served = _view_counts(conn)

    assert counts == {
        "historical_stored": 7,
        "synthetic_stored": 14,
        "historical_certified": 7,
        "synthetic_certified": 5,
        "batches_failed": 1,
    }
    assert served == {"historical": 7, "synthetic": 5}


def test_empty_store_counts_zero(tmp_path):
    with connect(str(tmp_path / "w.duckdb")) as conn:
        assert set(feature_store_counts(conn).values()) == {0}

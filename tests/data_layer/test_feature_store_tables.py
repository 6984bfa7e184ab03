"""The hourly tables are declared up front: with the types the I/O manager would have inferred
from the generator's passengers and features, and with passenger ids stored uncompressed."""

from datetime import datetime

import duckdb
import pytest

from titanic_assets.core.backfill import synthetic_hour
from titanic_assets.core.features import build_features
from titanic_assets.data_layer.feature_store import ensure_feature_store
from titanic_assets.names import SYNTHETIC_FEATURES_TABLE, SYNTHETIC_PASSENGERS_TABLE

HOUR = datetime(2026, 11, 2, 5)


@pytest.fixture(scope="module")
def hour(historical_passengers):
    passengers, _ = synthetic_hour(historical_passengers, HOUR, 3_000, seed=0)
    return {
        SYNTHETIC_PASSENGERS_TABLE: passengers,
        SYNTHETIC_FEATURES_TABLE: build_features(passengers),
    }


def _types(conn, relation: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in conn.execute(f"DESCRIBE {relation}").fetchall()]


@pytest.mark.parametrize("table", [SYNTHETIC_PASSENGERS_TABLE, SYNTHETIC_FEATURES_TABLE])
def test_declared_types_are_what_the_frame_would_create(table, hour):
    conn = duckdb.connect()
    ensure_feature_store(conn)
    conn.register("_frame", hour[table])
    # What the I/O manager creates when the table does not exist yet.
    conn.execute("CREATE TABLE inferred AS SELECT * FROM _frame LIMIT 0")
    assert _types(conn, table) == _types(conn, "inferred")


@pytest.mark.parametrize("table", [SYNTHETIC_PASSENGERS_TABLE, SYNTHETIC_FEATURES_TABLE])
def test_passenger_ids_are_stored_uncompressed(table, hour, tmp_path):
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_feature_store(conn)
    conn.register("_frame", hour[table])
    conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _frame")
    conn.execute("CHECKPOINT")
    compression = dict(
        conn.execute(
            f"""SELECT column_name, string_agg(DISTINCT compression, ',')
            FROM pragma_storage_info('{table}') WHERE segment_type = 'VARCHAR' GROUP BY 1"""
        ).fetchall()
    )
    assert compression["passenger_id"] == "Uncompressed"
    # The other text columns keep DuckDB's own choice (constant per hour: compressed).
    assert compression["batch_id"] != "Uncompressed"
    rows = conn.execute(f"SELECT count(DISTINCT passenger_id) FROM {table}").fetchall()[0][0]
    assert rows == len(hour[table])

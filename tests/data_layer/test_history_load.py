"""Bulk-loaded history is the same history the hourly pipeline writes: typed tables, certified
hours in the feature store, and the reads that must stay flat as it grows (a bounded training
set, a lineage look-up within the passenger's hour)."""

from datetime import datetime, timedelta

import pandas as pd
import pytest

from titanic_assets.core.backfill import synthetic_hours
from titanic_assets.core.features import build_features
from titanic_assets.core.ids import hour_of_id, id_prefix
from titanic_assets.core.quality import SuiteResult
from titanic_assets.core.training_set import SAMPLE_BUCKETS, TrainingSetError, sample_buckets
from titanic_assets.data_layer import history_load
from titanic_assets.data_layer.batch_scoring import ensure_predictions_table
from titanic_assets.data_layer.feature_store import (
    HISTORICAL_FEATURES,
    certified_rows,
    ensure_feature_store,
    feature_store_counts,
    read_table,
    record_suite_results,
)
from titanic_assets.data_layer.lineage import passenger_lineage
from titanic_assets.data_layer.monitoring_store import latest_predictions
from titanic_assets.data_layer.training_store import read_training_rows
from titanic_assets.data_layer.validation import validate_batch_in_warehouse
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.names import (
    BLOCKING_SUITE,
    HISTORICAL_BATCH,
    PERFORMANCE_TABLE,
    PREDICTIONS_TABLE,
    SYNTHETIC_PASSENGERS_TABLE,
)

START = datetime(2026, 10, 30)
PER_HOUR = 40


@pytest.fixture
def history(warehouse, historical_passengers, historical_features):
    """Two days of 40 passengers an hour, loaded in bulk and certified, plus the real list."""
    hours = [START + timedelta(hours=h) for h in range(48)]
    frames, _ = synthetic_hours(historical_passengers, hours, PER_HOUR, seed=3)
    passengers = pd.concat(frames, ignore_index=True)
    features = build_features(passengers)
    with connect(warehouse) as conn:
        ensure_feature_store(conn)
        conn.register("h", historical_features.assign(batch_id=HISTORICAL_BATCH))
        conn.execute(f"INSERT INTO {HISTORICAL_FEATURES} BY NAME SELECT * FROM h")
        record_suite_results(
            conn,
            {
                HISTORICAL_BATCH: {
                    BLOCKING_SUITE: SuiteResult(BLOCKING_SUITE, True, 1309, outcomes=[])
                }
            },
            asset="features/historical_features",
            run_id=None,
        )
        history_load.append_synthetic_hours(conn, passengers, features)
        end = START + timedelta(days=2)
        results = validate_batch_in_warehouse(conn, history_load.synthetic_window_sql(START, end))
        history_load.record_window_verdicts(
            conn,
            batch_rows=features["batch_id"].value_counts().to_dict(),
            asset="features/synthetic_features",
            results=results,
            run_id="bulk",
        )
    return warehouse, passengers


def test_bulk_loaded_hours_are_certified_hour_by_hour(history):
    warehouse, _ = history
    with connect(warehouse) as conn:
        counts = feature_store_counts(conn)
        assert counts["synthetic_stored"] == counts["synthetic_certified"] == 48 * PER_HOUR
        day = history_load.synthetic_window_sql(START, START + timedelta(days=1))
        assert conn.execute(f"SELECT count(*) FROM ({day})").fetchall()[0][0] == 24 * PER_HOUR
        assert history_load.warehouse_bytes(conn) > 0


def test_replace_window_replaces_only_its_window(warehouse):

    days = [START, START + timedelta(days=1)]
    with connect(warehouse) as conn:
        for day, value in zip(days, (1, 2), strict=True):
            frame = pd.DataFrame({"day": [day], "n": [value]})
            history_load.replace_window(
                conn, PERFORMANCE_TABLE, frame, "day", day, day + timedelta(days=1)
            )
        again = pd.DataFrame({"day": [days[0]], "n": [10]})
        history_load.replace_window(
            conn, PERFORMANCE_TABLE, again, "day", days[0], days[0] + timedelta(days=1)
        )
        rows = conn.execute(f"SELECT n FROM {PERFORMANCE_TABLE} ORDER BY day").fetchall()
    assert rows == [(10,), (2,)]


def test_training_reads_a_hash_sample_past_its_bound_and_every_real_passenger(history):
    warehouse, passengers = history
    cutoff = START + timedelta(days=3)
    with connect(warehouse) as conn:
        everything = read_training_rows(conn, cutoff)
        sampled = read_training_rows(conn, cutoff, max_rows=1309 + 500)
        again = read_training_rows(conn, cutoff, max_rows=1309 + 500)
    assert len(everything) == 1309 + len(passengers)
    assert everything.attrs["sample_fraction"] == 1.0
    fraction = sampled.attrs["sample_fraction"]
    assert fraction == sample_buckets(len(everything), 1809) / SAMPLE_BUCKETS < 1
    assert (sampled["source"] == "historical").sum() == 1309  # the real list, always whole
    synthetic = (sampled["source"] == "synthetic").sum()
    assert 0 < synthetic < len(passengers)
    assert abs(synthetic - fraction * len(passengers)) < 0.25 * len(passengers)
    assert sampled["passenger_id"].tolist() == again["passenger_id"].tolist()  # deterministic


def test_sample_buckets_rule():
    assert sample_buckets(100, 100) is None
    assert sample_buckets(1_000, 100) == SAMPLE_BUCKETS // 10
    assert sample_buckets(10**12, 1) == 1
    with pytest.raises(TrainingSetError, match="max_rows"):
        sample_buckets(10, 0)


def test_generated_ids_name_their_hour():
    hour = datetime(2026, 11, 27, 5)
    assert id_prefix("syn", hour) == "syn-2026112705-"
    assert hour_of_id("syn-2026112705-000001") == hour
    assert hour_of_id("drift_x-2026112705-12") == hour
    for other in ("titanic3-41330420f6f5a8cf", "syn-2026139905-000001", "syn-20261127-1", ""):
        assert hour_of_id(other) is None


def test_lineage_finds_a_generated_passenger_within_its_hour(history):
    warehouse, passengers = history
    passenger = passengers.iloc[-1]
    with connect(warehouse) as conn:
        record = passenger_lineage(conn, passenger["passenger_id"])
    assert record["source"]["kind"] == "synthetic"
    assert record["features"]["passenger_id"] == passenger["passenger_id"]
    assert record["quality"]["certified"]


def test_certified_rows_come_from_the_ledger(history):
    warehouse, passengers = history
    with connect(warehouse, read_only=True) as conn:
        assert certified_rows(conn) == 1309 + len(passengers)


def test_latest_predictions_widen_their_window_when_the_last_hour_is_quiet(history):
    """Passengers scored three hours apart: the last hour holds one, so the reader must widen
    its window to find the 20 newest, and join each with its own feature row."""
    warehouse, passengers = history
    scored = passengers.iloc[::120].head(30)  # one passenger every 3 hours
    frame = pd.DataFrame(
        {
            "passenger_id": scored["passenger_id"].to_numpy(),
            "event_time": scored["event_time"].to_numpy(),
            "source": "synthetic",
            "batch_id": scored["batch_id"].to_numpy(),
            "model_version": 1,
            "predicted_survived": 1,
            "survival_probability": 0.9,
            "predicted_at": datetime(2026, 11, 2),
            "run_id": "r",
        }
    )
    with connect(warehouse) as conn:
        ensure_predictions_table(conn)
        conn.register("p", frame)
        conn.execute(f"INSERT INTO {PREDICTIONS_TABLE} BY NAME SELECT * FROM p")
    with connect(warehouse, read_only=True) as conn:
        latest = latest_predictions(conn, 20, ("age", "survived"))
    newest = scored.sort_values("event_time", ascending=False).head(20)
    assert latest["passenger_id"].tolist() == newest["passenger_id"].tolist()
    assert latest["age"].tolist() == pytest.approx(newest["age"].tolist(), nan_ok=True)


def test_replicated_history_is_the_source_moved_in_time(history):
    """Two generated days copied over the next three: every copy certified, its ids naming
    their new hour, its monitoring days moved along; an unfinished chunk is dropped first."""
    warehouse, _ = history
    with connect(warehouse) as conn:
        ensure_predictions_table(conn)
        for day in (START, START + timedelta(days=1)):
            frame = pd.DataFrame({"day": [day], "n_predictions": [24 * PER_HOUR]})
            history_load.replace_window(
                conn, PERFORMANCE_TABLE, frame, "day", day, day + timedelta(days=1)
            )
        end = history_load.history_end(conn, START + timedelta(days=30))
        assert end == START + timedelta(days=2)
        history_load.truncate_history(conn, end)  # nothing after it yet: nothing dropped
        history_load.replicate_history(conn, START, end, START + timedelta(days=5))
        counts = feature_store_counts(conn)
        rows = read_table(conn, SYNTHETIC_PASSENGERS_TABLE)
        days = read_table(conn, PERFORMANCE_TABLE)
        before_day_3 = history_load.passengers_before(conn, START + timedelta(days=3))
    assert before_day_3 == 3 * 24 * PER_HOUR
    assert counts["synthetic_stored"] == counts["synthetic_certified"] == 5 * 24 * PER_HOUR
    assert rows["passenger_id"].is_unique
    hours = rows["event_time"].dt.floor("h")
    assert (rows["passenger_id"].map(hour_of_id) == hours).all()
    assert (rows["batch_id"] == hours.dt.strftime("%Y-%m-%d-%H:00")).all()
    assert sorted(days["day"]) == [START + timedelta(days=d) for d in range(5)]
    with connect(warehouse) as conn:
        history_load.truncate_history(conn, START + timedelta(days=4))
        assert feature_store_counts(conn)["synthetic_certified"] == 4 * 24 * PER_HOUR
        assert history_load.history_end(conn, START + timedelta(days=30)) == START + timedelta(
            days=4
        )
        # A day from ``before`` on (a pipeline run after the history) is not history.
        assert history_load.history_end(conn, START + timedelta(days=3)) == START + timedelta(
            days=3
        )


def test_one_hour_replicated_over_a_day(history):
    """The capacity benchmark's day: one hour (here the history's last) copied an hour at a
    time over the next 24, each copy certified under its own hour's batch id."""
    warehouse, _ = history
    last = START + timedelta(hours=47)
    with connect(warehouse) as conn:
        ensure_predictions_table(conn)
        conn.execute(f"CREATE TABLE IF NOT EXISTS {PERFORMANCE_TABLE} (day TIMESTAMP)")
        before = feature_store_counts(conn)["synthetic_certified"]
        history_load.replicate_history(
            conn, last, last + timedelta(hours=1), last + timedelta(days=1, hours=1)
        )
        after = feature_store_counts(conn)["synthetic_certified"]
        rows = read_table(conn, SYNTHETIC_PASSENGERS_TABLE)
    assert after - before == 24 * PER_HOUR
    day = rows[rows["event_time"] >= last]
    assert len(day) == 25 * PER_HOUR and rows["passenger_id"].is_unique
    assert day["event_time"].dt.floor("h").nunique() == 25

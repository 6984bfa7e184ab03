"""Batch scoring in the warehouse: every passenger gets its own score, the day is replaced whole,
and monitoring gets the numbers that were scored (once, in the same run).

The stand-in feature store holds more than two DuckDB row groups (122,880 rows each), so the
positional pairing of scores with ids is tested across row-group boundaries, on rows stored in
no particular order.
"""

from datetime import datetime, timedelta
from types import SimpleNamespace

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from titanic_assets import names
from titanic_assets.core.features import FEATURE_COLUMNS, MissingFeatureInputError
from titanic_assets.core.model import TrainingParams, train_model
from titanic_assets.core.monitoring import monitor_scored
from titanic_assets.core.predict import SHADOW_PREDICTION_TYPES, score_features
from titanic_assets.data_layer import batch_scoring
from titanic_assets.data_layer.batch_scoring import read_scored_day, score_day
from titanic_assets.data_layer.io_manager import ScoredDayIOManager
from titanic_assets.data_layer.warehouse import connect, ensure_schemas
from titanic_assets.partitions import DAILY_PARTITIONS

DAY = datetime(2026, 11, 2)
NEXT = DAY + timedelta(days=1)
ROWS = 300_000


def _features(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "pclass": rng.integers(1, 4, n).astype(float),
            "is_female": rng.integers(0, 2, n).astype(float),
            "age": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(1, 80, n)),
            "fare": rng.uniform(0, 300, n),
            "sibsp": rng.integers(0, 3, n).astype(float),
            "parch": rng.integers(0, 3, n).astype(float),
        }
    )
    frame["family_size"] = frame["sibsp"] + frame["parch"] + 1
    frame["is_alone"] = (frame["family_size"] == 1).astype(float)
    port = rng.integers(0, 3, n)
    for i, name in enumerate(("embarked_c", "embarked_q", "embarked_s")):
        frame[name] = (port == i).astype(float)
    frame["survived"] = np.where(rng.random(n) < 0.3, np.nan, frame["is_female"])
    frame["passenger_id"] = [f"syn-{i:07d}" for i in rng.permutation(n)]
    # Mostly in DAY, some the day after: the window is honoured.
    seconds = rng.uniform(0, 1.1 * 86_400, n)
    frame["event_time"] = pd.Timestamp(DAY) + pd.to_timedelta(seconds, unit="s")
    frame["event_time"] = frame["event_time"].astype("datetime64[us]")
    frame["source"] = "synthetic"
    frame["batch_id"] = frame["event_time"].dt.strftime("%Y-%m-%d-%H:00")
    return frame


@pytest.fixture(scope="module")
def model():
    train = _features(2_000, seed=1)
    train["survived"] = train["survived"].fillna(0)
    return train_model(train, TrainingParams(n_estimators=20))


@pytest.fixture
def warehouse(tmp_path):
    path = str(tmp_path / "w.duckdb")
    frame = _features(ROWS)
    with connect(path) as conn:
        ensure_schemas(conn)
        conn.register("rows", frame)
        conn.execute("CREATE TABLE features.passenger_features AS SELECT * FROM rows")
        conn.unregister("rows")
    return path, frame


def _score(conn, model, run_id="run-a", columns=FEATURE_COLUMNS):
    version = SimpleNamespace(version=7, features=list(columns))  # a registry row's two fields
    return score_day(conn, DAY, NEXT, model=model, version=version, run_id=run_id)


def test_each_passenger_gets_its_own_score_and_the_day_is_replaced(warehouse, model):
    path, frame = warehouse
    in_day = frame[(frame["event_time"] >= DAY) & (frame["event_time"] < NEXT)]
    assert len(in_day) > 2 * 122_880
    with connect(path) as conn:
        _score(conn, model, run_id="first")
        day = _score(conn, model, run_id="second")  # a re-run replaces the day
        stored = conn.execute("SELECT * FROM inference.predictions").df()
    assert len(stored) == day.rows == len(in_day)
    assert set(stored["run_id"]) == {"second"} and set(stored["model_version"]) == {7}
    expected = pd.Series(
        score_features(model, in_day, FEATURE_COLUMNS), index=in_day["passenger_id"]
    )
    got = stored.set_index("passenger_id")["survival_probability"]
    assert got.index.is_unique
    np.testing.assert_allclose(got.loc[expected.index], expected, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(
        stored["predicted_survived"], (stored["survival_probability"] >= 0.5).astype(int)
    )
    by_id = in_day.set_index("passenger_id")
    assert (stored.set_index("passenger_id")["event_time"] == by_id["event_time"]).all()
    # The latest predictions, with their own ids, for the dashboards.
    latest = in_day.sort_values(["event_time", "passenger_id"]).tail(len(day.latest))
    assert day.latest["passenger_id"].tolist() == latest["passenger_id"].tolist()[::-1]
    np.testing.assert_allclose(
        day.latest["survival_probability"], expected.loc[day.latest["passenger_id"]], atol=1e-7
    )


def test_monitoring_gets_the_scored_numbers_once_else_reads_them_back(warehouse, model):
    """The predictions' I/O manager hands the scored day to the same run's monitoring step
    once; another run, or a second load, reads the stored day back."""
    path, _ = warehouse
    with connect(path) as conn:
        day = _score(conn, model)
    where = {
        "asset_key": dg.AssetKey(names.PREDICTIONS),
        "partition_key": DAY.strftime(names.DAY_KEY_FORMAT),
        "asset_partitions_def": DAILY_PARTITIONS,
    }

    def load(manager, run_id: str):
        written = dg.build_output_context(run_id=run_id, **where)
        return manager.load_input(dg.build_input_context(upstream_output=written, **where))

    manager = ScoredDayIOManager(database=path).create_io_manager(None)
    manager.handle_output(dg.build_output_context(run_id="run-a", **where), day)
    assert load(manager, "run-a") is day  # handed over
    again = load(manager, "run-a")  # only once: read back
    assert again is not day
    manager.handle_output(dg.build_output_context(run_id="run-a", **where), day)
    assert load(manager, "run-b") is not day  # another run
    assert load(manager, "run-a") is not day  # nothing outlives its first load
    handed, read = monitor_scored(day.scored, {}), monitor_scored(again.scored, {})
    pd.testing.assert_frame_equal(handed, read)
    assert handed["n_predictions"].iloc[0] == day.rows
    assert handed["n_labelled"].iloc[0] == day.scored["survived"].notna().sum()
    assert again.latest["passenger_id"].tolist() == day.latest["passenger_id"].tolist()


def test_a_missing_model_input_fails_naming_it_and_writes_nothing(warehouse, model):
    path, _ = warehouse
    with connect(path) as conn:
        with pytest.raises(MissingFeatureInputError, match="no_such_input"):
            _score(conn, model, columns=(*FEATURE_COLUMNS, "no_such_input"))
        assert conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'predictions'"
        ).fetchall() == [(0,)]
        assert read_scored_day(conn, DAY, NEXT).rows == 0


def test_an_empty_day_writes_a_typed_empty_table(tmp_path, model):
    with connect(str(tmp_path / "w.duckdb")) as conn:
        day = _score(conn, model)
        assert day.rows == 0 and day.scored.empty
        kinds = {r[0]: r[1] for r in conn.execute("DESCRIBE inference.predictions").fetchall()}
    assert kinds["passenger_id"] == "VARCHAR" and kinds["survival_probability"] == "DOUBLE"


class _FailsOnBlock:
    """The model, until its ``fail_on``-th call: a failure in the middle of the day."""

    def __init__(self, model, fail_on: int):
        self.model, self.fail_on, self.calls = model, fail_on, 0

    def predict_proba(self, matrix):
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("scoring failed mid-day")
        return self.model.predict_proba(matrix)


def test_scored_in_blocks_pairs_every_row_and_a_mid_day_failure_changes_nothing(
    warehouse, model, monkeypatch
):
    path, frame = warehouse
    in_day = frame[(frame["event_time"] >= DAY) & (frame["event_time"] < NEXT)]
    monkeypatch.setattr(batch_scoring, "_BLOCK_ROWS", 70_001)  # blocks across row groups
    with connect(path) as conn:
        first = _score(conn, model, run_id="first")
        before = conn.execute("SELECT * FROM inference.predictions ORDER BY passenger_id").df()
        failing = _FailsOnBlock(model, fail_on=3)
        with pytest.raises(RuntimeError, match="mid-day"):
            _score(conn, failing, run_id="second")
        after = conn.execute("SELECT * FROM inference.predictions ORDER BY passenger_id").df()
    assert failing.calls >= 3 and first.rows == len(in_day) > 3 * 70_001
    pd.testing.assert_frame_equal(before, after)  # the day as it was, not half replaced
    expected = score_features(model, in_day, FEATURE_COLUMNS)
    got = before.set_index("passenger_id")["survival_probability"].loc[in_day["passenger_id"]]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-7)


# --- shadow challengers: the same loop, the same write path -------------------------------------

#: A challenger whose inputs come in another order: it needs a matrix of its own.
REORDERED = tuple(reversed(FEATURE_COLUMNS))


@pytest.fixture(scope="module")
def challengers():
    train = _features(2_000, seed=2)
    train["survived"] = train["survived"].fillna(1)
    same = train_model(train, TrainingParams(n_estimators=5, max_depth=2))
    other = train_model(train, TrainingParams(n_estimators=8, feature_columns=REORDERED))
    return {8: (FEATURE_COLUMNS, same), 9: (REORDERED, other)}


def _shadows(challengers, replaced=None):
    models = {**challengers, **(replaced or {})}
    return [
        (SimpleNamespace(version=v, features=list(columns)), model)
        for v, (columns, model) in models.items()
    ]


def _with_shadows(conn, model, shadows, run_id="run-a"):
    version = SimpleNamespace(version=7, features=list(FEATURE_COLUMNS))
    return score_day(conn, DAY, NEXT, model=model, version=version, run_id=run_id, shadows=shadows)


def _table(conn, table: str) -> pd.DataFrame:
    return conn.execute(f"SELECT * FROM {table} ORDER BY model_version, passenger_id").df()


def test_shadows_score_every_passenger_and_a_rerun_replaces_them(
    warehouse, model, challengers, monkeypatch
):
    path, frame = warehouse
    in_day = frame[(frame["event_time"] >= DAY) & (frame["event_time"] < NEXT)]
    monkeypatch.setattr(batch_scoring, "_BLOCK_ROWS", 70_001)  # blocks across row groups
    with connect(path) as conn:
        _with_shadows(conn, model, _shadows(challengers), run_id="first")
        day = _with_shadows(conn, model, _shadows(challengers), run_id="second")  # a re-run
        champion = _table(conn, names.PREDICTIONS_TABLE)
        shadow = _table(conn, names.SHADOW_PREDICTIONS_TABLE)
        again = read_scored_day(conn, DAY, NEXT)  # what another run's monitoring reads
    # Exactly once: the re-run replaced the day's shadow rows, it did not add to them.
    assert len(champion) == day.rows == len(in_day)
    assert shadow.groupby("model_version").size().to_dict() == {8: len(in_day), 9: len(in_day)}
    assert list(shadow.columns) == list(SHADOW_PREDICTION_TYPES)  # no run id: a narrow row
    assert shadow.groupby("model_version")["passenger_id"].nunique().to_dict() == {
        8: len(in_day),
        9: len(in_day),
    }
    by_id = in_day.set_index("passenger_id")
    for version, (columns, challenger) in challengers.items():
        mine = shadow[shadow["model_version"] == version].set_index("passenger_id")
        expected = pd.Series(score_features(challenger, in_day, columns), index=by_id.index)
        np.testing.assert_allclose(
            mine["survival_probability"].loc[by_id.index], expected, rtol=0, atol=1e-7
        )
        assert (mine["event_time"].loc[by_id.index] == by_id["event_time"]).all()
        np.testing.assert_array_equal(
            mine["predicted_survived"], (mine["survival_probability"] >= 0.5).astype(int)
        )
        # The hand-over to monitoring: aligned with the champion's scored rows.
        np.testing.assert_allclose(
            day.shadows[version], score_features(challenger, day.scored, columns), atol=1e-7
        )
    assert sorted(again.shadows) == [8, 9] and again.rows == day.rows
    for version in (8, 9):  # the same numbers, in the stored day's own row order
        np.testing.assert_allclose(
            np.sort(again.shadows[version]), np.sort(day.shadows[version]), rtol=0, atol=1e-12
        )
    # Shadows never change what the champion wrote.
    expected = score_features(model, in_day, FEATURE_COLUMNS)
    got = champion.set_index("passenger_id")["survival_probability"].loc[in_day["passenger_id"]]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-7)
    assert set(champion["run_id"]) == {"second"}


def test_a_shadow_failing_mid_day_changes_nothing_and_one_without_its_inputs_is_skipped(
    warehouse, model, challengers, monkeypatch
):
    path, _ = warehouse
    monkeypatch.setattr(batch_scoring, "_BLOCK_ROWS", 70_001)
    with connect(path) as conn:
        _with_shadows(conn, model, _shadows(challengers), run_id="first")
        before = [
            _table(conn, t) for t in (names.PREDICTIONS_TABLE, names.SHADOW_PREDICTIONS_TABLE)
        ]
        failing = _FailsOnBlock(challengers[9][1], fail_on=3)
        with pytest.raises(RuntimeError, match="mid-day"):
            _with_shadows(conn, model, _shadows(challengers, {9: (REORDERED, failing)}))
        after = [_table(conn, t) for t in (names.PREDICTIONS_TABLE, names.SHADOW_PREDICTIONS_TABLE)]
        for was, now in zip(before, after, strict=True):
            pd.testing.assert_frame_equal(was, now)  # both tables as they were
        lacking = {10: ((*FEATURE_COLUMNS, "no_such_input"), challengers[8][1])}
        day = _with_shadows(conn, model, _shadows(challengers, lacking), run_id="third")
        versions = conn.execute(
            f"SELECT DISTINCT model_version FROM {names.SHADOW_PREDICTIONS_TABLE} ORDER BY 1"
        ).fetchall()
    assert failing.calls >= 3
    assert sorted(day.shadows) == [8, 9] and versions == [(8,), (9,)]
    assert "no_such_input" in day.shadow_skipped[10]

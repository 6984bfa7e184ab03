"""The data behind each tab equals what SQL says on a small real warehouse."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.apps.conftest import DAYS
from tests.warehouse_sql import CONFUSION_CELLS, LABELLED_SQL, confusion_counts, sql
from titanic_assets.apps import data, render
from titanic_assets.core.predict import PassengerInput, PassengerInputError
from titanic_assets.data_layer.serving import predict_one
from titanic_assets.data_layer.warehouse import connect


@pytest.fixture(scope="module")
def reader(app_warehouse: str) -> data.WarehouseReader:
    return data.WarehouseReader(app_warehouse, min_gap_s=0.0)


@pytest.fixture(scope="module")
def snapshot(reader: data.WarehouseReader) -> data.Snapshot:
    return reader.view().snapshot


def test_accuracy_and_f1_per_day_and_version_equal_sql(app_warehouse, snapshot) -> None:
    view = data.monitoring(snapshot)
    labelled = sql(app_warehouse, LABELLED_SQL)
    labelled["day"] = pd.to_datetime(labelled["event_time"]).dt.strftime("%Y-%m-%d")
    assert sorted(view.daily["day"]) == list(DAYS)
    assert view.daily["model_version"].nunique() == 2  # two champions, one per day
    for row in view.daily.to_dict("records"):
        group = labelled[
            (labelled["day"] == row["day"]) & (labelled["model_version"] == row["model_version"])
        ]
        t, p = group["survived"].to_numpy(), group["predicted_survived"].to_numpy()
        tp, fp, fn = (
            np.sum((t == 1) & (p == 1)),
            np.sum((t == 0) & (p == 1)),
            np.sum((t == 1) & (p == 0)),
        )
        assert row["n_labelled"] == len(group) > 0
        assert row["accuracy"] == pytest.approx(np.mean(t == p))
        assert row["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))


def test_confusion_matrix_covers_all_labelled_history(app_warehouse, snapshot) -> None:
    view = data.monitoring(snapshot)
    counts = confusion_counts(app_warehouse)
    assert {k: view.confusion[k] for k in CONFUSION_CELLS} == counts
    days = sql(
        app_warehouse, "SELECT count(DISTINCT event_time::DATE) AS n FROM inference.predictions"
    )
    assert int(days["n"][0]) == 2  # the matrix spans both days, not the latest one
    assert view.confusion["n"] == sum(counts.values())


def test_psi_latest_day_and_trend_equal_the_monitoring_table(app_warehouse, snapshot) -> None:
    view = data.monitoring(snapshot)
    assert view.latest_day == DAYS[-1]
    rows = sql(
        app_warehouse,
        "SELECT day, psi_by_feature FROM monitoring.model_performance ORDER BY day",
    )
    import json

    latest = json.loads(rows["psi_by_feature"].iloc[-1])
    assert dict(
        zip(view.psi_latest["feature"], view.psi_latest["psi"], strict=True)
    ) == pytest.approx(latest)
    assert list(view.psi_latest["psi"]) == sorted(view.psi_latest["psi"], reverse=True)
    assert sorted(view.psi_trend["day"].unique()) == list(DAYS)
    first = json.loads(rows["psi_by_feature"].iloc[0])
    day_one = view.psi_trend[view.psi_trend["day"] == DAYS[0]]
    assert dict(zip(day_one["feature"], day_one["psi"], strict=True)) == pytest.approx(first)


def test_versions_mark_the_champion_and_the_log_keeps_reasons(app_warehouse, snapshot) -> None:
    view = data.monitoring(snapshot)
    champion = sql(app_warehouse, "SELECT version FROM models.model_versions WHERE is_champion")
    marked = view.versions[view.versions["champion"] != ""]
    assert list(marked["version"]) == [int(champion["version"][0])]
    assert len(view.versions) == int(
        sql(app_warehouse, "SELECT count(*) AS n FROM models.model_versions")["n"][0]
    )
    log = sql(app_warehouse, "SELECT action, reason FROM models.promotions ORDER BY event_id DESC")
    assert list(view.promotions["action"]) == list(log["action"])
    assert list(view.promotions["reason"]) == list(log["reason"])
    assert (view.promotions["action"] == "promote").sum() >= 2  # one champion per day


def test_latest_passengers_equal_sql(app_warehouse, snapshot) -> None:
    view = data.latest(snapshot)
    expected = sql(
        app_warehouse,
        f"SELECT * FROM ({LABELLED_SQL}) ORDER BY event_time DESC, passenger_id DESC LIMIT ?",
        [data.HISTORY_ROWS],
    )
    assert list(view.history["passenger_id"]) == list(expected["passenger_id"])
    assert view.newest["passenger_id"] == expected["passenger_id"][0]
    outcome = {0: "died", 1: "survived"}
    assert list(view.history["actual"]) == [outcome[int(v)] for v in expected["survived"]]
    assert list(view.history["predicted"]) == [
        outcome[int(v)] for v in expected["predicted_survived"]
    ]
    right = int((expected["survived"] == expected["predicted_survived"]).sum())
    assert (view.recent_right, view.recent_labelled) == (right, len(expected))
    html = render.newest_html(view)
    assert f'data-passenger="{expected["passenger_id"][0]}"' in html


def test_lookup_shows_the_lineage_facts(reader, snapshot) -> None:
    passenger = data.latest(snapshot).newest["passenger_id"]
    record = data.lookup(reader, passenger)
    text = render.lineage_md(record)
    assert passenger in text and "synthetic partition" in text
    assert f"model v{record['predictions'][0]['model_version']}" in text
    with pytest.raises(data.AppDataError, match="no passenger with id"):
        data.lookup(reader, "nobody-42")
    with pytest.raises(PassengerInputError) as missing:
        data.lookup(reader, "  ")
    assert missing.value.field == "passenger id"


def test_prediction_matches_the_cli_path_and_explains_itself(app_warehouse, reader) -> None:
    raw = {
        "pclass": "1",
        "sex": "female",
        "age": "29",
        "fare": "80",
        "embarked": "S",
        "sibsp": 0,
        "parch": 0,
    }
    result = data.predict(reader, **raw)
    with connect(app_warehouse, read_only=True) as conn:
        expected = predict_one(conn, PassengerInput.parse(**raw))
    assert result.model_version == expected["model_version"]
    assert result.probability == pytest.approx(expected["probability"], abs=1e-9)
    assert result.survived == bool(expected["prediction"])
    # The contributions are the model's own arithmetic: they add up to its log-odds.
    logit = math.log(result.probability / (1 - result.probability))
    assert result.explanation.margin == pytest.approx(logit, abs=1e-4)
    names = [name for name, _, _ in result.explanation.contributions]
    assert "is_female" in names and len(names) == len(set(names))
    poorer = data.predict(reader, **{**raw, "pclass": "3", "sex": "male", "fare": "7"})
    assert poorer.probability < result.probability


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age", "150"),
        ("fare", "-1"),
        ("pclass", None),
        ("sex", ""),
        ("sibsp", 11),
        ("embarked", "X"),
    ],
)
def test_bad_input_names_the_field(reader, field, value) -> None:
    raw = {
        "pclass": 2,
        "sex": "male",
        "age": 40,
        "fare": 20,
        "embarked": "C",
        "sibsp": 1,
        "parch": 0,
    }
    with pytest.raises(PassengerInputError) as error:
        data.predict(reader, **{**raw, field: value})
    assert error.value.field == field


def test_missing_and_empty_warehouse_say_what_to_run(tmp_path) -> None:
    missing = data.WarehouseReader(str(tmp_path / "absent.duckdb"))
    with pytest.raises(data.WarehouseMissing, match="make demo"):
        missing.view()
    empty_path = str(tmp_path / "empty.duckdb")
    duckdb.connect(empty_path).close()
    snapshot = data.WarehouseReader(empty_path).view().snapshot
    for tab in (data.latest, data.monitoring):
        with pytest.raises(data.AppDataError, match="make demo") as error:
            tab(snapshot)
        assert "historical_backfill" in str(error.value)
    with pytest.raises(data.AppDataError, match="training_pipeline"):
        data.predict(data.WarehouseReader(empty_path), pclass=1, sex="female")


HOLD = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1], config={"custom_user_agent": "dagster"})
print("holding", flush=True)
sys.stdin.read()
"""


def test_a_writer_holding_the_file_gets_the_last_good_data_with_its_age(app_warehouse) -> None:
    reader = data.WarehouseReader(app_warehouse, ttl_s=0.0, connect_budget_s=0.3, min_gap_s=0.0)
    first = reader.view()
    assert first.stale_reason is None
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, app_warehouse],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        busy = reader.view()
        waited = time.monotonic() - started
        assert busy.snapshot is first.snapshot
        assert busy.stale_reason and "writing" in busy.stale_reason
        assert "last good data" in busy.status() and "s ago" in busy.status()
        assert waited < 1.5  # the connect budget, not DuckDB's long retry
        with pytest.raises(data.WarehouseBusy):
            data.WarehouseReader(app_warehouse, connect_budget_s=0.2).view()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert reader.view().stale_reason is None  # the file is free again: fresh data


WRITER = """
import sys, time, duckdb
from titanic_assets.data_layer.warehouse import connect
waits = []
for _ in range(int(sys.argv[2])):
    t0 = time.monotonic()
    with connect(sys.argv[1]) as conn:
        waits.append(time.monotonic() - t0)
        conn.execute("SELECT 1").fetchall()
    time.sleep(0.05)
print(max(waits))
"""


def test_a_writer_waits_at_most_a_second_while_the_app_polls(app_warehouse) -> None:
    import threading

    reader = data.WarehouseReader(app_warehouse, ttl_s=0.0)  # every poll opens the file
    stop = threading.Event()
    polls: list[data.View] = []

    def poll() -> None:
        while not stop.is_set():
            polls.append(reader.view())

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [sys.executable, "-c", WRITER, app_warehouse, "40"],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
    finally:
        stop.set()
        thread.join(timeout=30)
    assert len(polls) >= 5
    print(
        f"\nlongest writer wait with the app polling: {float(done.stdout):.3f} s over 40 connects"
    )
    assert float(done.stdout.strip()) < 1.0, done.stdout


def test_titanic_app_rejects_a_bad_port_naming_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "titanic_assets.cli", "app", "--port", "99999"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--port" in done.stderr and "99999" in done.stderr and "Traceback" not in done.stderr


def test_monitoring_metadata_has_the_cumulative_matrix_and_history(app_cycle, snapshot) -> None:
    """The Dagster UI shows the same all-history figures as the app's monitoring tab."""
    view = data.monitoring(snapshot)
    meta = app_cycle.performance_metadata
    assert meta["n_labelled_all_history"].value == view.confusion["n"]
    assert meta["accuracy_all_history"].value == pytest.approx(view.confusion["accuracy"])
    assert meta["confusion_matrix_all_history"].value.startswith("![All labelled history, 2 days]")
    table = meta["history"].value.splitlines()
    assert len(table) == 2 + len(view.daily)  # header, rule, one row per day and version
    newest = view.daily.iloc[-1]
    assert table[2].startswith(f"| {newest['day']} | v{newest['model_version']} | ")
    assert f"{newest['accuracy']:.3f}" in table[2]


def test_calibration_and_segments_equal_the_monitoring_tables(app_warehouse, snapshot) -> None:
    view = data.monitoring(snapshot)
    latest = sql(
        app_warehouse,
        "SELECT * FROM monitoring.model_performance ORDER BY day DESC, n_predictions DESC LIMIT 1",
    ).iloc[0]
    assert view.calibration["day"] == DAYS[1]
    assert view.calibration["brier"] == pytest.approx(latest["brier"])
    assert view.calibration["ece"] == pytest.approx(latest["ece"])
    assert sum(b["n"] for b in view.calibration["reliability"]) == latest["n_labelled"]
    cells = sql(
        app_warehouse,
        "SELECT s.segment, strftime(s.day, '%Y-%m-%d') AS day, s.accuracy, s.n_labelled "
        "FROM monitoring.segment_performance s JOIN monitoring.model_performance p "
        "USING (day, model_version)",
    )
    assert len(cells) == 6 * len(DAYS)
    for r in cells.itertuples():
        assert view.segment_counts.loc[r.segment, r.day] == r.n_labelled
        shown = view.segment_accuracy.loc[r.segment, r.day]
        assert (math.isnan(shown) and math.isnan(r.accuracy)) or shown == pytest.approx(r.accuracy)
    page = render.segments_html(view)
    assert page.count('data-testid="segment-cell"') == 6 * len(DAYS)
    assert 'data-segment="female/3"' in page


def test_models_view_shows_every_versions_card(reader, snapshot) -> None:
    choices = data.version_choices(snapshot)
    assert len(choices) == len(snapshot.versions) and "champion" in choices[0]
    for choice in choices:
        card = data.card(reader, choice)
        number = choice.split(" ")[0][1:]
        assert f"# Model card: version {number}" in card and "## Calibration" in card
    with pytest.raises(data.AppDataError, match="99"):
        data.card(reader, "v99")

"""Shadow challengers, calibration, segments and model cards through the real jobs.

The issue's scenario on a fresh warehouse: backfill, a first model, a day of passengers, a
second training that is not promoted, another day scored. Then the shadow's rows cover that
day's passengers, monitoring holds both versions on the same labelled passengers (checked
against the tables by an independent SQL count), the calibration and segment figures are
there, and ``titanic card 2`` prints a card that speaks of calibration and segments.
"""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import pytest

from titanic_assets import names
from titanic_assets.core.segments import SEGMENTS
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.definitions import build_definitions
from titanic_assets.names import (
    CALIBRATION_CHECK,
    PERFORMANCE_TABLE,
    PREDICTIONS_TABLE,
    SEGMENT_CHECK,
    SEGMENT_PERFORMANCE_TABLE,
    SHADOW_COMPARISON_TABLE,
    SHADOW_PREDICTIONS_TABLE,
)

pytestmark = pytest.mark.slow

FIRST_DAY, SECOND_DAY = "2026-11-20", "2026-11-21"
PER_HOUR = 60
#: A deliberately weak challenger: one shallow tree cannot beat the champion, so it stays
#: in the shadow whatever the sample.
WEAK = {"n_estimators": 1, "max_depth": 1, "cv_folds": 2}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    root = tmp_path_factory.mktemp("shadow")
    warehouse = str(root / "warehouse.duckdb")
    (root / "home").mkdir()
    defs = build_definitions(warehouse)
    with dg.instance_for_test(temp_dir=str(root / "home")) as instance:

        def run(job: str, **kwargs):
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, **kwargs)
            assert result.success, job
            return result

        def hours(day: str) -> None:
            for hour in ("06:00", "12:00"):
                run(
                    "feature_pipeline",
                    partition_key=f"{day}-{hour}",
                    run_config={
                        "ops": {
                            names.SYNTHETIC_PASSENGERS_OP: {
                                "config": {"passengers_per_hour": PER_HOUR}
                            }
                        }
                    },
                )

        def train(cutoff: str, model: dict | None = None):
            ops = {names.TRAINING_DATA_OP: {"config": {"cutoff": cutoff}}}
            if model:
                ops[names.MODEL_VERSIONS_OP] = {"config": model}
            return run("training_pipeline", run_config={"ops": ops})

        run("historical_backfill")
        train(f"{FIRST_DAY}T00:00")
        hours(FIRST_DAY)
        run("inference_pipeline", partition_key=FIRST_DAY)
        second = train(f"{SECOND_DAY}T00:00", WEAK)
        hours(SECOND_DAY)
        scored = run("inference_pipeline", partition_key=SECOND_DAY)
        yield {"warehouse": warehouse, "second": second, "scored": scored}


def query(warehouse: str, sql: str, params: list | None = None):
    with connect(warehouse, read_only=True) as conn:
        return conn.execute(sql, params or []).df()


def test_second_version_is_not_promoted_and_its_decline_is_logged(scenario) -> None:
    versions = query(
        scenario["warehouse"], "SELECT version, is_champion FROM models.model_versions"
    )
    assert dict(zip(versions["version"], versions["is_champion"], strict=True)) == {
        1: True,
        2: False,
    }
    log = query(scenario["warehouse"], "SELECT * FROM models.promotions ORDER BY event_id")
    assert log[log["action"] == "promote"][["version", "evidence"]].values.tolist() == [
        [1, "first_model"]
    ]
    decline = log[(log["action"] == "decline") & (log["version"] == 2)]
    assert len(decline) == 1 and decline["evidence"].iloc[0] in {"recent", "holdout"}
    metadata = scenario["second"].asset_materializations_for_node(names.MODEL_VERSIONS_OP)
    card = metadata[0].metadata["model_card"].value
    assert "# Model card: version 2" in card and "Calibration" in card


def test_shadow_scores_the_days_passengers_never_served(scenario) -> None:
    w = scenario["warehouse"]
    day = [f"{SECOND_DAY} 00:00", f"{SECOND_DAY} 23:59:59.999999"]
    served = query(
        w, f"SELECT passenger_id, model_version FROM {PREDICTIONS_TABLE} "
        "WHERE event_time BETWEEN ? AND ?", day,
    )  # fmt: skip
    shadow = query(
        w, f"SELECT * FROM {SHADOW_PREDICTIONS_TABLE} WHERE event_time BETWEEN ? AND ?", day
    )
    assert len(served) == 2 * PER_HOUR and set(served["model_version"]) == {1}
    assert set(shadow["model_version"]) == {2}
    assert sorted(shadow["passenger_id"]) == sorted(served["passenger_id"])
    assert set(shadow["predicted_survived"]) <= {0, 1}
    assert ((shadow["survival_probability"] >= 0.5) == (shadow["predicted_survived"] == 1)).all()
    # The first day was scored before v2 existed: no shadow rows there.
    assert query(w, f"SELECT count(*) AS n FROM {SHADOW_PREDICTIONS_TABLE}")["n"][0] == len(shadow)


def test_monitoring_compares_both_versions_on_the_same_passengers(scenario) -> None:
    w = scenario["warehouse"]
    comparison = query(w, f"SELECT * FROM {SHADOW_COMPARISON_TABLE}")
    assert len(comparison) == 1
    row = comparison.iloc[0]
    assert (row["champion_version"], row["shadow_version"]) == (1, 2)
    # An independent count from the tables: labelled passengers both versions scored.
    expected = query(
        w,
        f"""SELECT count(*) AS n,
                   avg((p.predicted_survived = f.survived)::INT) AS champion_accuracy,
                   avg((s.predicted_survived = f.survived)::INT) AS shadow_accuracy,
                   avg(power(s.survival_probability - f.survived, 2)) AS shadow_brier,
                   sum(((s.predicted_survived = f.survived) AND
                        (p.predicted_survived <> f.survived))::INT) AS wins
            FROM {PREDICTIONS_TABLE} p
            JOIN {SHADOW_PREDICTIONS_TABLE} s USING (passenger_id)
            JOIN features.passenger_features f USING (passenger_id)
            WHERE f.survived IS NOT NULL AND p.event_time >= ?""",
        [SECOND_DAY],
    ).iloc[0]
    assert row["n_labelled"] == expected["n"] == 2 * PER_HOUR
    assert row["champion_accuracy"] == pytest.approx(expected["champion_accuracy"])
    assert row["shadow_accuracy"] == pytest.approx(expected["shadow_accuracy"])
    assert row["shadow_brier"] == pytest.approx(expected["shadow_brier"])
    assert row["wins"] == expected["wins"]
    assert row["accuracy_difference"] == pytest.approx(
        expected["shadow_accuracy"] - expected["champion_accuracy"]
    )
    assert row["accuracy_ci_low"] <= row["accuracy_difference"] <= row["accuracy_ci_high"]


def test_calibration_and_segments_of_the_day(scenario) -> None:
    w = scenario["warehouse"]
    perf = query(w, f"SELECT * FROM {PERFORMANCE_TABLE} WHERE day = ?", [SECOND_DAY])
    assert len(perf) == 1 and 0 < perf["brier"].iloc[0] < 0.25 and 0 <= perf["ece"].iloc[0] < 1
    brier = query(
        w,
        f"""SELECT avg(power(p.survival_probability - f.survived, 2)) AS brier
            FROM {PREDICTIONS_TABLE} p JOIN features.passenger_features f USING (passenger_id)
            WHERE p.event_time >= ?""",
        [SECOND_DAY],
    )["brier"].iloc[0]
    assert perf["brier"].iloc[0] == pytest.approx(brier)
    cells = query(w, f"SELECT * FROM {SEGMENT_PERFORMANCE_TABLE} WHERE day = ?", [SECOND_DAY])
    for version in (1, 2):
        mine = cells[cells["model_version"] == version]
        assert sorted(mine["segment"]) == sorted(SEGMENTS)
        assert mine["n_labelled"].sum() == 2 * PER_HOUR
    counted = query(
        w,
        f"""SELECT (CASE WHEN f.is_female = 1 THEN 'female/' ELSE 'male/' END) || f.pclass::INT
                   AS segment, count(*) AS n, avg((p.predicted_survived = f.survived)::INT) AS acc
            FROM {PREDICTIONS_TABLE} p JOIN features.passenger_features f USING (passenger_id)
            WHERE p.event_time >= ? GROUP BY 1""",
        [SECOND_DAY],
    )
    champion = cells[cells["model_version"] == 1].set_index("segment")
    for r in counted.itertuples():
        assert champion.loc[r.segment, "n_labelled"] == r.n
        assert champion.loc[r.segment, "accuracy"] == pytest.approx(r.acc)
    checks = {e.check_name: e for e in scenario["scored"].get_asset_check_evaluations()}
    assert CALIBRATION_CHECK in checks and SEGMENT_CHECK in checks
    metadata = scenario["scored"].asset_materializations_for_node(names.PERFORMANCE_OP)[0].metadata
    assert metadata["reliability_diagram"].value.startswith("![")
    assert "female/1" in metadata["segments"].value
    assert "v2" in metadata["shadow_comparison"].value
    # The live rule judged the shadow on one day of evidence: never enough.
    assert "too little live evidence" in metadata["live_decision_v2"].value


def titanic(*args: str, warehouse: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "titanic_assets.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TITANIC_DUCKDB": warehouse},
        timeout=120,
        check=False,
    )


def test_card_prints_and_a_bad_version_is_named(scenario) -> None:
    w = scenario["warehouse"]
    card = titanic("card", "2", warehouse=w)
    assert card.returncode == 0, card.stderr
    text = card.stdout
    for words in ("# Model card: version 2", "## Calibration", "ECE", "Brier", "## Segments",
                  "female/3", "In the shadow", "decline", "Verified", "Known limitations"):  # fmt: skip
        assert words in text, words
    missing = titanic("card", "99", warehouse=w)
    assert missing.returncode == 1 and "99" in missing.stderr and "[1, 2]" in missing.stderr
    bad = titanic("card", "two", warehouse=w)
    assert bad.returncode == 2 and "VERSION" in bad.stderr and "'two'" in bad.stderr
    helped = titanic("card", "--help", warehouse=w)
    assert helped.returncode == 0 and "model card" in helped.stdout

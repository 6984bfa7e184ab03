"""Scenarios 7 (a year of history) and 8 (capacity) at a tiny size, so they cannot rot: every
``year_history`` and ``capacity`` key is there, the bulk-built history is what was asked for
(certified, scored and monitored), and the rule for what training reads is applied.

No timing is asserted (benchmarks are not tests); the figures of a smoke run mean nothing.
"""

import json

import pytest

from benchmarks.run import prepare_template
from benchmarks.scenarios import capacity, year
from titanic_assets.data_layer.feature_store import feature_store_counts
from titanic_assets.data_layer.monitoring_store import performance
from titanic_assets.data_layer.warehouse import connect

YEAR_KEYS = {
    "passengers", "app_view_s", "lineage_s", "hourly_feature_ratio", "daily_inference_ratio",
    "training_s", "warehouse_gib", "peak_rss_gib",
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_year_and_capacity_scenarios_at_a_tiny_size(tmp_path):
    template = prepare_template(tmp_path)
    # One day generated through the library, the second a copy of it (replicate_history).
    results = year.run(tmp_path, template, per_hour=20, days=2, reps=1, generated_days=1, log=print)
    assert set(results) >= YEAR_KEYS | {"raw"}
    assert results["passengers"] == 2 * 24 * 20
    assert set(results["app_view_s"]) == {"prediction", "latest_passengers", "monitoring"}
    raw = results["raw"]
    assert raw["training"]["rows_read"] == 1309 + results["passengers"]  # under the bound
    assert set(raw["peak_rss_gib"]) >= {"views", "runs", "training"}
    json.dumps(results)  # what run.py writes
    with connect(str(tmp_path / "year.duckdb"), read_only=True) as conn:
        days = performance(conn)
    # The measured new hour's day was added by the runs; the two history days were monitored.
    assert len(days) == 3 and (days["n_predictions"].head(2) == 24 * 20).all()
    with connect(str(tmp_path / "year.duckdb")) as conn:
        counts = feature_store_counts(conn)
    assert counts["synthetic_certified"] == counts["synthetic_stored"]
    # Asked again, the kept warehouse is reused, not rebuilt: its marker says what it holds.
    again = year.build_or_reuse(tmp_path, template, per_hour=20, days=2, generated_days=1,
                                reuse=True, log=print)  # fmt: skip
    assert again["reused"] and again["passengers"] == results["passengers"]

    cap = capacity.run(tmp_path, template, [50, 100], [50], log=print)
    assert set(cap["hourly_s"]) == {"50", "100"} and set(cap["daily_s"]) == {"50"}
    assert cap["max_measured_rate_within_budget"] == 100
    assert cap["raw"]["50"]["daily_passengers"] == 24 * 50
    # Extrapolations are labelled and never negative: a rate beyond the runs, or none and why.
    for key in ("hourly_s_at_budget", "hourly_rss_gib_at_machine_memory"):
        line = cap["extrapolation"][key]
        assert (line["rate"] is None and line["why_none"]) or line["rate"] > 100

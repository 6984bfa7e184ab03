"""The benchmark at a tiny N, so it cannot rot: every result key is there, both arms agree, and
the peak-RSS child process really runs.

No timing is asserted (benchmarks are not tests); the figures of a smoke run mean nothing.
"""

import json

import duckdb
import pytest

from benchmarks import run as bench
from benchmarks.scenarios.overhead import compare_outputs

RESULT_KEYS = {
    "overhead_ratio",
    "daemon_overhead_ratio",
    "daemon_overhead_ratio_vs_warm_plain",
    "per_run_fixed_s",
    "per_run_fixed_s_forkserver",  # None in a smoke run: the opt-in profile is not started
    "backfill_48h_s",  # None in a smoke run, as below: no daemon backfill
    "backfill_720h_s",
    "incremental_ratio_features",
    "incremental_ratio_inference",
    "feature_throughput_vs_limit",
    "scoring_throughput_vs_limit",
    "scoring_throughput_vs_floor",
    "shadow_scoring_ratio",
    "peak_rss_gib_1m",
    "codeloc_load_s",
    "import_dagster_s",
    "machine",
}

SMOKE = {
    **bench.QUICK,
    "sizes": [300],
    "reps": {300: 1},
    "launched_reps": {300: 1},
    "per_hour": 200,
    "history_hours": 2,
    "memory_n": 300,  # the real child process (a full Dagster cycle), at a tiny N
    "startup_reps": 1,
    "warmup": False,
}


@pytest.mark.slow
# The launched arm spawns a fresh interpreter per run (Dagster's default launcher): on a busy
# 2-core machine the smoke run took over 400 s.
@pytest.mark.timeout(700)
def test_quick_benchmark_writes_every_key_and_the_arms_agree(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "QUICK", SMOKE)
    output = tmp_path / "latest.json"
    assert (
        bench.main(["--quick", "--scratch", str(tmp_path / "scratch"), "--output", str(output)])
        == 0
    )

    results = json.loads(output.read_text())
    assert set(results) >= RESULT_KEYS
    assert set(results["overhead_ratio"]) == {"300"}
    assert set(results["machine"]) >= {"cores", "memory", "date"}
    comparison = results["raw"]["overhead"]["comparison"]["300"]
    rows = comparison["rows"]
    assert rows["features.synthetic_passengers"] == 300
    assert rows["inference.predictions"] == 300  # the day's passengers, scored once per arm
    assert comparison["max_probability_diff"] <= 1e-6
    # The launched arm (a new process per run, through the instance's run launcher) did the
    # same work as the plain script, run both as its own process and in the warm benchmark
    # process, and its runs paid a measurable start before the first step.
    assert set(results["daemon_overhead_ratio"]) == {"300"}
    assert set(results["daemon_overhead_ratio_vs_warm_plain"]) == {"300"}
    launched = results["raw"]["launched"]
    assert launched["comparison"]["300"]["rows"] == rows
    assert launched["comparison_plain_process"]["300"]["rows"] == rows
    # The plain script as a process was timed from outside: its wall time holds its stages and
    # an interpreter start with imports on top.
    run = launched["runs"]["300"]
    process_stages = run["plain_process_stages_s"]
    assert run["plain_process_s"] == process_stages["total"] > process_stages["stages_total"] > 0
    assert process_stages["process_s"] > 0
    assert results["daemon_overhead_ratio"]["300"] == pytest.approx(
        run["launched_s"] / run["plain_process_s"]
    )
    assert results["daemon_overhead_ratio_vs_warm_plain"]["300"] == pytest.approx(
        run["launched_s"] / run["plain_s"]
    )
    assert results["per_run_fixed_s"] > 0
    shadow = results["raw"]["throughput"]["shadow_scoring_s"]
    assert results["shadow_scoring_ratio"] == pytest.approx(
        shadow["with_one_shadow_s"] / shadow["champion_only_s"]
    )
    assert len(results["raw"]["launched"]["fixed_s_samples"]) == 1
    table = output.with_suffix(".md").read_text()
    assert table.startswith("Benchmarks of")
    assert "plain script run as a process" in table and "warm interpreter" in table

    # The peak-RSS child ran a whole cycle in its own process and its RSS was read.
    memory = results["raw"]["memory"]
    assert memory["rows"] == 300 and memory["cycle_s"] > 0
    assert 0.05 < results["peak_rss_gib_1m"] < 8, results["peak_rss_gib_1m"]

    # The arms' comparison can fail: one altered probability in the plain arm is caught.
    scratch = tmp_path / "scratch"
    dagster_db, plain_db = scratch / "overhead_dagster.duckdb", scratch / "overhead_plain.duckdb"
    assert compare_outputs(str(dagster_db), str(plain_db))["rows"] == rows
    with duckdb.connect(str(plain_db)) as conn:
        conn.execute(
            "UPDATE inference.predictions SET survival_probability = CASE WHEN "
            "survival_probability > 0.5 THEN survival_probability - 0.1 "
            "ELSE survival_probability + 0.1 END "
            "WHERE passenger_id = (SELECT min(passenger_id) FROM inference.predictions)"
        )
    with pytest.raises(AssertionError, match="probabilities differ"):
        compare_outputs(str(dagster_db), str(plain_db))

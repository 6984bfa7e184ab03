"""The benchmark at a tiny N, so it cannot rot: every result key is there, and both arms agree.

No timing is asserted (benchmarks are not tests); the figures of a smoke run mean nothing.
"""

import json

import pytest

from benchmarks import run as bench

RESULT_KEYS = {
    "overhead_ratio",
    "incremental_ratio_features",
    "incremental_ratio_inference",
    "feature_throughput_vs_limit",
    "scoring_throughput_vs_limit",
    "peak_rss_gib_1m",
    "codeloc_load_s",
    "import_dagster_s",
    "machine",
}

SMOKE = {
    **bench.QUICK,
    "sizes": [300],
    "reps": {300: 1},
    "per_hour": 200,
    "history_hours": 2,
    "memory_n": 0,  # no subprocess cycle: the smoke run stays fast
    "startup_reps": 1,
    "warmup": False,
}


@pytest.mark.timeout(120)
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
    assert comparison["predictions_equal"] is True
    assert comparison["max_probability_diff"] <= 1e-6
    assert output.with_suffix(".md").read_text().startswith("Benchmarks of")

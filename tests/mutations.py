"""Deliberate bugs, one at a time: each must make the tests named beside it fail.

Why: a test suite proves a rule only if breaking the rule breaks a test. Each mutation below
replaces one exact snippet of the package (it must occur exactly once), runs the not-slow tests
that should catch it, restores the file and reports ``caught`` (some test failed) or ``MISSED``.
Run from the project root (the file is restored from memory, not from git). Nothing else may
run from the same tree meanwhile; to keep working, run it in an exported copy (its tests import
the copy: PYTHONPATH is set for them):

    .venv/bin/python -m tests.mutations            # every mutation
    .venv/bin/python -m tests.mutations signature  # those whose name contains "signature"
    git archive HEAD | tar -x -C /tmp/copy && cd /tmp/copy && $OLDPWD/.venv/bin/python -m tests.mutations

Exit code 1 if any mutation was missed. docs/mutations.md lists the results of the last run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = (
    Mutation(
        "signature covers only the artifact hash",
        "titanic_assets/data_layer/signing.py",
        "[_SCHEME, str(int(version)), json.dumps(list(features)), artifact_sha256]",
        "[_SCHEME, artifact_sha256]",
        ("tests/data_layer/test_registry.py", "tests/reliability/test_tampering.py"),
    ),
    Mutation(
        "signature omits the version number",
        "titanic_assets/data_layer/signing.py",
        "[_SCHEME, str(int(version)), json.dumps(list(features)), artifact_sha256]",
        "[_SCHEME, json.dumps(list(features)), artifact_sha256]",
        ("tests/data_layer/test_registry.py", "tests/reliability/test_tampering.py"),
    ),
    Mutation(
        "signature omits the feature list",
        "titanic_assets/data_layer/signing.py",
        "[_SCHEME, str(int(version)), json.dumps(list(features)), artifact_sha256]",
        "[_SCHEME, str(int(version)), artifact_sha256]",
        ("tests/data_layer/test_registry.py", "tests/reliability/test_tampering.py"),
    ),
    Mutation(
        "promotion: the holdout-guard branch never fires",
        "titanic_assets/core/promotion.py",
        "if holdout.challenger_accuracy >= holdout.champion_accuracy - p.holdout_tolerance:",
        "if False:",
        ("tests/core/test_promotion.py",),
    ),
    Mutation(
        "promotion: the regime-change branch never fires",
        "titanic_assets/core/promotion.py",
        "if recent.champion_accuracy < holdout.champion_accuracy - p.degradation_margin:",
        "if False:",
        ("tests/core/test_promotion.py",),
    ),
    Mutation(
        "promotion: 'worse on recent' never fires",
        "titanic_assets/core/promotion.py",
        "recent.n >= p.min_recent_rows and recent.z <= -p.z:",
        "recent.n >= p.min_recent_rows and recent.z <= -p.z and False:",
        ("tests/core/test_promotion.py",),
    ),
    Mutation(
        "promotion: holdout fallback needs no significance",
        "titanic_assets/core/promotion.py",
        "if holdout.z >= p.z:",
        "if holdout.z > 0:",
        ("tests/core/test_promotion.py",),
    ),
    Mutation(
        "promotion: z must exceed (not reach) the threshold",
        "titanic_assets/core/promotion.py",
        "recent.n >= p.min_recent_rows and recent.z >= p.z:",
        "recent.n >= p.min_recent_rows and recent.z > p.z:",
        ("tests/core/test_promotion.py",),
    ),
    Mutation(
        "promotion: min_recent_rows off by one",
        "titanic_assets/core/promotion.py",
        "recent.n >= p.min_recent_rows and recent.z >= p.z:",
        "recent.n > p.min_recent_rows and recent.z >= p.z:",
        ("tests/core/test_promotion.py",),
    ),
    Mutation(
        "promotion: the guard's tolerance is strict",
        "titanic_assets/core/promotion.py",
        "holdout.challenger_accuracy >= holdout.champion_accuracy - p.holdout_tolerance",
        "holdout.challenger_accuracy > holdout.champion_accuracy - p.holdout_tolerance",
        ("tests/core/test_promotion.py",),
    ),
    Mutation(
        "promotion: degradation at (not beyond) the margin",
        "titanic_assets/core/promotion.py",
        "recent.champion_accuracy < holdout.champion_accuracy - p.degradation_margin",
        "recent.champion_accuracy <= holdout.champion_accuracy - p.degradation_margin",
        ("tests/core/test_promotion.py",),
    ),
    Mutation(
        "promotion: an unloadable champion is replaced",
        "titanic_assets/core/promotion.py",
        '        return Decision(\n            False,\n            f"v{challenger} registered',
        '        return Decision(\n            True,\n            f"v{challenger} registered',
        ("tests/core/test_promotion.py",),
    ),
    Mutation(
        "metrics: false positives and false negatives swapped",
        "titanic_assets/core/metrics.py",
        "tn, fp, fn, tp = (int(v)",
        "tn, fn, fp, tp = (int(v)",
        ("tests/core/test_metrics.py", "tests/core/test_monitoring.py"),
    ),
    Mutation(
        "metrics: precision and recall swapped",
        "titanic_assets/core/metrics.py",
        "precision, recall, f1, _ = precision_recall_fscore_support(",
        "recall, precision, f1, _ = precision_recall_fscore_support(",
        ("tests/core/test_metrics.py", "tests/core/test_monitoring.py"),
    ),
    Mutation(
        "training set: no point-in-time cutoff",
        "titanic_assets/data_layer/training_store.py",
        "WHERE event_time <= ? AND",
        "WHERE (event_time <= ? OR true) AND",
        ("tests/training_pipeline", "tests/data_layer"),
    ),
    Mutation(
        "training set: the cutoff excludes its own instant",
        "titanic_assets/data_layer/training_store.py",
        "WHERE event_time <= ? AND",
        "WHERE event_time < ? AND",
        ("tests/training_pipeline", "tests/data_layer"),
    ),
    Mutation(
        "feature store view: failed batches certified too",
        "titanic_assets/data_layer/feature_store.py",
        "AND q.suite = '{BLOCKING_SUITE}' AND q.passed",
        "AND q.suite = '{BLOCKING_SUITE}'",
        ("tests/data_layer", "tests/feature_pipeline", "tests/inference_pipeline"),
    ),
    Mutation(
        "champion compare-and-set: the generation is not checked",
        "titanic_assets/data_layer/registry.py",
        "changed = _set_champion(conn, version, expected_generation=generation)",
        "changed = _set_champion(conn, version)",
        ("tests/data_layer/test_registry.py", "tests/training_pipeline"),
    ),
    Mutation(
        "generator: learns from holdout passengers too",
        "titanic_assets/core/generator.py",
        'return passengers[~holdout_mask(passengers["passenger_id"])]',
        "return passengers",
        ("tests/core",),
    ),
    Mutation(
        "holdout mask: the complement (80 % held out)",
        "titanic_assets/core/model.py",
        "return (hashes / float(2**64)) < fraction",
        "return (hashes / float(2**64)) >= fraction",
        ("tests/core", "tests/training_pipeline"),
    ),
    Mutation(
        "features: family size without the passenger",
        "titanic_assets/core/features.py",
        "family_size = sibsp + parch + 1.0",
        "family_size = sibsp + parch",
        ("tests/core", "tests/feature_pipeline"),
    ),
    Mutation(
        "features: is_female encodes male",
        "titanic_assets/core/features.py",
        '_equals(passengers["sex"], "female")',
        '_equals(passengers["sex"], "male")',
        ("tests/core", "tests/feature_pipeline"),
    ),
    Mutation(
        "batch id: another format than the generator stamps",
        "titanic_assets/feature_pipeline/assets.py",
        "    return hour.strftime(names.HOUR_BATCH_FORMAT)",
        '    return hour.strftime("%Y-%m-%dT%H:00")',
        ("tests/feature_pipeline", "tests/data_layer"),
    ),
    Mutation(
        "monitoring: the accuracy floor inverted",
        "titanic_assets/core/monitoring.py",
        "    if accuracy < t.accuracy_floor:",
        "    if accuracy > t.accuracy_floor:",
        ("tests/core", "tests/inference_pipeline"),
    ),
    Mutation(
        "drift: PSI without the log-ratio weight",
        "titanic_assets/core/drift.py",
        "return float(np.sum((a - e) * np.log(a / e)))",
        "return float(np.sum(np.abs(a - e)))",
        ("tests/core",),
    ),
    Mutation(
        "batch scoring: the day's window includes the next midnight",
        "titanic_assets/data_layer/batch_scoring.py",
        '"WHERE event_time >= ? AND event_time < ?",',
        '"WHERE event_time >= ? AND event_time <= ?",',
        ("tests/data_layer", "tests/inference_pipeline"),
    ),
    Mutation(
        "monitoring: accuracy judged on one label fewer than the minimum",
        "titanic_assets/core/monitoring.py",
        "n < t.min_labelled or math.isnan(accuracy)",
        "n < t.min_labelled - 1 or math.isnan(accuracy)",
        ("tests/core", "tests/inference_pipeline"),
    ),
    Mutation(
        "drift: PSI at the ceiling counts as drift",
        "titanic_assets/core/monitoring.py",
        "max_psi <= t.psi_ceiling:",
        "max_psi < t.psi_ceiling:",
        ("tests/core", "tests/inference_pipeline"),
    ),
    Mutation(
        "holdout mask: the seed is ignored",
        "titanic_assets/core/model.py",
        'prefix = f"{seed}:".encode()',
        'prefix = b"0:"',
        ("tests/core", "tests/training_pipeline"),
    ),
    Mutation(
        "recent set: the evaluation window is a day too wide",
        "titanic_assets/core/training_set.py",
        'since = pd.Timestamp(frame["event_time"].max()) - timedelta(hours=hours)',
        'since = pd.Timestamp(frame["event_time"].max()) - timedelta(hours=hours + 24)',
        ("tests/core", "tests/training_pipeline"),
    ),
)


def run(mutation: Mutation) -> tuple[bool, float, str]:
    """Apply one mutation, run its tests, restore the file; (caught, seconds, last line)."""
    path = ROOT / mutation.path
    original = path.read_text()
    count = original.count(mutation.old)
    if count != 1:
        raise SystemExit(f"{mutation.name}: snippet found {count} times in {mutation.path}")
    path.write_text(original.replace(mutation.old, mutation.new))
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
             "-m", "not slow", *mutation.tests],
            cwd=ROOT, capture_output=True, text=True, check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},  # subprocesses import this tree too
        )  # fmt: skip
    finally:
        path.write_text(original)
    lines = result.stdout.strip().splitlines()
    failed = [line for line in lines if line.startswith("FAILED")]
    return result.returncode != 0, time.monotonic() - started, (failed or lines or [""])[-1]


def main(argv: list[str]) -> int:
    chosen = [m for m in MUTATIONS if not argv or any(a in m.name for a in argv)]
    missed = 0
    for mutation in chosen:
        caught, seconds, line = run(mutation)
        missed += not caught
        print(f"{'caught' if caught else 'MISSED'}  {seconds:5.0f} s  {mutation.name}: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

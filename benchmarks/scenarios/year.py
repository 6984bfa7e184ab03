"""Scenario 7: a year of hourly history on one machine (``year_history`` in the results).

A warehouse holding ``days`` days (365 in ``make bench``) of ``per_hour`` synthetic passengers an
hour (10,000: ~88M passengers) is built in week-sized chunks through the library's own functions,
not 8,760 Dagster runs: the generator (``synthetic_hours``), ``build_features``, both GX suites
run in DuckDB over each week's rows (their verdict recorded for each of its hourly batches),
batch scoring (``score_day``, over the week) with the champion and each day's monitoring
rows (``monitor_scored``), written through :mod:`titanic_assets.data_layer.history_load`. Then, against
a fresh warehouse (the historical list and the same champion, no history):

* each app view (prediction, latest passengers, monitoring: a new reader each time, so the
  snapshot read is included) and ``titanic lineage`` of a passenger of the last day, as the
  command a user types (a new process) and as its warehouse read in process;
* the hourly feature run and the daily inference + monitoring run (Dagster, in process) for a
  new hour after the year, alternating warehouses, ``reps`` times: year / fresh;
* the training pipeline on the year (the project's default model settings; what it reads is
  bounded by ``core.training_set.MAX_TRAINING_ROWS``), and the holdout accuracy of that
  rule against other bounds, scored on one fixed set (the last day's holdout passengers);
* the warehouse's size on disk, and the peak RSS of every step.

Every step runs in a process of its own (``python -m benchmarks.scenarios.year --phase ...``),
which reports its own peak RSS (``VmHWM``). The built year is kept in scratch with a marker of
its settings; ``--reuse-year`` (``benchmarks.run``) measures it again without rebuilding.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.common import ROOT, SEED, copy_warehouse, json_child, median, spread
from titanic_assets import names

#: The history ends where the pipelines' partitions begin; the measured new hour is the first
#: day's noon, a valid hourly partition on a day of its own.
END = datetime.fromisoformat(names.PARTITIONS_START)
NEW_HOUR = END + timedelta(hours=12)
#: The champion of both warehouses is trained on the historical list only (before any history).
CHAMPION_CUTOFF = "1913-01-01T00:00:00"
#: Days generated, checked, scored and monitored per chunk: big enough that the fixed costs of
#: a GX validation and a scoring call are paid 53 times a year, not 365, small enough that a
#: chunk's frames stay well under a GiB at 10,000 passengers an hour.
CHUNK_DAYS = 7
#: Days generated through the library; the rest of the year copies them, shifted in time with
#: new ids (``history_load.replicate_history``): generating all 365 days takes ~6 min on a quiet
#: 2-core machine and over an hour on a busy one, and copies hold the same passengers, features,
#: scores and verdicts at other times, which is what the measurements need.
GENERATED_DAYS = 28
#: Bounds of the training-set rule compared for holdout accuracy (the default among them).
SAMPLE_BOUNDS = (20_000, 100_000, 500_000)
#: A passenger of the form, scored by the prediction view.
FORM = {"pclass": 1, "sex": "female", "age": 29, "fare": 80, "embarked": "S"}


def history_start(days: int) -> datetime:
    """The first hour of ``days`` days of history ending at :data:`END`."""
    return END - timedelta(days=days)


# --- phases (each in its own process) -----------------------------------------------------------


def build(
    template: Path, target: Path, per_hour: int, days: int, generated_days: int, log=print
) -> dict:
    """The champion, then ``days`` days of history: the first ``generated_days`` a week per
    chunk through the library, the rest copies of them (see the module docstring)."""
    import pandas as pd

    from benchmarks import plain
    from titanic_assets.core import monitoring
    from titanic_assets.core.backfill import synthetic_hours
    from titanic_assets.core.features import build_features
    from titanic_assets.data_layer import history_load, registry
    from titanic_assets.data_layer.batch_scoring import score_day
    from titanic_assets.data_layer.feature_store import read_table
    from titanic_assets.data_layer.validation import validate_batch_in_warehouse
    from titanic_assets.data_layer.warehouse import connect

    started = time.perf_counter()
    copy_warehouse(template, target)
    db = str(target)
    plain.training_run(db, cutoff=CHAMPION_CUTOFF)
    run_id = f"year-{uuid.uuid4().hex[:12]}"
    asset = "/".join(names.SYNTHETIC_FEATURES)
    with connect(db) as conn:
        historical = read_table(conn, names.HISTORICAL_PASSENGERS_TABLE)
        version, model = registry.load_champion(conn)
        champion_version = int(version.version)
        profiles = {int(version.version): version.training_profile}
        first = history_start(days)
        generated_end = first + timedelta(days=min(days, generated_days))
        for offset in range(0, min(days, generated_days), CHUNK_DAYS):
            start = first + timedelta(days=offset)
            end = min(start + timedelta(days=CHUNK_DAYS), generated_end)
            hours = [start + timedelta(hours=h) for h in range((end - start) // timedelta(hours=1))]
            frames, _ = synthetic_hours(historical, hours, per_hour, seed=SEED)
            passengers = pd.concat(frames, ignore_index=True)
            del frames
            features = build_features(passengers)
            history_load.append_synthetic_hours(conn, passengers, features)
            del passengers
            results = validate_batch_in_warehouse(
                conn, history_load.synthetic_window_sql(start, end)
            )
            counts = features["batch_id"].value_counts().to_dict()
            del features
            history_load.record_window_verdicts(
                conn, batch_rows=counts, asset=asset, results=results, run_id=run_id
            )
            scored = score_day(conn, start, end, model=model, version=version, run_id=run_id).scored
            # Monitoring rows are per day: each day's drift against its own passengers.
            days_of = pd.to_datetime(scored["event_time"]).dt.floor("D")
            performance = pd.concat(
                [monitoring.monitor_scored(part, profiles) for _, part in scored.groupby(days_of)],
                ignore_index=True,
            )
            del scored
            history_load.replace_window(
                conn, names.PERFORMANCE_TABLE, performance, "day", start, end
            )
            done = (end - first).days
            if done % 28 == 0 or end == generated_end:
                log(f"  year: {done}/{days} days generated, {time.perf_counter() - started:.0f} s")
    if days:
        extend(target, days, log)
    with connect(db) as conn:
        conn.execute("CHECKPOINT")
    return {
        "passengers": _passengers(target),
        "build_s": time.perf_counter() - started,
        "champion_version": champion_version,
    }


def extend(target: Path, days: int, log=print) -> None:
    """Fill the history up to :data:`END` with copies of what was generated (an interrupted
    build's unfinished chunk is dropped first)."""
    from titanic_assets.data_layer import history_load
    from titanic_assets.data_layer.warehouse import connect

    started = time.perf_counter()
    with connect(str(target)) as conn:
        end = history_load.history_end(conn, END)
        if end is None:
            raise RuntimeError(f"{target} holds no generated history to copy")
        history_load.truncate_history(conn, end)
        history_load.replicate_history(conn, history_start(days), end, END)
    log(f"  year: {(END - end).days} days copied from {(end - history_start(days)).days} "
        f"generated, {time.perf_counter() - started:.0f} s")  # fmt: skip


def views(warehouse: str, passenger_id: str) -> dict:
    """Seconds of each app view with a new reader (so its snapshot read counts), and of the
    lineage read, each the median of 3 (the first one, with a cold file cache, kept apart)."""
    from titanic_assets.apps import data
    from titanic_assets.data_layer.lineage import passenger_lineage
    from titanic_assets.data_layer.warehouse import connect

    def prediction():
        data.predict(data.WarehouseReader(warehouse), **FORM)

    def latest():
        data.latest(data.WarehouseReader(warehouse).view().snapshot)

    def monitoring():
        data.monitoring(data.WarehouseReader(warehouse).view().snapshot)

    def lineage():
        with connect(warehouse, read_only=True) as conn:
            record = passenger_lineage(conn, passenger_id)
        if not record["predictions"]:
            raise RuntimeError(f"{passenger_id} has no prediction in {warehouse}")

    out: dict = {"app_view_s": {}, "first_s": {}}
    for name, step in (
        ("prediction", prediction),
        ("latest_passengers", latest),
        ("monitoring", monitoring),
        ("lineage", lineage),
    ):
        samples = []
        for _ in range(4):
            started = time.perf_counter()
            step()
            samples.append(time.perf_counter() - started)
        out["first_s"][name] = samples[0]
        if name == "lineage":
            out["lineage_read_s"] = median(samples[1:])
        else:
            out["app_view_s"][name] = median(samples[1:])
    return out


def runs(fresh: str, year: str, per_hour: int, reps: int, log=print) -> dict:
    """The hourly feature run and the daily inference + monitoring run, year vs fresh."""
    from benchmarks.dagster_arm import DagsterArm, hour_key

    hour = NEW_HOUR
    arms = {"fresh": DagsterArm(fresh), "year": DagsterArm(year)}
    samples = {name: {"features": [], "inference": []} for name in arms}
    for rep in range(reps):
        for name in ("fresh", "year") if rep % 2 == 0 else ("year", "fresh"):
            if rep == 0:  # untimed: lazy imports (GX, XGBoost) and caches, in both arms alike
                arms[name].feature_run(per_hour, hour_key(hour))
                arms[name].inference_run(hour.strftime("%Y-%m-%d"))
            f = arms[name].feature_run(per_hour, hour_key(hour))
            i, _ = arms[name].inference_run(hour.strftime("%Y-%m-%d"))
            samples[name]["features"].append(f)
            samples[name]["inference"].append(i)
            log(f"  year {name:<5} rep {rep + 1}/{reps}: features {f:5.2f} s, inference {i:5.2f} s")
    med = {n: {k: median(v) for k, v in s.items()} for n, s in samples.items()}
    return {
        "hourly_feature_ratio": med["year"]["features"] / med["fresh"]["features"],
        "daily_inference_ratio": med["year"]["inference"] / med["fresh"]["inference"],
        "median_s": med,
        "spread": {n: {k: spread(v) for k, v in s.items()} for n, s in samples.items()},
        "reps": reps,
        "new_hour": hour.isoformat(),
    }


def training(year: str) -> dict:
    """The training pipeline on the year, with the project's default model settings."""
    from benchmarks.dagster_arm import DagsterArm
    from titanic_assets.core.training_set import MAX_TRAINING_ROWS
    from titanic_assets.data_layer import registry
    from titanic_assets.data_layer.warehouse import connect

    cutoff = (END - timedelta(microseconds=1)).isoformat()
    arm = DagsterArm(year)
    seconds = arm.training_run(cutoff, model={})
    with connect(year, read_only=True) as conn:
        latest = registry.list_versions(conn).sort_values("version").iloc[-1]
        window = registry.get_version(conn, int(latest["version"])).training_window
    return {
        "training_s": seconds,
        "max_training_rows": MAX_TRAINING_ROWS,
        # What the run read (train + holdout + rows before a regime window), and trained on.
        "rows_read": sum(int(window[k]) for k in ("train_rows", "holdout_rows", "excluded_rows")),
        "training_rows": int(latest["training_rows"]),
        "holdout_accuracy": float(latest["accuracy"]),
        "cutoff": cutoff,
    }


def sample_accuracy(year: str, end: datetime = END, bounds=SAMPLE_BOUNDS) -> dict:
    """Holdout accuracy of the default model trained on the rows each bound reads, all scored
    on one fixed set: every holdout passenger of the last day before ``end``."""
    import numpy as np

    from titanic_assets.core.model import TrainingParams, holdout_mask, train_model
    from titanic_assets.core.predict import predicted_outcomes, score_features
    from titanic_assets.core.training_set import HOLDOUT, assign_splits
    from titanic_assets.data_layer.feature_store import read_day_features
    from titanic_assets.data_layer.training_store import read_training_rows
    from titanic_assets.data_layer.warehouse import connect

    last_day = end - timedelta(days=1)
    cutoff = last_day - timedelta(microseconds=1)  # training reads the days before it
    params = TrainingParams()
    with connect(year, read_only=True) as conn:
        test = read_day_features(conn, last_day, last_day + timedelta(days=1))
    test = test[holdout_mask(test["passenger_id"])]
    out = {"test_rows": len(test), "bounds": {}}
    for bound in bounds:
        started = time.perf_counter()
        with connect(year, read_only=True) as conn:
            frame = read_training_rows(conn, cutoff, bound)
        fraction = frame.attrs["sample_fraction"]
        frame = assign_splits(frame)
        train = frame[frame["split"] != HOLDOUT]
        read_s = time.perf_counter() - started
        model = train_model(train, params)
        fit_s = time.perf_counter() - started - read_s
        probabilities = score_features(model, test, list(params.feature_columns))
        accuracy = float(np.mean(predicted_outcomes(probabilities) == test["survived"]))
        out["bounds"][str(bound)] = {
            "rows_read": len(frame),
            "train_rows": len(train),
            "sample_fraction": fraction,
            "holdout_accuracy": accuracy,
            "read_s": read_s,
            "fit_s": fit_s,
        }
    return out


def warehouse_size(path: str) -> dict:
    from titanic_assets.data_layer.history_load import warehouse_bytes
    from titanic_assets.data_layer.warehouse import connect

    with connect(path, read_only=True) as conn:
        used = warehouse_bytes(conn)
    return {"file_bytes": os.path.getsize(path), "used_bytes": used}


# --- the parent: builds (or reuses) the year, runs every phase in a child --------------------


def _child(phase: str, log=print, **options) -> dict:
    command = [sys.executable, "-m", "benchmarks.scenarios.year", "--phase", phase]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    return json_child(command, log)


def _instance(home: Path) -> None:
    """``home`` as DAGSTER_HOME with the project's current dagster.yaml, never wiped: it holds
    the key the year's models are signed with, so it lives as long as the year."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home.resolve())


def _marker(path: Path) -> Path:
    return path.with_suffix(".json")


def _asked(per_hour: int, days: int) -> dict:
    """What a year warehouse holds, as its marker records it: a kept one is reused only if equal."""
    return {"per_hour": per_hour, "days": days, "end": END.isoformat()}


def build_or_reuse(
    scratch: Path,
    template: Path,
    per_hour: int,
    days: int,
    *,
    generated_days: int = GENERATED_DAYS,
    reuse: bool = False,
    log=print,
) -> dict:
    """The year warehouse in ``scratch``: the kept one when ``reuse`` and its marker says it holds
    what is asked (finishing a build that was cut short), else a new build (setup, not measured)."""
    year, home = scratch / "year.duckdb", scratch / "year_dagster_home"

    def child(phase: str, **options) -> dict:
        return _child(phase, log, home=home, **options)

    wanted = _asked(per_hour, days)
    generated = {"generated_days": min(days, generated_days)}
    built = None
    if reuse and year.exists() and _marker(year).exists():
        kept = json.loads(_marker(year).read_text())
        if {k: kept.get(k) for k in wanted} == wanted:
            if _history_end(year) < END:  # a build cut short: copy the rest (resumable)
                child("extend", warehouse=year, days=days)
                kept["passengers"] = _passengers(year)
                _marker(year).write_text(json.dumps(kept))
            built = {**kept, "reused": True}
            log(f"  year: reusing {year} ({kept['passengers']:,} passengers)")
    if built is None:
        _marker(year).unlink(missing_ok=True)
        shutil.rmtree(home, ignore_errors=True)  # a new year, a new instance and signing key
        log(f"  year: building {days} days of {per_hour:,} passengers an hour")
        built = child("build", template=template, warehouse=year, per_hour=per_hour,
                       days=days, generated_days=generated_days)  # fmt: skip
        built.update(generated)
        _marker(year).write_text(json.dumps({**wanted, **built}))
    return built


def run(
    scratch: Path,
    template: Path,
    per_hour: int,
    days: int,
    reps: int,
    *,
    generated_days: int = GENERATED_DAYS,
    reuse: bool = False,
    log=print,
) -> dict:
    """Scenario 7; returns the ``year_history`` results (figures) with its raw measurements."""
    year, fresh = scratch / "year.duckdb", scratch / "year_fresh.duckdb"
    home = scratch / "year_dagster_home"

    def child(phase: str, **options) -> dict:
        return _child(phase, log, home=home, **options)

    built = build_or_reuse(scratch, template, per_hour, days, generated_days=generated_days,
                           reuse=reuse, log=log)  # fmt: skip
    # The year is measured with the champion it was built with (the fresh warehouse's, trained
    # the same way) and no other version, not with what earlier measured training runs
    # registered on a kept year (newer versions would be scored as shadows every daily run).
    _restore_registry(year, built.get("champion_version", 1), log)
    size = warehouse_size(str(year))
    # The fresh warehouse: the historical list and the same champion, trained the same way.
    fresh_built = child("build", template=template, warehouse=fresh, per_hour=per_hour,
                         days=0)  # fmt: skip
    # END, unless the copies were cut short (the measured day at END is not history)
    end = _history_end(year)
    passenger = f"syn-{end - timedelta(hours=1):%Y%m%d%H}-000001"
    view = child("views", warehouse=year, passenger=passenger)
    lineage_cli = _lineage_cli(year, home, passenger)
    ran = child("runs", fresh=fresh, warehouse=year, per_hour=per_hour, reps=reps)
    sample = child("sample_accuracy", warehouse=year, end=end.isoformat())
    trained = child("training", warehouse=year)
    rss = {
        "build": built.get("peak_rss_kib"),
        "views": view["peak_rss_kib"],
        "runs": ran["peak_rss_kib"],
        "training": trained["peak_rss_kib"],
        "sample_accuracy": sample["peak_rss_kib"],
    }
    rss_gib = {k: v / 2**20 for k, v in rss.items() if v is not None}
    gib = size["file_bytes"] / 2**30
    return {
        "passengers": built["passengers"],
        "app_view_s": view["app_view_s"],
        "lineage_s": lineage_cli["wall_s"],
        "hourly_feature_ratio": ran["hourly_feature_ratio"],
        "daily_inference_ratio": ran["daily_inference_ratio"],
        "training_s": trained["training_s"],
        "warehouse_gib": gib,
        # The steps a user runs on the year (views, runs, training); the build is setup.
        "peak_rss_gib": max(rss_gib[k] for k in ("views", "runs", "training")),
        "raw": {
            "settings": {
                "per_hour": per_hour,
                "days": days,
                "end": END.isoformat(),
                "reps": reps,
                "history_end": end.isoformat(),
            },
            "build": built,
            "fresh_build": fresh_built,
            "size": size,
            "bytes_per_passenger": size["file_bytes"] / max(built["passengers"], 1),
            "views": view,
            "lineage_cli": lineage_cli,
            "runs": ran,
            "training": trained,
            "sample_accuracy": sample,
            "peak_rss_gib": rss_gib,
        },
    }


def _history_end(path: Path) -> datetime:
    from titanic_assets.data_layer.history_load import history_end
    from titanic_assets.data_layer.warehouse import connect

    with connect(str(path), read_only=True) as conn:
        return history_end(conn, END)


def _restore_registry(path: Path, version: int, log) -> None:
    """The kept year's registry as built: its champion, no version trained since (see
    ``registry.discard_versions_after``)."""
    from titanic_assets.data_layer import registry
    from titanic_assets.data_layer.warehouse import connect

    with connect(str(path)) as conn:
        dropped = registry.discard_versions_after(
            conn, version, "year benchmark: measured with the build's champion"
        )
    if dropped:
        log(f"  year: registry as built (v{version}; dropped {dropped}, earlier measured runs)")


def _passengers(path: Path) -> int:
    """Synthetic passengers of the history (before :data:`END`: not the measured hour's)."""
    from titanic_assets.data_layer.history_load import passengers_before
    from titanic_assets.data_layer.warehouse import connect

    with connect(str(path), read_only=True) as conn:
        return passengers_before(conn, END)


def _lineage_cli(warehouse: Path, home: Path, passenger_id: str, reps: int = 3) -> dict:
    """``titanic lineage ID`` as a user types it: a new process, imports and all (median)."""
    titanic = Path(sys.executable).with_name("titanic")
    env = {**os.environ, "TITANIC_DUCKDB": str(warehouse), "DAGSTER_HOME": str(home.resolve())}
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        done = subprocess.run([str(titanic), "lineage", passenger_id], env=env,
                              capture_output=True, text=True)  # fmt: skip
        samples.append(time.perf_counter() - started)
        if done.returncode != 0 or passenger_id not in done.stdout:
            raise RuntimeError(f"titanic lineage {passenger_id} failed: {done.stderr[-500:]}")
    return {"wall_s": median(samples), "samples_s": samples}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", required=True,
                        choices=("build", "extend", "views", "runs", "training", "sample_accuracy"))  # fmt: skip
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--home", required=True, help="DAGSTER_HOME (holds the signing key)")
    parser.add_argument("--template")
    parser.add_argument("--fresh")
    parser.add_argument("--passenger")
    parser.add_argument("--end", default=END.isoformat(), help="where the history ends")
    parser.add_argument("--per-hour", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--generated-days", type=int, default=GENERATED_DAYS)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    from benchmarks.child import own_peak_rss_kib
    from benchmarks.run import quiet

    quiet()
    warehouse = Path(args.warehouse)
    _instance(Path(args.home))

    def log(message: str) -> None:
        print(message, flush=True)

    if args.phase == "build":
        out = build(
            Path(args.template), warehouse, args.per_hour, args.days, args.generated_days, log
        )
    elif args.phase == "extend":
        extend(warehouse, args.days, log)
        out = {}
    elif args.phase == "views":
        out = views(str(warehouse), args.passenger)
    elif args.phase == "runs":
        out = runs(args.fresh, str(warehouse), args.per_hour, args.reps, log)
    elif args.phase == "training":
        out = training(str(warehouse))
    else:
        out = sample_accuracy(str(warehouse), datetime.fromisoformat(args.end))
    print(json.dumps({**out, "peak_rss_kib": own_peak_rss_kib()}, default=float), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

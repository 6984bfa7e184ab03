"""`make demo`: the whole system, headless, in a fresh local instance, in well under two minutes.

Backfill -> 24 hourly synthetic partitions of one day (features and GX checks each hour) ->
training and registration -> batch inference for that day -> monitoring, then a summary. The
runs go into the real instance at $DAGSTER_HOME, so `make dev` afterwards shows every run,
materialization, check result and plot of the demo in the UI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

WIPED_INSTANCE_PARTS = (
    "history",
    "storage",
    "schedules",
    "logs",
    ".logs_queue",
    ".nux",
    ".telemetry",
)


def fresh_state(dagster_home: Path, warehouse: Path) -> None:
    """Start from nothing: no runs, no warehouse. The instance's dagster.yaml is kept."""
    for part in WIPED_INSTANCE_PARTS:
        target = dagster_home / part
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for suffix in ("", ".wal"):
        Path(f"{warehouse}{suffix}").unlink(missing_ok=True)
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        shutil.copy(Path(__file__).resolve().parents[1] / "dagster.yaml", config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", help="UTC day to simulate (YYYY-MM-DD); default: yesterday")
    parser.add_argument("--passengers-per-hour", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="do not wipe instance and warehouse")
    args = parser.parse_args(argv)

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from titanic_assets.data_layer.warehouse import warehouse_path

    dagster_home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve())))
    warehouse = Path(warehouse_path())
    day = (
        datetime.strptime(args.day, "%Y-%m-%d")
        if args.day
        else (datetime.now(UTC) - timedelta(days=1)).replace(tzinfo=None)
    ).replace(hour=0, minute=0, second=0, microsecond=0)
    if not args.keep:
        fresh_state(dagster_home, warehouse)

    import dagster as dg

    from titanic_assets.definitions import build_definitions

    started = time.perf_counter()
    defs = build_definitions(str(warehouse))
    instance = dg.DagsterInstance.get()
    print(f"instance  {dagster_home}\nwarehouse {warehouse}\nday       {day:%Y-%m-%d}\n")

    def run(job: str, **kwargs) -> None:
        t0 = time.perf_counter()
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance, raise_on_error=False, **kwargs
        )
        tags = kwargs.get("tags", {})
        scope = kwargs.get("partition_key") or "...".join(
            tags[f"dagster/asset_partition_range_{end}"] for end in ("start", "end") if tags
        )
        label = f"{job} {scope}".strip()
        if not result.success:
            failure = result.get_step_failure_events()
            reason = failure[0].step_failure_data.error.message if failure else "see the run"
            raise SystemExit(f"demo: {label} failed: {reason.strip()}")
        print(f"  ok  {label:<40} {time.perf_counter() - t0:5.1f} s")

    run("historical_backfill")
    synthetic = {
        "ops": {
            "features__synthetic_passengers": {
                "config": {"passengers_per_hour": args.passengers_per_hour}
            }
        }
    }
    # The day's 24 hours in one run, as a backfill runs them (the hourly assets' backfill
    # policy): each hour is still its own partition, with its own rows and check verdicts.
    first, last = (f"{day:%Y-%m-%d}-{h:02d}:00" for h in (0, 23))
    run(
        "feature_pipeline",
        run_config=synthetic,
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
    )
    # Train on what was known before the day, then score the day: the monitoring accuracy is
    # then an honest out-of-sample figure, not a score on the model's own training rows.
    run(
        "training_pipeline",
        run_config={"ops": {"models__training_data": {"config": {"cutoff": day.isoformat()}}}},
    )
    run("inference_pipeline", partition_key=day.strftime("%Y-%m-%d"))
    elapsed = time.perf_counter() - started

    print_summary(str(warehouse), day)
    print(f"\nfull cycle in {elapsed:.1f} s")
    print(
        "\nNext: `make dev`, open http://127.0.0.1:3000 -> Assets -> Global asset lineage for "
        "the three groups;\n  features/passenger_features (check results), "
        "models/model_versions (metrics, confusion matrix),\n  monitoring/model_performance "
        "(accuracy, drift plots). Trace one prediction: `titanic lineage <passenger_id>`."
    )
    return 0


def print_summary(warehouse: str, day: datetime) -> None:
    from titanic_assets.data_layer.warehouse import connect

    with connect(warehouse, read_only=True) as conn:
        print("\nrows per table")
        for table in (
            "features.raw_historical_passengers",
            "features.synthetic_passengers",
            "features.passenger_features",
            "models.model_versions",
            "inference.predictions",
            "monitoring.model_performance",
        ):
            n = conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            print(f"  {table:<38} {n:>6}")
        champion = conn.execute(
            "SELECT version, accuracy, f1, roc_auc, training_rows, training_cutoff "
            "FROM models.model_versions WHERE is_champion"
        ).fetchall()
        if champion:
            v, acc, f1, auc, rows, cutoff = champion[0]
            print(
                f"\nchampion  v{v}: holdout accuracy {acc:.3f}, F1 {f1:.3f}, ROC AUC {auc:.3f} "
                f"(trained on {rows} rows up to {cutoff})"
            )
        perf = conn.execute(
            "SELECT * FROM monitoring.model_performance ORDER BY model_version DESC LIMIT 1"
        ).df()
        if not perf.empty:
            row = perf.iloc[0]
            print(
                f"inference {day:%Y-%m-%d}: {int(row['n_predictions'])} predictions by "
                f"v{int(row['model_version'])}, {int(row['n_labelled'])} labelled, "
                f"accuracy {row['accuracy']:.3f}"
            )
            drift_columns = [
                c
                for c in perf.select_dtypes("number").columns
                if "psi" in c.lower() or "shift" in c
            ]
            drift = ", ".join(f"{c} {row[c]:.3f}" for c in drift_columns if row[c] == row[c])
            print(f"drift     {drift or 'n/a'}")


if __name__ == "__main__":
    raise SystemExit(main())

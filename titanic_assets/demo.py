"""`make demo`: the whole system, headless, in an instance and a warehouse of its own.

Backfill -> 24 hourly synthetic partitions of one day (features and GX checks each hour) ->
training and registration -> batch inference for that day -> monitoring, then a summary.

Where it works: ``$DAGSTER_HOME`` and ``$TITANIC_DUCKDB`` when they are set, else
``data/demo/dagster_home`` and ``data/demo/warehouse.duckdb`` (``make demo`` passes those unless
the shell sets the variables), never the instance and warehouse ``make dev`` uses by default.
Point ``make dev`` / ``make app`` at the demo's to browse every run, check result and plot of it
(the closing lines print the command).

What it deletes: a demo starts from nothing, but it only ever deletes what a demo created. It
tags its runs and, when it finishes, writes a marker beside the warehouse recording each table
and its row count. Before starting over it checks that the instance holds no run the demo did not
launch and that the warehouse holds nothing the marker does not account for (no other table, no
row added since); otherwise it refuses, says what would be lost, and names the ways on:
``--keep`` (add to the existing data, delete nothing) or ``--reset`` (delete it anyway). A
``--keep`` run on data that is not the demo's writes no marker (and removes a stale one), so a
later demo still refuses to delete that data.

Output: one line per run (the 24 hourly runs as a progress bar on a terminal); Dagster's own
event log goes to ``<DAGSTER_HOME>/demo-events.log``, whose path is printed. A failing run ends
the demo with the step's message only (the traceback is in that file).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from titanic_assets import names
from titanic_assets.core.clock import utc_now

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = PROJECT_ROOT / "data" / "demo"
DEFAULT_HOME = DEMO_DIR / "dagster_home"
DEFAULT_WAREHOUSE = DEMO_DIR / "warehouse.duckdb"
#: Every run the demo launches carries this tag; a run without it is someone else's.
DEMO_TAG = "titanic/demo"
#: Dagster's tags for a run over a range of partitions (what a batched backfill launches).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
EVENT_LOG_NAME = "demo-events.log"
#: Exit code of a refusal (nothing was deleted, nothing was run).
REFUSED = 3

WIPED_INSTANCE_PARTS = (
    # Dagster's consolidated event log (dagster.yaml), beside the folders of its other storage.
    "event_log.db",
    "event_log.db-wal",
    "event_log.db-shm",
    "history",
    "storage",
    "schedules",
    "logs",
    ".logs_queue",
    ".nux",
    ".telemetry",
)


class DemoError(Exception):
    """The demo cannot go on; the message says why (printed without a traceback)."""


class Refused(DemoError):
    """Starting over would delete data the demo did not create (nothing was deleted)."""


def marker_path(warehouse: Path) -> Path:
    """The file that records what the demo left in ``warehouse`` (beside it, same name)."""
    return warehouse.with_name(warehouse.name + ".demo.json")


# --- what would be lost ----------------------------------------------------------------------


def warehouse_tables(warehouse: Path) -> dict[str, int]:
    """``{schema.table: rows}`` of every base table in the warehouse (read-only look)."""
    from titanic_assets.data_layer.warehouse import connect, table_row_counts

    try:
        with connect(str(warehouse), read_only=True, timeout_s=5.0) as conn:
            return table_row_counts(conn)
    except Exception as error:  # locked by another process, not a DuckDB file...
        raise DemoError(
            f"cannot look inside {warehouse} to check what starting over would delete: "
            f"{error}\n(stop whatever holds it, e.g. `make dev`, or choose another "
            "TITANIC_DUCKDB)"
        ) from error


def foreign_warehouse_data(warehouse: Path) -> list[str]:
    """What in ``warehouse`` the demo did not create (empty: safe to delete)."""
    if not warehouse.exists():
        return []
    tables = warehouse_tables(warehouse)
    marker = marker_path(warehouse)
    if not marker.exists():
        if not tables:
            return []
        listed = ", ".join(f"{t} ({n} rows)" for t, n in list(tables.items())[:8])
        more = f" and {len(tables) - 8} more" if len(tables) > 8 else ""
        return [f"warehouse {warehouse} was not created by the demo: {listed}{more}"]
    recorded: dict[str, int] = json.loads(marker.read_text()).get("tables", {})
    lost = []
    for table, rows in tables.items():
        if table not in recorded:
            lost.append(f"table {table} ({rows} rows) in {warehouse}, not created by the demo")
        elif rows != recorded[table]:
            lost.append(
                f"table {table} in {warehouse} has {rows} rows, the demo left {recorded[table]}"
            )
    return lost


def foreign_runs(dagster_home: Path) -> list[str]:
    """Runs in the instance at ``dagster_home`` that the demo did not launch."""
    if not (dagster_home / "storage").exists() and not (dagster_home / "history").exists():
        return []
    import dagster as dg

    from titanic_assets.dagster_home import instance_at

    with instance_at(dagster_home) as instance:
        total = instance.get_runs_count()
        ours = instance.get_runs_count(dg.RunsFilter(tags={DEMO_TAG: "true"}))
    if total > ours:
        return [
            f"{total - ours} runs in the Dagster instance {dagster_home} not launched by the demo"
        ]
    return []


def what_would_be_lost(dagster_home: Path, warehouse: Path) -> list[str]:
    """Runs and warehouse data the demo did not create (Dagster's import chatter kept quiet)."""
    with tempfile.TemporaryFile("w+") as chatter, captured(chatter):
        return foreign_runs(dagster_home) + foreign_warehouse_data(warehouse)


def fresh_state(dagster_home: Path, warehouse: Path) -> None:
    """Start from nothing: no runs, no warehouse. The instance's dagster.yaml (and any model
    signing key file) is kept. Call only after the checks above (or on an explicit reset)."""
    for part in WIPED_INSTANCE_PARTS:
        target = dagster_home / part
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for path in (warehouse, Path(f"{warehouse}.wal"), marker_path(warehouse)):
        path.unlink(missing_ok=True)


def ensure_instance(dagster_home: Path) -> None:
    """The project's dagster.yaml (pools, run queue) in the demo's instance."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        shutil.copy(PROJECT_ROOT / "dagster.yaml", config)


def record_marker(warehouse: Path) -> None:
    """Write down what the demo leaves behind, so the next demo knows what it may delete."""
    marker_path(warehouse).write_text(
        json.dumps(
            {
                "created_by": "titanic_assets.demo",
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "tables": warehouse_tables(warehouse),
            },
            indent=1,
        )
    )


# --- quiet output ----------------------------------------------------------------------------


@contextmanager
def captured(log: TextIO) -> Iterator[None]:
    """Send everything written to stdout/stderr (Python and file-descriptor level) to ``log``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    try:
        with redirect_stdout(log), redirect_stderr(log):
            yield
    finally:
        log.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def progress_line(label: str, done: int, total: int, elapsed: float, width: int = 24) -> str:
    filled = round(width * done / total) if total else width
    return f"  ..  {label:<34} [{'#' * filled}{'.' * (width - filled)}] {done:>2}/{total} {elapsed:5.1f} s"


def step_failure_message(result: Any) -> str:
    """The first failed step's own message, without Dagster's wrapper around it."""
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error.cls_name == "DagsterExecutionStepExecutionError" and error.cause:
                error = error.cause
            return error.message.strip().removeprefix("dagster._core.definitions.events.Failure: ")
    return "the run failed before any step ran (see the event log)"


# --- the demo --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", help="UTC day to simulate (YYYY-MM-DD); default: yesterday")
    parser.add_argument("--passengers-per-hour", type=int, default=20)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--keep", action="store_true", help="add to the existing instance and warehouse"
    )
    mode.add_argument(
        "--reset",
        action="store_true",
        help="delete the instance's runs and the warehouse even if the demo did not create them",
    )
    args = parser.parse_args(argv)
    try:
        return run_demo(args)
    except DemoError as error:
        print(f"demo: {error}", file=sys.stderr)
        return REFUSED if isinstance(error, Refused) else 1


def run_demo(args: argparse.Namespace) -> int:
    """The whole demo: where, starting over (or refusing to), the cycle, the summary."""
    dagster_home, warehouse, day = demo_places(args)
    lost = start_over(dagster_home, warehouse, reset=args.reset, keep=args.keep)
    ensure_instance(dagster_home)
    log_path = dagster_home / EVENT_LOG_NAME
    print(
        f"instance  {dagster_home}\nwarehouse {warehouse}\nday       {day:%Y-%m-%d}\n"
        f"event log {log_path}\n",
        flush=True,
    )
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        run_cycle(DemoRuns(warehouse, log, log_path), day, args.passengers_per_hour)
    elapsed = time.perf_counter() - started
    if lost:  # --keep on data the demo did not create: claim none of it, now or later
        marker_path(warehouse).unlink(missing_ok=True)
    else:
        record_marker(warehouse)
    print_summary(str(warehouse), day)
    print(f"\nfull cycle in {elapsed:.1f} s")
    print_browse_hints(dagster_home, warehouse)
    return 0


def demo_places(args: argparse.Namespace) -> tuple[Path, Path, datetime]:
    """The instance and warehouse the demo works in (its own unless the shell says otherwise),
    and the day it simulates (midnight UTC). A bad setting fails naming the variable."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    from titanic_assets import settings

    dagster_home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_HOME).resolve()
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    os.environ.setdefault("TITANIC_DUCKDB", str(DEFAULT_WAREHOUSE))
    try:
        config = settings.load()
    except settings.SettingsError as error:
        raise DemoError(str(error)) from error
    day = (
        datetime.strptime(args.day, "%Y-%m-%d") if args.day else utc_now() - timedelta(days=1)
    ).replace(hour=0, minute=0, second=0, microsecond=0)
    return dagster_home, Path(config.duckdb).resolve(), day


def start_over(dagster_home: Path, warehouse: Path, *, reset: bool, keep: bool) -> list[str]:
    """Delete the demo's earlier runs and warehouse (unless ``keep``); refuse when that would
    delete anything the demo did not create (unless ``reset``). Returns what is not the
    demo's (kept with ``keep``)."""
    lost = [] if reset else what_would_be_lost(dagster_home, warehouse)
    if keep:
        return lost
    if lost:
        raise Refused(
            "refusing to start over: it would delete data the demo did not create:\n  - "
            + "\n  - ".join(lost)
            + "\nTo leave it alone, run the demo elsewhere: unset DAGSTER_HOME and "
            "TITANIC_DUCKDB (`make demo` then uses data/demo/)."
            "\nTo add the demo's runs to it, deleting nothing: `make demo DEMO_ARGS=--keep`."
            "\nTo delete it anyway: `make demo DEMO_ARGS=--reset`."
        )
    fresh_state(dagster_home, warehouse)
    return lost


class DemoRuns:
    """The project's jobs run in process on the demo's instance, Dagster's output to ``log``."""

    def __init__(self, warehouse: Path, log: TextIO, log_path: Path) -> None:
        self.log, self.log_path = log, log_path
        with captured(log):
            import dagster as dg

            from titanic_assets.definitions import build_definitions

            self.defs = build_definitions(str(warehouse))
            self.instance = dg.DagsterInstance.get()

    def run(self, job: str, **kwargs: Any) -> tuple[str, float]:
        """Run ``job`` tagged as the demo's; its run id and seconds, or :class:`DemoError`."""
        t0 = time.perf_counter()
        with captured(self.log):
            tags = {DEMO_TAG: "true", **kwargs.pop("tags", {})}
            result = self.defs.resolve_job_def(job).execute_in_process(
                instance=self.instance, raise_on_error=False, tags=tags, **kwargs
            )
        label = f"{job}{' ' + kwargs['partition_key'] if 'partition_key' in kwargs else ''}"
        if not result.success:
            raise DemoError(
                f"{label} failed: {step_failure_message(result)}\n"
                f"(run {result.run_id}; Dagster's event log: {self.log_path})"
            )
        return result.run_id, time.perf_counter() - t0

    def one(self, job: str, **kwargs: Any) -> None:
        """Run ``job`` and print its line."""
        run_id, seconds = self.run(job, **kwargs)
        print(f"  ok  {job:<34} {seconds:5.1f} s   run {run_id[:8]}", flush=True)


def run_cycle(runs: DemoRuns, day: datetime, passengers_per_hour: int) -> None:
    """Backfill, the day's 24 hours of passengers, training up to the day, scoring the day."""
    runs.one(names.HISTORICAL_BACKFILL_JOB)
    synthetic = names.op_config(
        names.SYNTHETIC_PASSENGERS_OP, passengers_per_hour=passengers_per_hour
    )
    # The day's 24 hours in ONE run, as a backfill runs them (the hourly assets' backfill
    # policy); each hour stays its own partition, with its own rows and check verdicts.
    first, last = (f"{day:%Y-%m-%d}-{h:02d}:00" for h in (0, 23))
    hourly(
        [f"{first}...{last}"],
        lambda _: runs.run(
            names.FEATURE_JOB,
            run_config=synthetic,
            tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
        ),
    )
    # Train on what was known before the day, then score the day: the monitoring accuracy is
    # then an honest out-of-sample figure, not a score on the model's own training rows.
    runs.one(
        names.TRAINING_JOB,
        run_config=names.op_config(names.TRAINING_DATA_OP, cutoff=day.isoformat()),
    )
    runs.one(names.INFERENCE_JOB, partition_key=day.strftime(names.DAY_KEY_FORMAT))


def print_browse_hints(dagster_home: Path, warehouse: Path) -> None:
    """How to open what the demo made: the UI, the apps, one prediction's lineage."""
    browse = f'DAGSTER_HOME="{dagster_home}" TITANIC_DUCKDB="{warehouse}"'
    print(
        f"\nBrowse it: {browse} make dev\n"
        "  then open http://127.0.0.1:3000 -> Assets -> Global asset lineage for the three "
        "groups;\n  features/passenger_features (check results), models/model_versions "
        "(metrics, confusion matrix),\n  monitoring/model_performance (accuracy, drift plots).\n"
        f"The apps:  {browse} make app\n"
        f'Trace one prediction: TITANIC_DUCKDB="{warehouse}" .venv/bin/titanic lineage '
        "<passenger_id>"
    )


def hourly(keys: list[str], run: Callable[[str], tuple[str, float]]) -> None:
    """The day's hourly runs: a progress bar on a terminal, else one line per run."""
    label = "feature_pipeline (hours)"
    tty = sys.stdout.isatty()
    t0 = time.perf_counter()
    for done, key in enumerate(keys, start=1):
        try:
            run_id, seconds = run(key)
        except DemoError:
            if tty:
                print(flush=True)  # end the progress line before the message
            raise
        if tty:
            line = progress_line(label, done, len(keys), time.perf_counter() - t0)
            print("\r" + line, end="", flush=True)
        else:
            job = f"feature_pipeline {key}"
            print(f"  ok  {job:<34} {seconds:5.1f} s   run {run_id[:8]}", flush=True)
    if tty:
        total = time.perf_counter() - t0
        print(f"\r  ok  {label:<34} {total:5.1f} s   {len(keys)} runs" + " " * 20, flush=True)


#: The tables whose row counts close the demo.
SUMMARY_TABLES = (
    names.RAW_HISTORICAL_TABLE,
    names.SYNTHETIC_PASSENGERS_TABLE,
    names.FEATURE_VIEW,
    names.MODEL_VERSIONS_TABLE,
    names.PREDICTIONS_TABLE,
    names.PERFORMANCE_TABLE,
)


def print_summary(warehouse: str, day: datetime) -> None:
    """Rows per table, the champion's holdout figures, the day's monitoring and drift."""
    from titanic_assets.core.monitoring import main_rows
    from titanic_assets.data_layer import monitoring_store, registry
    from titanic_assets.data_layer.warehouse import connect, table_row_counts

    with connect(warehouse, read_only=True) as conn:
        counts = table_row_counts(conn, SUMMARY_TABLES)
        champion = registry.champion(conn)
        perf = monitoring_store.performance_of_day(conn, day)
    print("\nrows per table")
    for table, n in counts.items():
        print(f"  {table:<38} {n:>6}")
    if champion is not None:
        auc = "n/a" if champion.roc_auc is None else f"{champion.roc_auc:.3f}"
        print(
            f"\nchampion  v{champion.version}: holdout accuracy {champion.accuracy:.3f}, "
            f"F1 {champion.f1:.3f}, ROC AUC {auc} "
            f"(trained on {champion.training_rows} rows up to {champion.training_cutoff})"
        )
    if perf.empty:
        return
    row = main_rows(perf).iloc[-1]
    print(
        f"inference {day:{names.DAY_KEY_FORMAT}}: {int(perf['n_predictions'].sum())} predictions, "
        f"{int(row['n_predictions'])} by v{int(row['model_version'])}, "
        f"{int(row['n_labelled'])} labelled, accuracy {row['accuracy']:.3f}"
    )
    drift_columns = [
        c for c in perf.select_dtypes("number").columns if "psi" in c.lower() or "shift" in c
    ]
    drift = ", ".join(f"{c} {row[c]:.3f}" for c in drift_columns if row[c] == row[c])
    print(f"drift     {drift or 'n/a'}")


if __name__ == "__main__":
    raise SystemExit(main())

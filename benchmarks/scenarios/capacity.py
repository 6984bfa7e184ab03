"""Scenario 8: how many passengers an hour one machine takes (``capacity`` in the results).

For each rate (passengers per hour), in a process of its own on a copy of the template with a
champion: the Dagster ``feature_pipeline`` run of one hour at that rate (after an untimed small
run on another day pays the lazy imports), its wall time and the process's peak RSS. For the
daily rates, the other 23 hours of the day are then copies of the measured hour (passengers,
features and verdicts, shifted an hour at a time with new ids: ``history_load.replicate_history``,
in SQL, seconds where generating 23M passengers took half an hour) and the
``inference_pipeline`` run of the day is timed, with its own peak RSS (the high-water mark is
reset between the two, Linux ``clear_refs``). The day load is setup, not measured.

The hourly budget is a quarter of the hour (:data:`HOURLY_BUDGET_S`): the hourly step must
leave the hour free for the daily run, retries and backfills. Measured rates within it are
reported as measured. Beyond them, and labelled as such (``extrapolation``): a least-squares
line through every measured (rate, hourly seconds) point, a fixed cost plus a cost per
passenger, and the rate at which it reaches the budget; likewise for the hourly run's peak RSS
and the machine's memory. A line whose slope is not positive (timing noise on a loaded
machine can make a larger rate as fast as a smaller one) gives no extrapolation, not a
negative or infinite rate.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.common import copy_warehouse, json_child, machine

#: A quarter of the hour: what the hourly step may take.
HOURLY_BUDGET_S = 900.0
#: The measured hour and its day (a valid partition; the warm-up runs on the day before).
HOUR = datetime(2026, 11, 3, 0, 0)
WARMUP_HOUR = datetime(2026, 11, 2, 0, 0)
CHAMPION_CUTOFF = "1913-01-01T00:00:00"


def _reset_peak_rss() -> None:
    """Start a new high-water mark (``VmHWM``) for this process (Linux ``clear_refs``)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def measure(template: Path, warehouse: Path, rate: int, daily: bool, log=print) -> dict:
    """One rate, in this process: the hourly run, then (``daily``) the day's inference run."""
    from benchmarks import plain
    from benchmarks.child import own_peak_rss_kib
    from benchmarks.dagster_arm import DagsterArm, hour_key
    from titanic_assets.data_layer import history_load
    from titanic_assets.data_layer.warehouse import connect

    copy_warehouse(template, warehouse)
    plain.training_run(str(warehouse), cutoff=CHAMPION_CUTOFF)
    arm = DagsterArm(str(warehouse))
    arm.feature_run(1_000, hour_key(WARMUP_HOUR))
    arm.inference_run(WARMUP_HOUR.strftime("%Y-%m-%d"))
    _reset_peak_rss()
    hourly_s = arm.feature_run(rate, hour_key(HOUR))
    out = {"rate": rate, "hourly_s": hourly_s, "hourly_peak_rss_kib": own_peak_rss_kib()}
    log(f"  capacity {rate:>9,}/h: hourly run {hourly_s:6.1f} s")
    if not daily:
        return out
    started = time.perf_counter()
    with connect(str(warehouse)) as conn:
        day = HOUR + timedelta(days=1)
        history_load.replicate_history(conn, HOUR, HOUR + timedelta(hours=1), day)
        conn.execute("CHECKPOINT")
    out["day_load_s"] = time.perf_counter() - started
    _reset_peak_rss()
    daily_s, steps = arm.inference_run(HOUR.strftime("%Y-%m-%d"))
    out.update(daily_s=daily_s, daily_steps_s=steps, daily_peak_rss_kib=own_peak_rss_kib())
    out["daily_passengers"] = 24 * rate
    log(f"  capacity {rate:>9,}/h: daily run of {24 * rate:,} passengers {daily_s:6.1f} s")
    return out


def _child(template: Path, scratch: Path, rate: int, daily: bool, log) -> dict:
    warehouse = scratch / f"capacity_{rate}.duckdb"
    command = [sys.executable, "-m", "benchmarks.scenarios.capacity", "--template",
               str(template), "--warehouse", str(warehouse), "--rate", str(rate)]  # fmt: skip
    if daily:
        command.append("--daily")
    out = json_child(command, log)
    for suffix in ("", ".wal"):
        Path(f"{warehouse}{suffix}").unlink(missing_ok=True)
    return out


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares intercept and slope of ``y = a + b x`` through every point; None with
    fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    return mean_y - slope * mean_x, slope


def extrapolate(points: list[tuple[float, float]], limit: float) -> dict:
    """Where the least-squares line through ``points`` reaches ``limit`` (an extrapolation,
    labelled as one): its fixed cost and cost per million, the rate, and how far that is beyond
    the largest measured rate. No rate when the line does not grow (slope <= 0)."""
    line = fit_line(points)
    if line is None:
        return {"rate": None, "why_none": "fewer than two measured rates"}
    intercept, slope = line
    out = {"fixed": intercept, "per_million": slope * 1e6}
    if slope <= 0:
        return {**out, "rate": None, "why_none": "no growth with the rate was measured (noise)"}
    rate = (limit - intercept) / slope
    return {**out, "rate": rate, "times_largest_measured": rate / max(x for x, _ in points)}


def run(scratch: Path, template: Path, rates: list[int], daily_rates: list[int], log=print):
    runs = {rate: _child(template, scratch, rate, rate in daily_rates, log) for rate in rates}
    hourly = {str(r): v["hourly_s"] for r, v in runs.items()}
    hourly_rss = {str(r): v["hourly_peak_rss_kib"] / 2**20 for r, v in runs.items()}
    within = [r for r, v in runs.items() if v["hourly_s"] <= HOURLY_BUDGET_S]
    memory_gib = float(machine()["memory"].split()[0])
    return {
        "hourly_budget_s": HOURLY_BUDGET_S,
        "hourly_s": hourly,
        "hourly_peak_rss_gib": hourly_rss,
        "daily_s": {str(r): v["daily_s"] for r, v in runs.items() if "daily_s" in v},
        "daily_peak_rss_gib": {
            str(r): v["daily_peak_rss_kib"] / 2**20 for r, v in runs.items() if "daily_s" in v
        },
        "max_measured_rate_within_budget": max(within) if within else None,
        # Extrapolated, not measured: least-squares lines through every measured rate.
        "extrapolation": {
            "method": "least-squares line through every measured rate",
            "hourly_s_at_budget": extrapolate(
                [(r, v["hourly_s"]) for r, v in runs.items()], HOURLY_BUDGET_S
            ),
            "hourly_rss_gib_at_machine_memory": extrapolate(
                [(r, hourly_rss[str(r)]) for r in runs], memory_gib
            ),
        },
        "machine_memory_gib": memory_gib,
        "raw": {str(r): v for r, v in runs.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", required=True)
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--rate", type=int, required=True)
    parser.add_argument("--daily", action="store_true")
    args = parser.parse_args(argv)
    from benchmarks.child import own_peak_rss_kib
    from benchmarks.common import dagster_home
    from benchmarks.run import quiet

    quiet()
    warehouse = Path(args.warehouse)
    dagster_home(warehouse.parent / f"dagster_home_capacity_{args.rate}")

    def log(message: str) -> None:
        print(message, flush=True)

    out = measure(Path(args.template), warehouse, args.rate, args.daily, log)
    print(json.dumps({**out, "peak_rss_kib": own_peak_rss_kib()}, default=float), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Scenario 1b: the full cycle as launched runs (a new process per run) vs the plain script.

What a user of ``make dev`` gets: every run started by the instance's run launcher in a process
of its own (see :mod:`benchmarks.launched`). Each repetition starts both arms from a fresh copy
of the template warehouse, alternating which goes first; after the first repetition at each N
the two warehouses are compared like the in-process arm's (same tables, same predictions).

``per_run_fixed_s`` is the median, over every launched run, of the seconds from the launch to
the run's first step: process start, imports, code-location load and instance set-up.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import plain
from benchmarks.common import copy_warehouse, median, spread
from benchmarks.launched import LaunchedArm, launch_instance_yaml
from benchmarks.scenarios.overhead import compare_outputs


def run_sizes(scratch: Path, template: Path, sizes: list[int], reps: dict, log=print) -> dict:
    launched_db, plain_db = scratch / "launched_dagster.duckdb", scratch / "launched_plain.duckdb"
    home = scratch / "launched_home"
    home.mkdir(parents=True, exist_ok=True)
    launch_instance_yaml(home)
    copy_warehouse(template, launched_db)
    out: dict = {"ratio": {}, "runs": {}, "comparison": {}, "fixed_s_samples": []}
    with LaunchedArm(str(launched_db), home) as arm:
        # One untimed launch: the code server finishes loading the location (the daemon's
        # server is long up when a user's run is launched).
        arm.run("historical_backfill")
        for n in sizes:
            reps_n = reps[n]
            samples: dict[str, list[dict]] = {"launched": [], "plain": []}
            for rep in range(reps_n):
                copy_warehouse(template, launched_db)
                copy_warehouse(template, plain_db)
                order = ("plain", "launched") if rep % 2 == 0 else ("launched", "plain")
                for name in order:
                    if name == "launched":
                        times = arm.cycle(n)
                        out["fixed_s_samples"].append(times["fixed_s_per_run"])
                    else:
                        times = plain.cycle(str(plain_db), n)
                    samples[name].append(times)
                    log(
                        f"  launched N={n:>8} rep {rep + 1}/{reps_n} {name:<8} "
                        f"{times['total']:7.2f} s"
                    )
                if rep == 0:
                    out["comparison"][str(n)] = compare_outputs(str(launched_db), str(plain_db))
            d = [s["total"] for s in samples["launched"]]
            p = [s["total"] for s in samples["plain"]]
            out["ratio"][str(n)] = median(d) / median(p)
            out["runs"][str(n)] = {
                "launched_s": median(d),
                "plain_s": median(p),
                "paired_ratio_median": median([a / b for a, b in zip(d, p, strict=True)]),
                "launched_spread": spread(d),
                "plain_spread": spread(p),
                "reps": reps_n,
                "launched_stages_s": {
                    k: median([s[k] for s in samples["launched"]]) for k in samples["launched"][0]
                },
                "plain_stages_s": {
                    k: median([s[k] for s in samples["plain"]]) for k in samples["plain"][0]
                },
            }
    out["per_run_fixed_s"] = median(out["fixed_s_samples"])
    return out

"""Scenario 1b: the full cycle as launched runs (a new process per run) vs the plain script.

What a user of ``make dev`` gets: every run launched by the daemon, through the instance's run
launcher, in a process of its own (see :mod:`benchmarks.launched`). It is compared with the
plain script run two ways:

* ``plain_process``: ``python -m benchmarks.plain`` as a user runs it, a new interpreter timed
  from outside (start, imports, the cycle, exit). Both arms pay a process per unit of work: the
  launched arm one per run (a fresh interpreter the code server spawns, which imports Dagster,
  pandas, DuckDB and the step libraries again), the script one per cycle. ``daemon_overhead_ratio`` is
  launched / this: what a user waits for, daemon or script.
* ``plain``: the plain cycle in the benchmark's own warm interpreter (imports already paid), as
  in scenario 1. ``daemon_overhead_ratio_vs_warm_plain`` is launched / this: the whole cost of
  processes and imports, counted against the launched arm alone.

Each repetition starts every arm from a fresh copy of the template warehouse, rotating which
goes first; after the first repetition at each N the launched warehouse is compared with both
plain ones (same tables, same predictions).

``per_run_fixed_s`` is the median, over every launched run, of the seconds from the launch to
the run's first step: the process start, its imports, instance set-up and the code location's
load.

``profile_runs`` runs the same cycle on an opt-in instance profile
(``deploy/dagster.forkserver.yaml``) at one size, for the side-by-side figures
``per_run_fixed_s_forkserver`` and the launched cycle's seconds on each.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks import plain
from benchmarks.common import copy_warehouse, median, spread
from benchmarks.launched import LaunchedArm
from benchmarks.scenarios.overhead import compare_outputs

ARMS = ("plain_process", "launched", "plain")


def run_sizes(scratch: Path, template: Path, sizes: list[int], reps: dict, log=print) -> dict:
    live = scratch / "launched_live"
    if live.exists():
        shutil.rmtree(live)
    live.mkdir(parents=True)
    out: dict = {
        "ratio": {},
        "ratio_vs_warm_plain": {},
        "runs": {},
        "comparison": {},
        "comparison_plain_process": {},
        "fixed_s_samples": [],
    }
    with LaunchedArm(live) as arm:
        dbs = {name: scratch / f"launched_{name}.duckdb" for name in ARMS}
        dbs["launched"] = Path(arm.warehouse)
        # One untimed run: the daemon's code server and the launcher are up, as a user's
        # daemon has long had them when a run is launched.
        arm.run("historical_backfill")
        for n in sizes:
            reps_n = reps[n]
            samples: dict[str, list[dict]] = {name: [] for name in ARMS}
            for rep in range(reps_n):
                for db in dbs.values():
                    copy_warehouse(template, db)
                order = ARMS[rep % 3 :] + ARMS[: rep % 3]
                for name in order:
                    if name == "launched":
                        times = arm.cycle(n)
                        out["fixed_s_samples"].append(times["fixed_s_per_run"])
                    elif name == "plain_process":
                        times = plain.cycle_as_process(str(dbs[name]), n)
                    else:
                        times = plain.cycle(str(dbs[name]), n)
                    samples[name].append(times)
                    log(
                        f"  launched N={n:>8} rep {rep + 1}/{reps_n} {name:<13} "
                        f"{times['total']:7.2f} s"
                    )
                if rep == 0:
                    launched_db = str(dbs["launched"])
                    out["comparison"][str(n)] = compare_outputs(launched_db, str(dbs["plain"]))
                    out["comparison_plain_process"][str(n)] = compare_outputs(
                        launched_db, str(dbs["plain_process"])
                    )
            totals = {name: [s["total"] for s in samples[name]] for name in ARMS}
            d, pp, p = totals["launched"], totals["plain_process"], totals["plain"]
            out["ratio"][str(n)] = median(d) / median(pp)
            out["ratio_vs_warm_plain"][str(n)] = median(d) / median(p)
            out["runs"][str(n)] = {
                "launched_s": median(d),
                "plain_process_s": median(pp),
                "plain_s": median(p),
                "paired_ratio_median": median([a / b for a, b in zip(d, pp, strict=True)]),
                "paired_ratio_vs_warm_plain_median": median(
                    [a / b for a, b in zip(d, p, strict=True)]
                ),
                "launched_spread": spread(d),
                "plain_process_spread": spread(pp),
                "plain_spread": spread(p),
                "reps": reps_n,
                **{
                    f"{name}_stages_s": {
                        k: median([s[k] for s in samples[name]]) for k in samples[name][0]
                    }
                    for name in ARMS
                },
            }
    out["per_run_fixed_s"] = median(out["fixed_s_samples"])
    return out


def profile_runs(
    scratch: Path, template: Path, n: int, reps: int, profile: Path, log=print
) -> dict:
    """The launched cycle at ``n`` passengers on another instance configuration: its runs'
    fixed cost (launch to first step) and the cycle's seconds, medians of ``reps``."""
    live = scratch / f"launched_{profile.stem.replace('.', '_')}"
    if live.exists():
        shutil.rmtree(live)
    live.mkdir(parents=True)
    fixed, totals = [], []
    with LaunchedArm(live, profile=profile) as arm:
        arm.run("historical_backfill")  # untimed, as in run_sizes
        for rep in range(reps):
            copy_warehouse(template, Path(arm.warehouse))
            times = arm.cycle(n)
            fixed.append(times["fixed_s_per_run"])
            totals.append(times["total"])
            log(f"  {profile.name} N={n:>8} rep {rep + 1}/{reps} {times['total']:7.2f} s")
    return {"per_run_fixed_s": median(fixed), "launched_s": median(totals), "n": n, "reps": reps}

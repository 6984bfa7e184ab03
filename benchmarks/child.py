"""One cycle in a fresh process (for peak-RSS measurement): prints the stage times and the
process's own peak resident set size as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.common import copy_warehouse, dagster_home


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arm", choices=("dagster", "plain"), default="dagster")
    parser.add_argument("--passengers", type=int, required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("--warehouse", required=True)
    args = parser.parse_args(argv)
    copy_warehouse(Path(args.template), Path(args.warehouse))
    if args.arm == "dagster":
        dagster_home(Path(args.warehouse).parent / "dagster_home_child")
        from benchmarks.dagster_arm import DagsterArm

        times = DagsterArm(args.warehouse).cycle(args.passengers)
    else:
        from benchmarks import plain

        times = plain.cycle(args.warehouse, args.passengers)
    print(json.dumps({**times, "peak_rss_kib": own_peak_rss_kib()}))
    return 0


def own_peak_rss_kib() -> int:
    """This process's peak RSS since it exec'd Python (``VmHWM``, Linux).

    Not ``ru_maxrss`` as the parent reads it from ``wait4``: Linux carries the high-water mark
    of the pre-exec image, i.e. the forked copy of the parent, into the child's figure, so a
    child of a 2.9 GiB benchmark process "peaks" at 2.9 GiB even when it never uses that much.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status: peak RSS needs Linux")


if __name__ == "__main__":
    raise SystemExit(main())

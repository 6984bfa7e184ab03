"""One cycle in a fresh process (for peak-RSS measurement): prints the stage times as JSON."""

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
    print(json.dumps(times))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

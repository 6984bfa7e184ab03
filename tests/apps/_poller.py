"""Polls the app's data functions in a loop, as a busy app would, and logs every answer.

Run as its own process (``python -m tests.apps._poller WAREHOUSE LOG STOPFILE``): DuckDB
treats a second connection in one process differently from another process's, and the app is
another process. Each poll is one JSON line: what the Latest passengers and Model monitoring
tabs and a prediction answered, or the error a person would have seen.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from titanic_assets.apps import data, render


def main(warehouse: str, log: str, stop: str) -> None:
    # TTL 0: every poll opens the file (the worst case for the writers).
    reader = data.WarehouseReader(warehouse, ttl_s=0.0)
    reader.view()  # the first snapshot, before any run starts
    print("ready", flush=True)
    with Path(log).open("w") as out:
        while not Path(stop).exists():
            started = time.monotonic()
            record: dict = {"t": time.time()}
            try:
                view = reader.view()
                latest = data.latest(view.snapshot)
                figures = data.monitoring(view.snapshot)
                result = data.predict(reader, pclass=2, sex="female", age=30, fare=20)
                record.update(
                    ok=True,
                    stale=view.stale_reason,
                    status=view.status(),
                    newest=latest.newest["passenger_id"],
                    n_labelled=figures.confusion["n"],
                    version=result.model_version,
                    html_bytes=len(render.newest_html(latest)),
                )
            except Exception as error:  # recorded, and the test fails on it
                record.update(ok=False, error=f"{type(error).__name__}: {error}")
            record["seconds"] = time.monotonic() - started
            out.write(json.dumps(record) + "\n")
            out.flush()


if __name__ == "__main__":
    main(*sys.argv[1:4])

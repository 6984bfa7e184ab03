"""Test-only run worker: run one feature_pipeline partition, stop dead inside a warehouse write.

Usage: python -m tests.reliability._crash_worker WAREHOUSE PARTITION N SEED ASSET POINT MARKER

Runs the real job (real assets, real I/O manager) in this process, with one hook installed
around the I/O manager's write of ASSET (``synthetic_passengers`` or ``synthetic_features``):

* ``after_delete``  - the partition's old rows are deleted, the new ones not yet inserted;
* ``after_insert``  - the new rows are inserted, the transaction not yet committed;
* ``after_commit``  - the write's transaction has committed.

At that point the worker writes MARKER and blocks, so the test can SIGKILL it at a known
moment instead of guessing with timers. Production code is untouched: the hook lives here.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from titanic_assets import names
from titanic_assets.data_layer import io_manager
from titanic_assets.definitions import build_definitions


def _park(marker: Path, point: str) -> None:
    marker.write_text(point)
    while True:  # wait for SIGKILL
        time.sleep(60)


def main() -> None:
    warehouse, partition, n, seed, asset, point, marker = sys.argv[1:8]
    marker_path = Path(marker)
    table = asset  # the I/O manager's table name is the asset key's last part

    handler_cls = io_manager._PandasHandler
    client_cls = io_manager._TransactionalDuckDbClient
    original_handle = handler_cls.handle_output
    original_delete = client_cls.delete_table_slice
    original_connect = client_cls.connect

    def delete_table_slice(context, table_slice, connection):
        original_delete(context, table_slice, connection)
        if table_slice.table == table and point == "after_delete":
            _park(marker_path, point)

    def handle_output(self, context, table_slice, obj, connection):
        result = original_handle(self, context, table_slice, obj, connection)
        if table_slice.table == table and point == "after_insert":
            _park(marker_path, point)
        return result

    @contextmanager
    def connect(context, table_slice):
        with original_connect(context, table_slice) as conn:
            yield conn
        if table_slice.table == table and point == "after_commit":
            _park(marker_path, point)

    client_cls.delete_table_slice = staticmethod(delete_table_slice)
    client_cls.connect = staticmethod(connect)
    handler_cls.handle_output = handle_output

    defs = build_definitions(warehouse)
    config = {
        "ops": {
            names.SYNTHETIC_PASSENGERS_OP: {
                "config": {"passengers_per_hour": int(n), "seed": int(seed)}
            }
        }
    }
    with dg.instance_for_test() as instance:
        defs.resolve_job_def("feature_pipeline").execute_in_process(
            instance=instance, partition_key=partition, run_config=config
        )
    # Reaching here means the hook never fired: the test fails on the missing marker.
    sys.exit(3)


if __name__ == "__main__":
    main()

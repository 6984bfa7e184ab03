"""A run reads the day's features once: the scoring step hands them to monitoring."""

from datetime import datetime, timedelta

import pandas as pd

from titanic_assets.data_layer.feature_store import (
    MONITORING_COLUMNS,
    keep_for_monitoring,
    monitoring_features,
)
from titanic_assets.data_layer.warehouse import connect

DAY = datetime(2026, 11, 2)
NEXT = DAY + timedelta(days=1)


def _features(n: int) -> pd.DataFrame:
    frame = pd.DataFrame({c: [1.0] * n for c in MONITORING_COLUMNS})
    frame["passenger_id"] = [f"p{i}" for i in range(n)]
    frame["source"] = "synthetic"  # scoring reads more columns than monitoring keeps
    return frame


def test_same_run_gets_the_scored_rows_once_other_runs_read_the_view(tmp_path):
    with connect(str(tmp_path / "w.duckdb")) as conn:  # no feature store: a read finds nothing
        keep_for_monitoring("run-a", DAY, NEXT, _features(3))
        assert monitoring_features(conn, "run-b", DAY, NEXT).empty  # another run: read
        # The other run's request also dropped the kept rows: nothing outlives its run.
        assert monitoring_features(conn, "run-a", DAY, NEXT).empty

        keep_for_monitoring("run-a", DAY, NEXT, _features(3))
        kept = monitoring_features(conn, "run-a", DAY, NEXT)
        assert list(kept.columns) == list(MONITORING_COLUMNS)
        assert kept["passenger_id"].tolist() == ["p0", "p1", "p2"]
        assert monitoring_features(conn, "run-a", DAY, NEXT).empty  # handed over once

        keep_for_monitoring("run-c", DAY, NEXT, _features(2))
        assert monitoring_features(conn, "run-c", NEXT, NEXT + timedelta(days=1)).empty

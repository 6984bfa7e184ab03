"""What the apps' tests read straight from the warehouse, to compare with what the apps show."""

from __future__ import annotations

import pandas as pd

from titanic_assets.data_layer.warehouse import connect

#: Every scored passenger's newest prediction with its label, straight from the tables.
LABELLED_SQL = """
    WITH newest AS (
        SELECT * FROM inference.predictions
        QUALIFY row_number() OVER (PARTITION BY passenger_id ORDER BY predicted_at DESC) = 1
    )
    SELECT n.passenger_id, n.event_time, n.model_version, n.predicted_survived, f.survived
    FROM newest n JOIN features.passenger_features f USING (passenger_id)
"""

CONFUSION_CELLS = ("tn", "fp", "fn", "tp")


def sql(warehouse: str, query: str, params: list | None = None) -> pd.DataFrame:
    """One query on a read-only connection (the apps may be reading at the same time)."""
    with connect(warehouse, read_only=True) as conn:
        return conn.execute(query, params or []).df()


def confusion_counts(warehouse: str) -> dict[str, int]:
    """The all-history confusion matrix of the newest labelled predictions, counted in SQL."""
    counts = sql(
        warehouse,
        f"""SELECT
              count(*) FILTER (survived = 0 AND predicted_survived = 0) AS tn,
              count(*) FILTER (survived = 0 AND predicted_survived = 1) AS fp,
              count(*) FILTER (survived = 1 AND predicted_survived = 0) AS fn,
              count(*) FILTER (survived = 1 AND predicted_survived = 1) AS tp
            FROM ({LABELLED_SQL})""",
    ).iloc[0]
    return {cell: int(counts[cell]) for cell in CONFUSION_CELLS}

"""The warehouse I/O manager: atomic partition replace, inserts by name, typed empty tables."""

import dagster as dg
import pandas as pd

from titanic_assets.data_layer.io_manager import WarehouseIOManager
from titanic_assets.data_layer.warehouse import connect

DAYS = dg.DailyPartitionsDefinition(start_date="2026-11-01")


def events_asset(frame_for):
    @dg.asset(key=["t", "events"], partitions_def=DAYS, metadata={"partition_expr": "event_time"})
    def events(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return frame_for(context.partition_key)

    return events


def day_frame(day: str, n: int, note=None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            # object dtype even when empty (a bare [] would be float64 and type the column DOUBLE)
            "id": pd.Series([f"{day}-{i}" for i in range(n)], dtype=object),
            "event_time": pd.Timestamp(day),
            "note": note,
        }
    )


def materialize(asset, warehouse, day, instance):
    return dg.materialize(
        [asset],
        partition_key=day,
        resources={"io_manager": WarehouseIOManager(database=warehouse)},
        instance=instance,
        raise_on_error=False,
    )


def rows(warehouse):
    with connect(warehouse, read_only=True) as conn:
        return conn.execute("SELECT id, note FROM t.events ORDER BY id").fetchall()


def test_partition_rewrite_replaces_and_null_text_is_varchar(warehouse, instance):
    asset = events_asset(lambda day: day_frame(day, 3))
    assert materialize(asset, warehouse, "2026-11-02", instance).success
    assert materialize(asset, warehouse, "2026-11-02", instance).success
    assert len(rows(warehouse)) == 3
    with connect(warehouse, read_only=True) as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'events'"
            ).fetchall()
        )
    assert types["note"] == "VARCHAR"
    later = events_asset(lambda day: day_frame(day, 2, note="x"))
    assert materialize(later, warehouse, "2026-11-03", instance).success
    assert len(rows(warehouse)) == 5


def test_failed_write_leaves_the_old_partition(warehouse, instance):
    assert materialize(
        events_asset(lambda d: day_frame(d, 4)), warehouse, "2026-11-02", instance
    ).success

    def broken(day: str) -> pd.DataFrame:  # a column the table does not have: the insert fails
        return day_frame(day, 2).assign(unexpected=1)

    result = materialize(events_asset(broken), warehouse, "2026-11-02", instance)
    assert not result.success
    assert len(rows(warehouse)) == 4  # the DELETE of the old partition was rolled back


def column_types(warehouse) -> dict[str, str]:
    with connect(warehouse, read_only=True) as conn:
        return dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 't' AND table_name = 'events' ORDER BY ordinal_position"
            ).fetchall()
        )


def test_empty_partition_creates_typed_table(warehouse, instance):
    assert materialize(
        events_asset(lambda d: day_frame(d, 0)), warehouse, "2026-11-02", instance
    ).success
    assert rows(warehouse) == []
    # Typed from the frame's dtypes, not DuckDB's NULL type (which would refuse later rows).
    types = column_types(warehouse)
    assert types == {"id": "VARCHAR", "event_time": types["event_time"], "note": "VARCHAR"}
    assert types["event_time"].startswith("TIMESTAMP")
    later = events_asset(lambda d: day_frame(d, 2, note="x"))
    assert materialize(later, warehouse, "2026-11-03", instance).success
    assert rows(warehouse) == [("2026-11-03-0", "x"), ("2026-11-03-1", "x")]
    assert column_types(warehouse) == types


def test_the_frame_just_written_is_handed_to_the_next_step_of_the_same_run(warehouse, instance):
    """Within a run the next step gets the written frame (attrs and all) without a read-back;
    another run, or an input that selects columns, reads the warehouse."""
    seen = {}

    @dg.asset(key=["t", "source"])
    def source() -> pd.DataFrame:
        frame = pd.DataFrame({"id": ["a", "b"], "x": [1, 2]})
        frame.attrs["written_by"] = "source step"
        return frame

    @dg.asset(key=["t", "whole"], ins={"rows": dg.AssetIn(key=["t", "source"])})
    def whole(rows: pd.DataFrame) -> None:
        seen["whole"] = (rows.attrs.get("written_by"), list(rows.columns), len(rows))

    @dg.asset(
        key=["t", "subset"],
        ins={"rows": dg.AssetIn(key=["t", "source"], metadata={"columns": ["id"]})},
    )
    def subset(rows: pd.DataFrame) -> None:
        seen["subset"] = (rows.attrs.get("written_by"), list(rows.columns), len(rows))

    resources = {"io_manager": WarehouseIOManager(database=warehouse)}
    assert dg.materialize([source, whole], resources=resources, instance=instance).success
    assert seen["whole"] == ("source step", ["id", "x"], 2)  # handed over: attrs survive
    assert dg.materialize([source, subset], resources=resources, instance=instance).success
    assert seen["subset"] == (None, ["id"], 2)  # a column subset is read from DuckDB
    # Another run (only `whole` selected) reads what the first run wrote.
    assert dg.materialize(
        [source, whole], resources=resources, instance=instance, selection=[whole]
    ).success
    assert seen["whole"] == (None, ["id", "x"], 2)

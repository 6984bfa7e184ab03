"""Many hours in one run (the hourly assets' backfill policy): per-hour results, exact rows.

A backfill runs up to a week of hours per run. Each hour must still be its own partition in Dagster
(materialization, row count, check verdicts) and its own batch in the quality ledger, and the
run's write replaces exactly its hours, atomically.
"""

from __future__ import annotations

import dagster as dg

from tests.feature_pipeline.test_feature_assets import backfilled, build, query, run  # noqa: F401
from titanic_assets import names
from titanic_assets.feature_pipeline.assets import (
    HOURLY_BACKFILL_POLICY,
    SYNTHETIC_FEATURES,
    SYNTHETIC_PASSENGERS,
)

HOURS = [f"2026-11-10-{h:02d}:00" for h in range(6)]


def _range(first: str, last: str, seed: int = 0) -> dict:
    return {
        "tags": {
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
        "run_config": {"ops": {names.SYNTHETIC_PASSENGERS_OP: {"config": {"seed": seed}}}},
    }


def test_backfill_policy_batches_a_week_of_hours_per_run():
    # A month's backfill (720 hours) is then 5 runs, not 720 (or 30 of a day each).
    assert HOURLY_BACKFILL_POLICY.policy_type.value == "MULTI_RUN"
    assert HOURLY_BACKFILL_POLICY.max_partitions_per_run == 7 * 24


def test_a_range_run_reports_every_hour_on_its_own(backfilled, warehouse, instance):  # noqa: F811
    result = run(backfilled, "feature_pipeline", instance, **_range(HOURS[0], HOURS[-1]))
    assert result.success

    for key in (SYNTHETIC_PASSENGERS, SYNTHETIC_FEATURES):
        records = instance.fetch_materializations(key, limit=50).records
        by_hour = {r.partition_key: r.asset_materialization.metadata for r in records}
        assert sorted(by_hour) == HOURS
        assert {m["dagster/partition_row_count"].value for m in by_hour.values()} == {20}

    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    verdicts = {(e.check_name, e.partition) for e in evaluations}
    assert verdicts == {(c, h) for c in ("integrity", "distribution") for h in HOURS}
    assert all(e.metadata["rows_evaluated"].value == 20 for e in evaluations)

    ledger = query(
        warehouse,
        "SELECT batch_id, evaluated_rows FROM features.quality_results "
        "WHERE suite = 'integrity' AND batch_id LIKE '2026-11-10%' ORDER BY 1",
    )
    assert ledger == [(h, 20) for h in HOURS]  # the batch id of an hour is its key
    assert query(
        warehouse,
        "SELECT count(*), count(DISTINCT passenger_id) FROM features.passenger_features "
        "WHERE source = 'synthetic'",
    ) == [(120, 120)]


def test_rerunning_part_of_a_range_replaces_exactly_those_hours(
    backfilled,  # noqa: F811
    warehouse,
    instance,
):
    assert run(backfilled, "feature_pipeline", instance, **_range(HOURS[0], HOURS[-1])).success
    before = dict(
        query(
            warehouse,
            "SELECT batch_id, string_agg(concat_ws('/', passenger_id, age, fare, pclass), ',' "
            "ORDER BY passenger_id) FROM features.synthetic_features GROUP BY 1",
        )
    )
    again = run(backfilled, "feature_pipeline", instance, **_range(HOURS[2], HOURS[3], seed=7))
    assert again.success
    after = dict(
        query(
            warehouse,
            "SELECT batch_id, string_agg(concat_ws('/', passenger_id, age, fare, pclass), ',' "
            "ORDER BY passenger_id) FROM features.synthetic_features GROUP BY 1",
        )
    )
    assert set(after) == set(before)
    changed = {b for b in before if before[b] != after[b]}
    assert changed == {"2026-11-10-02:00", "2026-11-10-03:00"}
    assert query(warehouse, "SELECT count(*) FROM features.synthetic_passengers") == [
        (len(HOURS) * 20,)
    ]


def test_the_definitions_declare_it():
    defs = build(":memory:")
    node = defs.resolve_asset_graph().get(SYNTHETIC_FEATURES)
    assert node.backfill_policy == HOURLY_BACKFILL_POLICY
    assert isinstance(node.freshness_policy, dg.FreshnessPolicy)


def test_a_failed_hour_fails_the_run_and_stops_the_feature_store(
    backfilled,  # noqa: F811
    warehouse,
    instance,
):
    """The suites run in the features' own step: every hour is still judged and recorded, and
    a failed blocking verdict fails that step, so the feature store view is not rebuilt."""
    from tests.feature_pipeline.test_feature_assets import _assets_and_checks
    from titanic_assets.data_layer.resources import warehouse_resources
    from titanic_assets.data_layer.warehouse import connect
    from titanic_assets.feature_pipeline.assets import PASSENGER_FEATURES

    assert run(backfilled, "feature_pipeline", instance, **_range(HOURS[0], HOURS[-1])).success
    bad = HOURS[3]
    with connect(warehouse) as conn:  # corrupt one stored raw hour
        conn.execute(
            "UPDATE features.synthetic_passengers SET pclass = 4 WHERE batch_id = ?", [bad]
        )
    result = dg.materialize(
        _assets_and_checks(),
        selection=dg.AssetSelection.assets(SYNTHETIC_FEATURES, PASSENGER_FEATURES),
        tags=_range(HOURS[0], HOURS[-1])["tags"],
        resources=warehouse_resources(warehouse),
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    integrity = {
        e.event_specific_data.partition: e.event_specific_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.event_specific_data.check_name == "integrity"
    }
    assert integrity == {h: h != bad for h in HOURS}
    materialized = {
        e.event_specific_data.materialization.asset_key
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }
    assert SYNTHETIC_FEATURES in materialized and PASSENGER_FEATURES not in materialized
    ledger = query(
        warehouse,
        "SELECT batch_id, passed FROM features.quality_results "
        "WHERE suite = 'integrity' AND batch_id LIKE '2026-11-10%' ORDER BY 1",
    )
    assert ledger == [(h, h != bad) for h in HOURS]

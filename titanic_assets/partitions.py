"""Time partitions shared by the pipelines: hourly synthetic arrivals, daily batch scoring.

Beside ``names`` (which holds the start date and key formats) rather than inside one pipeline:
the feature pipeline is hourly, the inference pipeline daily, and neither owns the other's.

The start date is fixed in code (Dagster partition definitions must be stable). The last hourly
partition is the last complete hour; the daily ones run up to today.
"""

from collections.abc import Collection, Sequence

import dagster as dg

from titanic_assets.names import PARTITIONS_START

HOURLY_PARTITIONS = dg.HourlyPartitionsDefinition(start_date=f"{PARTITIONS_START}-00:00")
#: Batch scoring runs per day. The current (incomplete) day is a partition too, so a newly
#: promoted champion can re-score today's passengers so far.
DAILY_PARTITIONS = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, end_offset=1)


def never_materialized(
    instance: dg.DagsterInstance, asset: dg.AssetKey, partition_keys: Sequence[str]
) -> list[str]:
    """The ``partition_keys`` of ``asset`` that no materialization in ``instance`` recorded,
    in their given order (a page of the event log at a time; only these keys are asked)."""
    wanted, seen, cursor = set(partition_keys), set(), None
    while wanted - seen:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset, asset_partitions=sorted(wanted - seen)),
            limit=1000,
            cursor=cursor,
        )
        seen |= {record.partition_key for record in page.records}
        if not page.has_more:
            break
        cursor = page.cursor
    return [key for key in partition_keys if key not in seen]


def require_upstream_partitions(
    context: dg.AssetExecutionContext,
    upstream: dg.AssetKey,
    present: Collection[str],
    *,
    job: str,
) -> None:
    """Fail the step at once, saying what to select, when an upstream partition it reads was
    never materialized.

    ``present``: the run's partition keys that the loaded input has rows for. Only the others
    are looked up in the instance (nothing is asked in the usual run, where every partition
    has rows); one that was materialized and is legitimately empty passes. Without this, a
    step over hours that were never generated would go on to judge empty batches, and the
    user would read data-quality failures instead of "generate these hours first".
    """
    unread = [key for key in context.partition_keys if key not in present]
    if not unread:
        return
    missing = never_materialized(context.instance, upstream, unread)
    if not missing:
        return
    me, them = context.asset_key.to_user_string(), upstream.to_user_string()
    keys = context.partition_keys
    raise dg.Failure(
        description=(
            f"{me} reads {them}, whose partitions {_spans(missing, keys)} "
            f"({len(missing)} of the run's {len(keys)}) were never materialized. Select {them} "
            f"together with {me} for these partitions (the {job} job does), or materialize "
            f"{them} for them first."
        ),
        metadata={
            "missing_upstream": dg.MetadataValue.text(them),
            "missing_partitions": dg.MetadataValue.json(missing),
        },
        allow_retries=False,
    )


def _spans(missing: Sequence[str], ordered: Sequence[str]) -> str:
    """``missing`` as runs of consecutive keys of ``ordered``: ``a...b, c``."""
    position = {key: i for i, key in enumerate(ordered)}
    spans: list[list[str]] = []
    for key in missing:
        if spans and position[key] == position[spans[-1][-1]] + 1:
            spans[-1].append(key)
        else:
            spans.append([key])
    return ", ".join(s[0] if len(s) == 1 else f"{s[0]}...{s[-1]}" for s in spans)

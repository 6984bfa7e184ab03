"""The warehouse's one time convention: every timestamp is naive UTC.

Dagster's partition bounds are tz-aware UTC and DuckDB's ``TIMESTAMP`` columns are naive, so
each comparison of the two needs the same conversion. Kept in ``core`` (no imports beyond the
standard library) so the library, the data layer, the pipelines and the apps share it.
"""

from __future__ import annotations

from datetime import UTC, datetime


def naive_utc(moment: datetime) -> datetime:
    """``moment`` as naive UTC (a naive value is taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def utc_now() -> datetime:
    """Now, as naive UTC (the form every warehouse timestamp takes)."""
    return datetime.now(UTC).replace(tzinfo=None)

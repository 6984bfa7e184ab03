"""Time partitions shared by the pipelines: hourly synthetic arrivals, daily batch scoring.

Beside ``names`` (which holds the start date and key formats) rather than inside one pipeline:
the feature pipeline is hourly, the inference pipeline daily, and neither owns the other's.

The start date is fixed in code (Dagster partition definitions must be stable). The last hourly
partition is the last complete hour; the daily ones run up to today.
"""

import dagster as dg

from titanic_assets.names import PARTITIONS_START

HOURLY_PARTITIONS = dg.HourlyPartitionsDefinition(start_date=f"{PARTITIONS_START}-00:00")
#: Batch scoring runs per day. The current (incomplete) day is a partition too, so a newly
#: promoted champion can re-score today's passengers so far.
DAILY_PARTITIONS = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, end_offset=1)
